"""Run by runtime/test_backup.py in a fresh process, with the rendered project
`runs_probe` on PYTHONPATH: `runs_probe.train.main(ARGS)` with optional hooks that
SIGKILL the process: at the N-th train step of this process (KILL_AT_STEP), or halfway
through writing the N-th backup (KILL_IN_WRITE: the partial file is truncated, then
the process dies before the rename). When training completes, the whole training
state goes to FINAL_STATE.

Usage: python tests/scripts/killable_run.py [TRAIN ARGS...]
"""

import os
import signal
import sys

import keras
import numpy as np
from runs_probe import train
from runs_probe.runtime.backup import state_variables

kill_at = int(os.environ.get("KILL_AT_STEP", "0"))
kill_in_write = int(os.environ.get("KILL_IN_WRITE", "0"))


class KillAt(keras.callbacks.Callback):
    steps = 0

    def on_train_batch_end(self, batch, logs=None):
        KillAt.steps += 1
        if KillAt.steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


make_callbacks = train.make_callbacks
train.make_callbacks = lambda *args, **kwargs: [
    *make_callbacks(*args, **kwargs),
    KillAt(),
]
savez, writes = np.savez, []


def savez_or_die(file, **arrays):
    savez(file, **arrays)
    writes.append(1)
    if len(writes) == kill_in_write:
        file.flush()
        file.truncate(file.tell() // 2)
        file.flush()
        os.kill(os.getpid(), signal.SIGKILL)


np.savez = savez_or_die
history = train.main(sys.argv[1:])
state = state_variables(history.model)
savez(
    os.environ["FINAL_STATE"],
    **{
        f"{group}_{i}": np.asarray(v.numpy())
        for group, vs in state.items()
        for i, v in enumerate(vs)
    },
)
