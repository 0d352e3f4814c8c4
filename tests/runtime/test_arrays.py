"""`runtime.arrays`: data files (`.npz`, directories of `.npy` shards) read with a
project's `ArrayFormat`, `ShardedArray`, the data files of a run, the validation split
(seeded, shuffled, stratified by class; Keras's last-fraction split of data sorted by
class is the negative control). Numpy only."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from keras_jax_scaffold.runtime.arrays import (
    ArrayFormat,
    ShardedArray,
    class_labels,
    num_samples,
    read,
    read_npz,
    read_run_data,
    read_shards,
    select,
    split_validation,
    trim_to_devices,
    validation_rows,
    warn_single_class,
)


def check(arrays, where):
    """A project's check: x of shape (N, 3), y one integer label 0..2 per sample."""
    x, y = arrays["x"], arrays["y"]
    if x.shape[1:] != (3,):
        raise ValueError(f"{where('x')} has shape {x.shape}, expected (N, 3)")
    if y.shape != (len(x),) or y.max() > 2:
        raise ValueError(f"{where('y')} does not fit")


def split(arrays):
    return arrays["x"], arrays["y"], arrays.get("sample_weight")


FORM = ArrayFormat(
    names=("x", "y", "sample_weight"),
    required=("x", "y"),
    dtypes={"x": "float32", "y": "int32", "sample_weight": "float32"},
    check=check,
    split=split,
    save_hint="np.savez(path, x=x, y=y)",
    class_target=(None, "index"),
)
# Named inputs `a` and `a_b` (one array name starts like the other), no targets.
NAMED = ArrayFormat(
    names=("x_a", "x_a_b"),
    required=("x_a", "x_a_b"),
    dtypes={"x_a": "float32", "x_a_b": "float32"},
    check=lambda arrays, where: None,
    split=lambda arrays: ({"a": arrays["x_a"], "a_b": arrays["x_a_b"]}, None, None),
    save_hint="np.savez(path, x_a=..., x_a_b=...)",
)


def data(count=45):
    rng = np.random.default_rng(0)
    return {
        "x": rng.normal(size=(count, 3)),  # float64 in the file: read as float32
        "y": rng.integers(0, 3, size=count),
        "sample_weight": np.linspace(0.5, 2.0, num=count),
    }


def write_shards(directory, arrays, sizes):
    directory.mkdir()
    start = 0
    for index, size in enumerate(sizes):
        for name, array in arrays.items():
            np.save(directory / f"{name}_{index:03d}.npy", array[start : start + size])
        start += size
    return directory


def test_npz_and_shards_read_the_same_arrays_in_their_dtypes(tmp_path):
    arrays = data()
    np.savez(tmp_path / "data.npz", **arrays)
    # Shards in the order of their sorted names, across shard boundaries.
    shards = write_shards(tmp_path / "shards", arrays, sizes=(20, 7, 18))
    from_npz = read_npz(tmp_path / "data.npz", FORM)
    from_shards = read_shards(shards, FORM)
    assert all(isinstance(array, ShardedArray) for array in from_shards)
    order = np.random.default_rng(1).permutation(45)
    for name, mine, theirs in zip(FORM.names, from_npz, from_shards):
        assert mine.dtype == theirs.dtype == FORM.dtypes[name]
        np.testing.assert_array_equal(mine, arrays[name].astype(FORM.dtypes[name]))
        np.testing.assert_array_equal(theirs[order], mine[order], err_msg=name)
    # A window reads nothing until indexed; its indices are relative to it.
    window = from_shards[0][18:30]
    assert len(window) == 12 and window.shape == (12, 3)
    np.testing.assert_array_equal(window[[0, 5, 11]], from_npz[0][[18, 23, 29]])
    with pytest.raises(ValueError, match="take every sample"):
        from_shards[0][::2]
    # No sample weights: None, from a file and from shards alike.
    del arrays["sample_weight"]
    np.savez(tmp_path / "plain.npz", **arrays)
    assert read_npz(tmp_path / "plain.npz", FORM)[2] is None
    assert read_shards(write_shards(tmp_path / "p", arrays, (45,)), FORM)[2] is None


def test_shards_of_a_name_that_starts_like_another(tmp_path):
    """x_a_000.npy belongs to `x_a`, x_a_b_000.npy to `x_a_b`."""
    arrays = {"x_a": np.ones((4, 2)), "x_a_b": np.zeros((4, 5))}
    x, y, weights = read_shards(write_shards(tmp_path / "s", arrays, (3, 1)), NAMED)
    assert (x["a"].shape, x["a_b"].shape, y, weights) == ((4, 2), (4, 5), None, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no x_a_\*\.npy shards \(each x_a_SHARD"):
        read_shards(empty, NAMED)


def bad_npz_files(tmp_path):
    arrays = data(16)
    cases = {
        "typo.npz": ({**arrays, "sample_weights": np.ones(16)}, "unexpected array"),
        "no_y.npz": ({"x": arrays["x"]}, "no array 'y' (found: x); save with np.savez"),
        "wrong_x.npz": ({**arrays, "x": np.ones((16, 4))}, "array 'x' has shape"),
    }
    for name, (content, message) in cases.items():
        np.savez(tmp_path / name, **content)
        yield tmp_path / name, message
    (tmp_path / "text.npz").write_text("not an npz file")
    yield tmp_path / "text.npz", "not an .npz archive; save one with np.savez"
    np.save(tmp_path / "array.npy", arrays["x"])
    yield tmp_path / "array.npy", "not an .npz archive"
    yield tmp_path / "missing.npz", "no such file"


def bad_shards(tmp_path):
    arrays = data(16)
    directory = write_shards(tmp_path / "bad_x", arrays, (10, 6))
    np.save(directory / "x_001.npy", np.ones((6, 4)))
    yield directory, directory / "x_001.npy", "x_001.npy: array has shape"
    directory = write_shards(tmp_path / "missing_y", arrays, (10, 6))
    (directory / "y_001.npy").unlink()
    yield directory, directory / "y_001.npy", "missing (x_001.npy needs it)"
    directory = write_shards(tmp_path / "some_weights", arrays, (10, 6))
    (directory / "sample_weight_000.npy").unlink()
    yield directory, directory / "sample_weight_000.npy", "missing"
    directory = write_shards(tmp_path / "not_npy", arrays, (10, 6))
    (directory / "y_000.npy").write_text("text")
    yield directory, directory / "y_000.npy", "cannot read it as a .npy array"
    directory = write_shards(tmp_path / "per_sample", arrays, (10, 6))
    np.save(directory / "sample_weight_001.npy", np.ones((6, 2)))
    yield directory, directory / "sample_weight_001.npy", "does not match"
    directory = tmp_path / "none"
    directory.mkdir()
    yield directory, directory, "no x_*.npy shards (each x_SHARD.npy needs y_SHARD.npy)"


def test_a_file_that_does_not_fit_is_one_error_line_naming_it(tmp_path):
    """`read_*` raise ValueError naming the file (and the array); `read`, which the
    entry point calls, stops with the same message as one `error:` line."""
    cases = [(path, path, message) for path, message in bad_npz_files(tmp_path)]
    cases += list(bad_shards(tmp_path))
    for given, named, message in cases:
        reader = read_shards if given.is_dir() else read_npz
        with pytest.raises(ValueError) as error:
            reader(given, FORM)
        assert str(error.value).startswith(f"{named}"), error.value
        assert message in str(error.value), error.value
        with pytest.raises(SystemExit) as exit_info:
            read(given, FORM)
        text = exit_info.value.code
        assert text == f"error: {error.value}" and "\n" not in text, text


def test_select_split_and_trim_keep_the_structure():
    x = {"a": np.arange(10), "b": np.arange(20).reshape(10, 2)}
    y, weights = np.arange(10) * 2, None
    assert num_samples((x, y, weights)) == 10
    picked = select((x, y, weights), [3, 1])
    np.testing.assert_array_equal(picked[0]["b"], [[6, 7], [2, 3]])
    assert picked[2] is None and list(picked[0]) == ["a", "b"]
    train, validation = split_validation((x, y, weights), 0.25, seed=0)
    # As many as fit(validation_split=...) holds out (3 of 10), drawn at random;
    # every array of a sample goes the same way, in the data's order.
    held_out = validation[0]["a"]
    assert len(held_out) == 3 and list(held_out) == sorted(held_out)
    assert list(held_out) != [7, 8, 9]  # not the last samples
    np.testing.assert_array_equal(validation[1], held_out * 2)
    np.testing.assert_array_equal(validation[0]["b"][:, 1], held_out * 2 + 1)
    assert sorted([*train[0]["a"], *held_out]) == list(range(10))
    assert split_validation((x, y, weights), 0.0) == ((x, y, weights), None)
    with pytest.raises(SystemExit, match="0.95 of 10 samples leaves no training"):
        split_validation((x, y, weights), 0.95)
    with pytest.raises(SystemExit, match="of 10 samples leaves no validation"):
        split_validation((x, y, weights), 1e-17)
    trimmed = trim_to_devices((x, y, weights), 4, "training")
    assert num_samples(trimmed) == 8
    with pytest.raises(SystemExit, match="3 validation samples cannot be split"):
        trim_to_devices(np.arange(3), 4, "validation")


# A data set sorted by class, sized like scikit-learn's wine: 59, 71 and 48 samples.
WINE_CLASSES = np.repeat([0, 1, 2], [59, 71, 48])


def test_the_split_is_seeded_and_the_same_every_time():
    rows = validation_rows(178, 0.2, seed=3)
    np.testing.assert_array_equal(rows, validation_rows(178, 0.2, seed=3))
    assert not np.array_equal(rows, validation_rows(178, 0.2, seed=4))
    # Keras's count (178 - floor(178 * 0.8) = 36), and a stream apart from the
    # epochs' sample orders (default_rng([seed, epoch])).
    assert len(rows) == 36
    for epoch in range(3):
        order = np.random.default_rng([3, epoch]).permutation(178)
        assert not np.array_equal(rows, np.sort(order[:36]))


@pytest.mark.parametrize("seed", range(5))
def test_a_split_of_classes_keeps_their_proportions(seed):
    """Stratified: each class gives its share of the 36 validation samples (59,
    71, 48 of 178: 11.9, 14.4, 9.7, so 12, 14, 10 by the largest remainders)."""
    rows = validation_rows(178, 0.2, seed, labels=WINE_CLASSES)
    assert np.bincount(WINE_CLASSES[rows]).tolist() == [12, 14, 10]
    # Within each class, drawn at random: not its first samples.
    first_of_class_0 = np.flatnonzero(WINE_CLASSES == 0)[:12]
    assert not np.array_equal(rows[:12], first_of_class_0)


def test_negative_control_without_classes_the_proportions_drift():
    counts = [
        np.bincount(WINE_CLASSES[validation_rows(178, 0.2, seed)], minlength=3)
        for seed in range(5)
    ]
    assert any(c.tolist() != [12, 14, 10] for c in counts), counts


def test_negative_control_keras_split_of_sorted_classes_validates_one_class(capsys):
    """Keras's validation_split (the last 20%) of data sorted by class holds the
    last class alone: the warning says so; the stratified split has all three."""
    x = np.zeros((178, 3), "float32")
    data = (x, WINE_CLASSES, None)
    split_at = int(np.floor(178 * 0.8))  # keras's train_validation_split
    keras_validation = select(data, slice(split_at, None))
    assert set(keras_validation[1]) == {2}
    warn_single_class(data, keras_validation, (None, "index"))
    warning = capsys.readouterr().err
    assert warning.startswith("warning: the validation data holds only class 2")
    assert "(the training data has 3 classes)" in warning and "\n" == warning[-1]
    _, validation = split_validation(data, 0.2, seed=0, class_target=(None, "index"))
    assert set(validation[1]) == {0, 1, 2}
    warn_single_class(data, validation, (None, "index"))
    assert capsys.readouterr().err == ""


def test_class_labels_of_each_kind_of_class_target():
    onehot = np.eye(3, dtype="float32")[[2, 0, 1]]
    y = {"box": np.zeros((3, 4)), "label": onehot}
    assert class_labels((None, y, None), ("label", "onehot")).tolist() == [2, 0, 1]
    cases = {
        "index": np.array([[2], [0], [1]]),
        "binary": np.array([[0.0], [1.0], [1.0]]),
        "signed": np.array([-1.0, 1.0, -1.0]),
    }
    expected = {"index": [2, 0, 1], "binary": [0, 1, 1], "signed": [0, 1, 0]}
    for kind, targets in cases.items():
        assert (
            class_labels((None, targets, None), (None, kind)).tolist()
            == (expected[kind])
        )
    assert class_labels((None, y["box"], None), None) is None


def test_a_split_of_shards_reads_nothing_until_batched(tmp_path):
    """Shards split into views (`ShardedArray.take`): the same samples as the split
    of the same arrays in memory."""
    arrays = {**data(45), "y": np.sort(data(45)["y"])}
    np.savez(tmp_path / "data.npz", **arrays)
    shards = read_shards(write_shards(tmp_path / "s", arrays, (20, 25)), FORM)
    in_memory = read_npz(tmp_path / "data.npz", FORM)
    split = {}
    for name, loaded in (("shards", shards), ("memory", in_memory)):
        split[name] = split_validation(
            loaded, 0.3, seed=2, class_target=FORM.class_target
        )
    for mine, theirs in zip(split["shards"], split["memory"]):
        assert isinstance(mine[0], ShardedArray) and mine[0].rows is not None
        order = np.arange(len(theirs[0]))[::-1]
        for part, expected in zip(mine, theirs):
            np.testing.assert_array_equal(part[order], expected[order])
        window = mine[0][2:5]  # a window of a view
        np.testing.assert_array_equal(window[[0, 2]], theirs[0][[2, 4]])


def test_the_data_files_of_a_run(tmp_path, capsys):
    """`read_run_data`: --validation-data and --test-data read and checked like
    --data (one error line naming the file), a split without a validation file."""
    arrays = data(40)
    for name in ("val", "test"):
        np.savez(tmp_path / f"{name}.npz", **data(10))
    options = argparse.Namespace(
        validation_data=None, test_data=tmp_path / "test.npz", validation_split=0.25,
        seed=1,
    )  # fmt: skip
    train, validation, test = read_run_data(options, FORM, split(arrays))
    assert (num_samples(train), num_samples(validation), num_samples(test)) == (
        30,
        10,
        10,
    )
    options.validation_data, options.validation_split = tmp_path / "val.npz", 0.0
    train, validation, _ = read_run_data(options, FORM, split(arrays))
    assert num_samples(train) == 40
    np.testing.assert_array_equal(validation[0], data(10)["x"].astype("float32"))
    np.savez(tmp_path / "bad.npz", x=np.ones((4, 4)), y=np.zeros(4))
    for name in ("validation_data", "test_data"):
        bad = argparse.Namespace(**{**vars(options), name: tmp_path / "bad.npz"})
        with pytest.raises(SystemExit) as exit_info:
            read_run_data(bad, FORM, split(arrays))
        assert exit_info.value.code.startswith(f"error: {tmp_path / 'bad.npz'}: ")
    assert capsys.readouterr().err == ""
