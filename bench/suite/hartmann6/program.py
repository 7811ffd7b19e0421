"""Report a point of the Hartmann-6 (6 dimensions) search domain; the task computes its value.

Run as ``python program.py``. Writes point.json: {"x": [...]}, the 6 coordinates
declared in the evolve block. The program never computes the function: the trusted
task does, from the reported point, so a candidate cannot report its own score.
"""

import json

# EVOLVE-BLOCK-START
X1 = 0.5  # evolve: float[0.0, 1.0]
X2 = 0.5  # evolve: float[0.0, 1.0]
X3 = 0.5  # evolve: float[0.0, 1.0]
X4 = 0.5  # evolve: float[0.0, 1.0]
X5 = 0.5  # evolve: float[0.0, 1.0]
X6 = 0.5  # evolve: float[0.0, 1.0]
# EVOLVE-BLOCK-END

with open("point.json", "w") as fh:
    json.dump({"x": [X1, X2, X3, X4, X5, X6]}, fh)
