"""`runtime.scan.ScannedExecution`: the steps of one execution as one `jax.lax.scan`
train exactly like Keras's own loop, callbacks see every execution; a scan over the
batches in the wrong order is caught (negative control)."""

from __future__ import annotations

import importlib.util
import inspect
import math

import keras
import numpy as np
import pytest
from keras_jax_scaffold.runtime import scan

from tests.helpers import small_model
from tests.helpers.support import ATOL, RTOL


class Record(keras.callbacks.Callback):
    """The epochs and batches `fit` reports to callbacks."""

    def __init__(self):
        super().__init__()
        self.events = []

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch", batch))


def scanned_class(mixin):
    class Scanned(mixin, keras.Model):
        pass

    return Scanned


def train(cls, steps_per_execution):
    """37 samples in batches of 2 (18 full batches and one of 1 sample), sample
    weights and validation data, 2 epochs; everything the comparison needs."""
    x, y, weights = small_model.make_data(37)
    x_val, y_val, _ = small_model.make_data(9, seed=1)
    model = small_model.build(cls, steps_per_execution)
    record = Record()
    history = model.fit(
        x, y, sample_weight=weights, batch_size=2, epochs=2, shuffle=False,
        validation_data=(x_val, y_val), callbacks=[record], verbose=0,
    )  # fmt: skip
    return model, history.history, record.events


def differences(mine, keras_own):
    """What differs beyond the parity tolerance: log keys and state variables."""
    (model, history, events), (theirs, their_history, their_events) = mine, keras_own
    assert history.keys() == their_history.keys() and events == their_events
    wrong = [
        key
        for key in history
        if not np.allclose(history[key], their_history[key], rtol=RTOL, atol=ATOL)
    ]
    state, their_state = small_model.state(model), small_model.state(theirs)
    assert state.keys() == their_state.keys()
    return wrong + [
        name
        for name in state
        if not np.allclose(state[name], their_state[name], rtol=RTOL, atol=ATOL)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("steps_per_execution", [1, 4, 16])
def test_scanned_executions_train_like_keras_loop(steps_per_execution):
    mine = train(scanned_class(scan.ScannedExecution), steps_per_execution)
    keras_own = train(keras.Model, steps_per_execution)
    assert differences(mine, keras_own) == []
    events = mine[2]
    assert [epoch for kind, epoch in events if kind == "epoch"] == [0, 1]
    executions = math.ceil(19 / steps_per_execution)
    assert sum(kind == "batch" for kind, _ in events) == 2 * executions
    ran = mine[0].train_function.__qualname__
    assert ran.startswith("ScannedExecution.") == (steps_per_execution > 1), ran


@pytest.mark.slow
def test_negative_control_a_scan_in_reverse_order_is_caught(tmp_path):
    source = inspect.getsource(scan)
    old = "jax.lax.scan(body, state, stacked)"
    assert source.count(old) == 1
    path = tmp_path / "broken_scan.py"
    path.write_text(source.replace(old, f"{old[:-1]}, reverse=True)"))
    spec = importlib.util.spec_from_file_location("broken_scan", path)
    broken = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(broken)
    mine = train(scanned_class(broken.ScannedExecution), 4)
    wrong = differences(mine, train(keras.Model, 4))
    assert "loss" in wrong and any(name.startswith("trainable") for name in wrong)
