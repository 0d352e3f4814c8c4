"""`runtime.batches`: each epoch's batches are a function of (seed, epoch, index) only,
also read ahead by `--workers` threads and from `.npy` shards, so the weights are the
same; Keras's own `PyDataset` workers would shift the order (negative control)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras_jax_scaffold.runtime.arrays import ArrayFormat, read_npz, read_shards
from keras_jax_scaffold.runtime.batches import (
    EpochBatches,
    EpochOrder,
    InOrder,
    ProcessPart,
    epoch_order,
)
from keras_jax_scaffold.runtime.scan import ScannedExecution

from tests.helpers import small_model

FORM = ArrayFormat(
    names=("x", "y", "sample_weight"),
    required=("x", "y"),
    dtypes={"x": "float32", "y": "int32", "sample_weight": "float32"},
    check=lambda arrays, where: None,
    split=lambda arrays: (arrays["x"], arrays["y"], arrays.get("sample_weight")),
    save_hint="np.savez(path, x=x, y=y)",
)


def epoch(batches, number):
    """Every batch of epoch `number`, in order."""
    batches.set_epoch(number)
    return [batches[index] for index in range(batches.num_batches)]


def test_each_epoch_takes_the_samples_in_its_own_order():
    x = {"a": np.arange(10.0), "b": np.arange(20.0).reshape(10, 2)}
    y = np.arange(10) * 10
    batches = EpochBatches((x, y, None), batch_size=4, seed=3)
    assert batches.batches_per_epoch == 3 and batches.num_batches == 3
    for number in (0, 1):
        order = epoch_order(10, 3, number)
        parts = epoch(batches, number)
        assert [len(part[1]) for part in parts] == [4, 4, 2]  # the last one short
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), y[order])
        np.testing.assert_array_equal(parts[1][0]["b"], x["b"][order[4:8]])
    assert not np.array_equal(epoch_order(10, 3, 0), epoch_order(10, 3, 1))
    assert not np.array_equal(epoch_order(10, 3, 0), epoch_order(10, 4, 0))
    # A resumed epoch starts after the batches it had applied.
    resumed = EpochBatches((x, y, None), batch_size=4, seed=3, first_batch=2)
    assert resumed.num_batches == 1
    np.testing.assert_array_equal(epoch(resumed, 1)[0][1], epoch(batches, 1)[2][1])


def test_workers_read_the_same_batches_ahead():
    x = np.arange(100.0).reshape(50, 2)
    alone = EpochBatches((x, None, None), batch_size=8, seed=0)
    ahead = EpochBatches((x, None, None), batch_size=8, seed=0, workers=2)
    try:
        first = ahead[0]  # starts reading epoch 0 ahead; then switch epochs
        for number in (1, 0, 2):
            for mine, theirs in zip(epoch(ahead, number), epoch(alone, number)):
                np.testing.assert_array_equal(mine[0], theirs[0])
        np.testing.assert_array_equal(first[0], epoch(alone, 0)[0][0])
    finally:
        ahead.close()


def test_a_process_feeds_its_part_of_every_batch():
    x, y = np.arange(24.0).reshape(12, 2), np.arange(12)
    batches = EpochBatches((x, y, None), batch_size=6, seed=0)
    parts = [ProcessPart(batches, index, 3) for index in range(3)]
    assert all(part.num_batches == 2 for part in parts)
    together = np.concatenate([part[1][1] for part in parts])
    np.testing.assert_array_equal(together, batches[1][1])
    in_order = InOrder((x, y), batch_size=5)
    assert in_order.num_batches == 3
    np.testing.assert_array_equal(in_order[2][1], [10, 11])


class KerasWorkers(EpochBatches):
    """Negative control: the batches read ahead by Keras's own `PyDataset` workers
    (its enqueuer) instead of the runtime's threads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        keras.utils.PyDataset.__init__(self, workers=2)


def fit_on(data, cls=EpochBatches, **kwargs):
    """Weights and logs after 2 epochs on `data`'s batches (2 steps per scan)."""

    class Scanned(ScannedExecution, keras.Model):
        pass

    model = small_model.build(Scanned, steps_per_execution=2)
    batches = cls(data, batch_size=8, seed=5, **kwargs)
    try:
        history = model.fit(
            batches, epochs=2, shuffle=False, callbacks=[EpochOrder(batches)],
            verbose=0,
        )  # fmt: skip
    finally:
        batches.close()
    return small_model.state(model), history.history


@pytest.mark.slow
@pytest.mark.default_codegen
def test_shards_and_workers_train_like_the_same_data_in_memory(tmp_path):
    """45 samples in batches of 8: the same weights and logs from arrays in memory,
    from .npy shards (memory-mapped) and from shards read ahead by 2 worker threads;
    not with Keras's own enqueuer, which serves batches read before a stop (of the
    batch `fit` peeks at) first after the next start."""
    x, y, weights = small_model.make_data(45)
    np.savez(tmp_path / "data.npz", x=x, y=y, sample_weight=weights)
    shards = tmp_path / "shards"
    shards.mkdir()
    for index, part in enumerate((slice(0, 20), slice(20, 27), slice(27, 45))):
        for name, array in (("x", x), ("y", y), ("sample_weight", weights)):
            np.save(shards / f"{name}_{index:03d}.npy", array[part])
    reference = fit_on(read_npz(tmp_path / "data.npz", FORM))
    for name, result in (
        ("shards", fit_on(read_shards(shards, FORM))),
        ("workers", fit_on(read_shards(shards, FORM), workers=2)),
    ):
        assert result[1] == reference[1], name
        for key, value in reference[0].items():
            np.testing.assert_array_equal(result[0][key], value, f"{name} {key}")
    enqueued = fit_on(read_shards(shards, FORM), KerasWorkers)
    assert enqueued[1] != reference[1]
