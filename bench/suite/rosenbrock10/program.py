"""Report a point of the Rosenbrock (10 dimensions) search domain; the task computes its value.

Run as ``python program.py``. Writes point.json: {"x": [...]}, the 10 coordinates
declared in the evolve block. The program never computes the function: the trusted
task does, from the reported point, so a candidate cannot report its own score.
"""

import json

# EVOLVE-BLOCK-START
X1 = -1.0  # evolve: float[-2.048, 2.048]
X2 = -1.0  # evolve: float[-2.048, 2.048]
X3 = -1.0  # evolve: float[-2.048, 2.048]
X4 = -1.0  # evolve: float[-2.048, 2.048]
X5 = -1.0  # evolve: float[-2.048, 2.048]
X6 = -1.0  # evolve: float[-2.048, 2.048]
X7 = -1.0  # evolve: float[-2.048, 2.048]
X8 = -1.0  # evolve: float[-2.048, 2.048]
X9 = -1.0  # evolve: float[-2.048, 2.048]
X10 = -1.0  # evolve: float[-2.048, 2.048]
# EVOLVE-BLOCK-END

with open("point.json", "w") as fh:
    json.dump({"x": [X1, X2, X3, X4, X5, X6, X7, X8, X9, X10]}, fh)
