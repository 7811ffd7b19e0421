"""``evoforge export``: the serving champion's trained model, for use outside evoforge.

The champion is trained once more in the sandbox on the stream's current window
(the last ``window`` batches); the ``model/`` folder it writes (data files only)
is copied out with ``trained_on.json``: which batches (names, sha256), which code,
which champion, when.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from evoforge.runner import Job, evaluate
from evoforge.stream.moves import StreamError
from evoforge.stream.watch import Watcher
from evoforge.stream.window_task import Window, WindowTask


def export_model(watcher: Watcher, out: Path) -> Path:
    store = watcher.store
    champ = store.champion()
    batches = store.batches()[-watcher.stream.window :]
    if champ is None or not batches:
        raise StreamError("nothing to export yet: the stream has seen no batch")
    xs, ys, ages = [], [], []
    for age, b in enumerate(reversed(batches)):
        x, y = store.load(b.seq)
        xs.append(x)
        ys.append(y)
        ages.append(np.full(len(y), age, dtype=np.int64))
    last_x = xs[0][:1]
    window = Window(
        np.concatenate(xs[::-1]), np.concatenate(ys[::-1]), np.concatenate(ages[::-1]),
        last_x, ys[0][:1], np.zeros(1, dtype=np.int64),
    )  # fmt: skip
    model = out / "model"
    task = WindowTask(
        metric=watcher.stream.metric, window=window, keep_model=model, hidden=watcher.hidden
    )
    job = Job(
        0, store.get_code(champ.code_hash), 0, watcher.config.experiment.seed, purpose="export"
    )
    ev = evaluate(watcher.ctx, job, sandbox=watcher.sandbox, task=task)
    if not ev.ok:
        raise StreamError(f"the champion could not be trained for export: {ev.failure}")
    note = {
        "champion": champ.id,
        "code_hash": champ.code_hash,
        "round": champ.round,
        "serving_since_batch": champ.since_seq + 1,
        "trained_on": [
            {"seq": b.seq, "name": b.name, "sha256": b.sha256, "rows": b.rows} for b in batches
        ],
        "exported_at": time.time(),
        "stream": str(store.folder),
    }
    (out / "trained_on.json").write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")
    files = store.get_code(champ.code_hash)
    for rel, text in files.items():
        dest = out / "code" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    return out
