"""`runtime.scan.ScannedExecution`: the steps of one execution as one compiled loop
train exactly like Keras's own loop (the same bits), callbacks see every execution; two compiled
programs at most (the loop, whose padding steps never run, and a short last batch);
batches gathered on the device from an `EpochBatches` in memory give the same
weights as Keras's loop over its batches. Negative controls: a scan over the batches
in the wrong order, a padding step applied, batches gathered in the wrong order."""

from __future__ import annotations

import importlib.util
import inspect
import math

import keras
import numpy as np
import pytest
from keras_jax_scaffold.runtime import scan
from keras_jax_scaffold.runtime.batches import EpochBatches, EpochOrder

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


def train_on_batches(cls, steps_per_execution, count=37, batches_class=EpochBatches):
    """`count` samples (with sample weights) as `EpochBatches` of 2, 2 epochs."""
    model = small_model.build(cls, steps_per_execution)
    batches = batches_class(small_model.make_data(count), batch_size=2, seed=3)
    record = Record()
    history = model.fit(
        batches, epochs=2, shuffle=False, callbacks=[EpochOrder(batches), record],
        verbose=0,
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


def assert_same_bits(mine, keras_own):
    """Every state variable of the two runs' models is the same, bit for bit."""
    theirs = small_model.state(keras_own[0])
    for name, value in small_model.state(mine[0]).items():
        np.testing.assert_array_equal(value, theirs[name], name)


def programs(model):
    """The programs the scan's train function compiled (one per trace)."""
    return sorted(model.train_function.traced)


@pytest.mark.slow
@pytest.mark.default_codegen
@pytest.mark.parametrize("steps_per_execution", [1, 4, 16])
def test_scanned_executions_train_like_keras_loop(steps_per_execution):
    mine = train(scanned_class(scan.ScannedExecution), steps_per_execution)
    keras_own = train(keras.Model, steps_per_execution)
    assert differences(mine, keras_own) == []
    assert_same_bits(mine, keras_own)
    events = mine[2]
    assert [epoch for kind, epoch in events if kind == "epoch"] == [0, 1]
    executions = math.ceil(19 / steps_per_execution)
    assert sum(kind == "batch" for kind, _ in events) == 2 * executions
    ran = mine[0].train_function.__qualname__
    assert ran.startswith("ScannedExecution.") == (steps_per_execution > 1), ran
    if steps_per_execution > 1:
        # 18 full batches: whole executions and a shorter one run by the same scan.
        assert programs(mine[0]) == ["scan", "step"]


@pytest.mark.slow
@pytest.mark.default_codegen
@pytest.mark.parametrize(
    ("steps_per_execution", "count", "compiled"),
    [(4, 37, ["scan", "step"]), (64, 37, ["scan", "step"]), (4, 36, ["scan"])],
)
def test_batches_gathered_on_the_device_train_like_keras_loop(
    steps_per_execution, count, compiled
):
    """An `EpochBatches` in memory: the arrays stay on the device, each execution
    gathers its batches by index; the same weights and logs as Keras's loop over the
    same batches (the same bits), every batch event, two programs at most (one when
    no batch is short), none read through `__getitem__`."""
    read = []

    class Counted(EpochBatches):
        def __getitem__(self, index):
            read.append(index)
            return super().__getitem__(index)

    Scanned = scanned_class(scan.ScannedExecution)
    mine = train_on_batches(Scanned, steps_per_execution, count, Counted)
    assert read == [0] and programs(mine[0]) == compiled  # fit builds on batch 0
    keras_own = train_on_batches(keras.Model, steps_per_execution, count)
    assert differences(mine, keras_own) == []
    assert_same_bits(mine, keras_own)
    batches = math.ceil(count / 2)
    events = [event for event in mine[2] if event[0] == "batch"]
    assert len(events) == 2 * math.ceil(batches / steps_per_execution)


def broken_module(tmp_path, old, new):
    """runtime/scan.py with `old` replaced by `new`, imported beside it."""
    source = inspect.getsource(scan)
    assert source.count(old) == 1
    path = tmp_path / "broken_scan.py"
    path.write_text(source.replace(old, new))
    name = "keras_jax_scaffold.runtime.broken_scan"
    spec = importlib.util.spec_from_file_location(name, path)
    broken = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(broken)
    return broken


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new", "run"),
    [
        # The scan over the batches in reverse order.
        ("lambda array: array[index]", "lambda array: array[count - 1 - index]", train),
        # A padding step applied (the device-resident batches' loop).
        (
            "jax.lax.fori_loop(0, count,",
            "jax.lax.fori_loop(0, count + 1,",
            train_on_batches,
        ),
    ],
    ids=["reverse-order", "padding-step-applied"],
)
def test_negative_control_a_broken_loop_is_caught(tmp_path, old, new, run):
    broken = broken_module(tmp_path, old, new)
    mine = run(scanned_class(broken.ScannedExecution), 4)
    wrong = differences(mine, run(keras.Model, 4))
    assert any(name.startswith("trainable") for name in wrong), wrong


@pytest.mark.slow
def test_negative_control_batches_gathered_in_the_wrong_order_are_caught():
    class Reversed(EpochBatches):
        def take(self, count):
            full, short = super().take(count)
            return full[::-1], short

    mine = train_on_batches(scanned_class(scan.ScannedExecution), 4, 37, Reversed)
    wrong = differences(mine, train_on_batches(keras.Model, 4))
    assert "loss" in wrong and any(name.startswith("trainable") for name in wrong)
