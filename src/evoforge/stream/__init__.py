"""The living loop (``evoforge watch``): a stream of labelled batches, watched and improved.

- ``batches`` and ``sources``: reading and checking batches from a folder or trusted code;
- ``store``: the stream's archive (one SQLite file), ``moves``: the champion's moves;
- ``window_task``: the trusted task that trains a program on a window and scores it;
- ``monitor``: drift detectors (River) and thresholds; ``rounds``: an improvement round;
- ``watch``: the loop; ``setup``: building it from an experiment; ``verify`` and
  ``export``: the audit check and the champion's trained model.
"""
