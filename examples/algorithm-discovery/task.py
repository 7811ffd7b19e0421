"""The trusted task: score a learning algorithm on tasks it never trained on.

Inputs written for the candidate, without validation labels:
``val_inputs.npz`` and ``test_inputs.npz`` (train_x, train_y, valid_x, seeds,
classify, epochs). The candidate writes ``val_pred.npy`` and ``test_pred.npy``
(one row of predictions per task). Scores: ``val_fitness`` on the preset's
select tasks (drives the search), ``test_fitness`` on its unseen tasks
(held-out). The preset must match ``[proposer.automl] preset``. See
``evoforge.domains.automl.experiment`` for the details.
"""

from evoforge.domains.automl.experiment import AlgorithmTask

task = AlgorithmTask(preset="linear")
