"""The candidate program: predicts y for each x in inputs.json, writes predictions.json."""

import json

# EVOLVE-BLOCK-START
A = 0.5  # evolve: float[-5.0, 5.0]
B = 0.0  # evolve: float[-5.0, 5.0]
C = 0.0  # evolve: float[-5.0, 5.0]
# EVOLVE-BLOCK-END


def predict(x: float) -> float:
    return A * x * x + B * x + C


with open("inputs.json") as fh:
    xs = json.load(fh)
with open("predictions.json", "w") as fh:
    json.dump(
        {
            "search": [predict(x) for x in xs["search"]],
            "heldout": [predict(x) for x in xs["heldout"]],
        },
        fh,
    )
