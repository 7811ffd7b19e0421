"""Report a point of the Branin-Hoo (2 dimensions) search domain; the task computes its value.

Run as ``python program.py``. Writes point.json: {"x": [...]}, the 2 coordinates
declared in the evolve block. The program never computes the function: the trusted
task does, from the reported point, so a candidate cannot report its own score.
"""

import json

# EVOLVE-BLOCK-START
X1 = 0.0  # evolve: float[-5.0, 10.0]
X2 = 0.0  # evolve: float[0.0, 15.0]
# EVOLVE-BLOCK-END

with open("point.json", "w") as fh:
    json.dump({"x": [X1, X2]}, fh)
