# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""Data files and the arrays `fit` trains on: `.npz` files (`read_npz`), directories
of `.npy` shards read by memory mapping (`read_shards`, `ShardedArray`), the data files
of a run read before keras is imported (`read_run_data`), and the validation split
(`split_validation`: seeded, shuffled, stratified for class targets).

No keras, no jax (numpy only). What a project's files hold is the project's: its
`data.py` describes it as an `ArrayFormat` (the array names, their dtypes, its checks).
Data is `(x, y, sample_weight)`; each may be None (but `x`), an array, or a dict of
arrays (named inputs and outputs).
"""

import math
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .options import fail


@dataclass(frozen=True)
class ArrayFormat:
    """What a project's data file holds, from its `data.py`.

    `names`: every array a file may hold, in order; `required`: those it must hold
    (the first names the shards of a directory); `dtypes`: the dtype each is trained
    as; `check(arrays, where)`: raises ValueError when the arrays (a dict by name,
    `required` present) do not fit the model, the message starting with
    `where(name)`; `split(arrays)`: `(x, y, sample_weight)` for `fit`; `save_hint`:
    how to write such a file (`np.savez(...)`); `class_target`: `(output, kind)`,
    the targets whose classes a validation split keeps in proportion (`output`: the
    name of a named output, None for the one unnamed output; `kind`: how a sample's
    class is read, see `CLASS_KINDS`), or None when no target holds classes.
    """

    names: tuple
    required: tuple
    dtypes: dict
    check: Callable
    split: Callable
    save_hint: str
    class_target: tuple | None = None


# How the class of each sample is read from class targets (`ArrayFormat.class_target`):
# integer labels, one-hot rows, 0/1 targets, -1/1 targets.
CLASS_KINDS = {
    "index": lambda y: y.reshape(len(y), -1)[:, 0].astype(np.int64),
    "onehot": lambda y: np.argmax(y.reshape(len(y), -1), axis=-1),
    "binary": lambda y: (y.reshape(len(y), -1)[:, 0] >= 0.5).astype(np.int64),
    "signed": lambda y: (y.reshape(len(y), -1)[:, 0] > 0).astype(np.int64),
}


def read(path, form):
    """`(x, y, sample_weight)` from an .npz file or a directory of .npy shards; a
    file that does not fit stops with a one-line error naming it."""
    try:
        return read_shards(path, form) if Path(path).is_dir() else read_npz(path, form)
    except ValueError as error:
        fail(error)


def read_npz(path, form):
    """`(x, y, sample_weight)` from an .npz file holding the arrays of `form`.

    Raises ValueError naming the file, the array and the expected and actual shapes
    when the data does not fit the model.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not an .npz archive; save one with {form.save_hint}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: cannot read it as an .npz file ({error})") from None
    with archive:
        names = sorted(archive.files)
        unknown = [name for name in names if name not in form.names]
        if unknown:
            raise ValueError(
                f"{path}: unexpected array {unknown[0]!r} (allowed: "
                f"{', '.join(form.names)})"
            )
        for name in form.required:
            if name not in names:
                raise ValueError(
                    f"{path}: no array {name!r} (found: {', '.join(names) or 'none'}); "
                    f"save with {form.save_hint}"
                )
        try:
            arrays = {name: archive[name] for name in names}
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path}: cannot read its arrays ({error})") from None
    form.check(arrays, lambda name: f"{path}: array {name!r}")
    return form.split(
        {name: array.astype(form.dtypes[name]) for name, array in arrays.items()}
    )


class ShardedArray:
    """Samples `start` to `stop` (or the samples `rows`, a subset) of one array stored
    as .npy shards opened by memory mapping: indexing with sample indices reads only
    those samples (as `dtype`); a slice or `take` is a view that reads nothing."""

    def __init__(self, shards, dtype, start=0, stop=None, rows=None):
        self.shards = shards
        self.dtype = dtype
        self.offsets = np.cumsum([0] + [len(shard) for shard in shards])
        self.start = start
        self.stop = int(self.offsets[-1]) if stop is None else stop
        self.rows = rows  # the samples of a subset (`take`), else None
        count = self.stop - self.start if rows is None else len(rows)
        self.shape = (count, *shards[0].shape[1:])

    def __len__(self):
        return self.shape[0]

    def take(self, rows):
        """The view of the samples `rows` (indices into this array), nothing read."""
        return ShardedArray(self.shards, self.dtype, rows=self._absolute(rows))

    def _absolute(self, index):
        if self.rows is None:
            return self.start + np.asarray(index)
        return self.rows[np.asarray(index)]

    def __getitem__(self, index):
        if isinstance(index, slice):  # a window, nothing read
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("ShardedArray slices take every sample")
            if self.rows is not None:
                return ShardedArray(self.shards, self.dtype, rows=self.rows[start:stop])
            return ShardedArray(
                self.shards, self.dtype, self.start + start, self.start + stop
            )
        indices = self._absolute(index)
        which = np.searchsorted(self.offsets, indices, side="right") - 1
        selected = np.empty((len(indices), *self.shape[1:]), dtype=self.dtype)
        for shard in np.unique(which):
            rows = which == shard
            selected[rows] = self.shards[shard][indices[rows] - self.offsets[shard]]
        return selected


def shard_files(directory, form):
    """The shards' files of the first required array, sorted (not those of a longer
    array name that starts like it: x_a_SHARD.npy, not x_a_b_SHARD.npy)."""
    first = form.required[0]
    longer = [name for name in form.names if name.startswith(f"{first}_")]
    files = sorted(
        path
        for path in Path(directory).glob(f"{first}_*.npy")
        if not any(path.name.startswith(f"{name}_") for name in longer)
    )
    if not files:
        needs = ", ".join(f"{name}_SHARD.npy" for name in form.required[1:])
        raise ValueError(
            f"{directory}: no {first}_*.npy shards"
            + (f" (each {first}_SHARD.npy needs {needs})" if needs else "")
        )
    return files


def read_shards(directory, form):
    """`(x, y, sample_weight)` from a directory of .npy shards, memory-mapped.

    Each array of a data file (`form.names`) is stored as one file per shard,
    `ARRAY_SHARD.npy` (e.g. `x_000.npy`, `y_000.npy`); the shards hold the samples in
    the order of their sorted names, each with every required array (and an optional
    one for every shard or for none), checked like an .npz file (`form.check`).
    Returns `ShardedArray`s as `form.split` arranges them. Raises ValueError naming
    the file.
    """
    directory = Path(directory)
    first_files = shard_files(directory, form)
    suffixes = [path.name[len(form.required[0]) + 1 :] for path in first_files]
    names = [
        name
        for name in form.names
        if name in form.required
        or any((directory / f"{name}_{suffix}").is_file() for suffix in suffixes)
    ]
    shards = {name: [] for name in names}
    for first_file, suffix in zip(first_files, suffixes):
        paths = {name: directory / f"{name}_{suffix}" for name in names}
        arrays = {}
        for name, path in paths.items():
            if not path.is_file():
                raise ValueError(f"{path}: missing ({first_file.name} needs it)")
            try:
                arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as error:
                raise ValueError(
                    f"{path}: cannot read it as a .npy array ({error})"
                ) from None
        form.check(arrays, lambda name, paths=paths: f"{paths[name]}: array")
        for name in names:
            if shards[name] and arrays[name].shape[1:] != shards[name][0].shape[1:]:
                raise ValueError(
                    f"{paths[name]}: shape {arrays[name].shape} does not match "
                    f"{shards[name][0].shape[1:]} per sample of the first shard"
                )
            shards[name].append(arrays[name])
    return form.split(
        {name: ShardedArray(shards[name], form.dtypes[name]) for name in names}
    )


def apply(data, function):
    """`data` with `function` applied to every array (also inside dicts of named
    inputs/outputs); None stays None."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {name: apply(value, function) for name, value in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(apply(value, function) for value in data)
    return function(data)


def select(data, index):
    """`data` with every array indexed."""
    return apply(data, lambda array: array[index])


def leaves(data):
    """The arrays of `data`, in order (dicts in the order of their keys)."""
    if data is None:
        return []
    if isinstance(data, dict):
        return [leaf for key in sorted(data) for leaf in leaves(data[key])]
    if isinstance(data, (tuple, list)):
        return [leaf for value in data for leaf in leaves(value)]
    return [data]


def num_samples(data):
    """The number of samples of `(x, y, sample_weight)`."""
    return len(leaves(data)[0])


def take(data, rows):
    """`data` at the samples `rows` (sorted indices): arrays in memory are indexed
    (copied), `ShardedArray`s become views that read nothing yet."""
    return apply(
        data,
        lambda array: (
            array.take(rows) if isinstance(array, ShardedArray) else array[rows]
        ),
    )


def class_labels(data, class_target):
    """The class of every sample of `(x, y, sample_weight)` (an int array), read from
    the targets `class_target` names (`ArrayFormat.class_target`); None without."""
    y = data[1]
    if class_target is None or y is None:
        return None
    output, kind = class_target
    targets = y[output] if isinstance(y, dict) else y
    return CLASS_KINDS[kind](np.asarray(targets[np.arange(len(targets))]))


def split_rng(seed):
    """The random numbers of the validation split: a stream of its own, apart from
    the epochs' sample orders (`default_rng([seed, epoch])`)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))


def validation_rows(count, validation_split, seed, labels=None):
    """The sorted indices of the validation samples: as many as `fit`'s
    `validation_split` holds out (`count` less `floor(count * (1 - split))`), drawn
    at random with `seed`; with class `labels`, each class gives its share (the
    largest remainders get the samples left over), so validation has the classes in
    the proportions of the data. A function of its arguments only: the same split
    in every epoch and in a resumed run."""
    split_at = math.floor(count * (1.0 - validation_split))
    if split_at in (0, count):
        fail(
            f"--validation-split {validation_split} of {count} samples leaves no "
            f"{'training' if split_at == 0 else 'validation'} samples; use a "
            f"fraction between {1 / count:.3g} and {1 - 1 / count:.3g}"
        )
    wanted = count - split_at
    order = split_rng(seed).permutation(count)
    if labels is None:
        return np.sort(order[:wanted])
    classes, sizes = np.unique(labels, return_counts=True)
    shares = sizes * wanted / count
    taken = np.floor(shares).astype(np.int64)
    # The samples left over go to the classes with the largest remainders (the
    # first class on a tie: `argsort` is stable).
    left_over = wanted - int(taken.sum())
    taken[np.argsort(-(shares - taken), kind="stable")[:left_over]] += 1
    shuffled = labels[order]
    rows = [order[shuffled == label][:size] for label, size in zip(classes, taken)]
    return np.sort(np.concatenate(rows))


def split_validation(data, validation_split, seed=0, class_target=None):
    """`(train, validation)`: a random `validation_split` of the samples held out for
    validation (`validation_rows`; stratified by the classes of `class_target`), the
    rest for training, both in their order in the data; `validation` is None
    without a split.

    Not Keras's `fit(validation_split=...)`, which holds out the last samples as
    they are: a file sorted by class would validate on the last class alone.
    """
    if not validation_split:
        return data, None
    count = num_samples(data)
    rows = validation_rows(
        count, validation_split, seed, class_labels(data, class_target)
    )
    held_out = np.zeros(count, dtype=bool)
    held_out[rows] = True
    return take(data, np.flatnonzero(~held_out)), take(data, rows)


def read_run_data(args, form, data):
    """`(train, validation, test)` of a run: `data` (the training data), the
    `--validation-data` and `--test-data` files read with `form` (each a one-line
    error if it does not fit), and the `--validation-split` of `data` when there is
    no validation file; prints a warning when the validation data holds a single
    class. numpy only: run before keras and jax are imported."""
    validation = test = None
    if args.validation_data is not None:
        validation = read(args.validation_data, form)
    if args.test_data is not None:
        test = read(args.test_data, form)
    if validation is None:
        data, validation = split_validation(
            data, args.validation_split, args.seed, form.class_target
        )
    warn_single_class(data, validation, form.class_target)
    return data, validation, test


def warn_single_class(train, validation, class_target):
    """A warning (stderr) when the validation data holds one class only: its
    metrics then say nothing about the others (and early stopping or the best model
    follow them)."""
    labels = class_labels(validation, class_target) if validation else None
    if labels is None or len(np.unique(labels)) != 1:
        return
    classes = np.unique(class_labels(train, class_target))
    print(
        f"warning: the validation data holds only class {labels[0]} (the training "
        f"data has {len(classes)} classes): its metrics say nothing about the "
        "others; use --validation-split (stratified by class) or a validation file "
        "with every class",
        file=sys.stderr,
    )


def trim_to_devices(data, devices, what):
    """Every batch, the last one too, must split evenly over the devices: drop the
    last samples that do not fit."""
    count = num_samples(data)
    keep = count - count % devices
    if keep == 0:
        fail(f"{count} {what} samples cannot be split over {devices} devices")
    if keep < count:
        print(f"data parallel: using {keep} of {count} {what} samples")
    return select(data, slice(None, keep))
