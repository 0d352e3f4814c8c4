# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""Data files and the arrays `fit` trains on: `.npz` files (`read_npz`), directories
of `.npy` shards read by memory mapping (`read_shards`, `ShardedArray`), and the
validation split.

No keras, no jax (numpy only). What a project's files hold is the project's: its
`data.py` describes it as an `ArrayFormat` (the array names, their dtypes, its checks).
Data is `(x, y, sample_weight)`; each may be None (but `x`), an array, or a dict of
arrays (named inputs and outputs).
"""

import math
import os
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
    how to write such a file (`np.savez(...)`).
    """

    names: tuple
    required: tuple
    dtypes: dict
    check: Callable
    split: Callable
    save_hint: str


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
    """Samples `start` to `stop` of one array stored as .npy shards opened by memory
    mapping: indexing with sample indices reads only those samples (as `dtype`)."""

    def __init__(self, shards, dtype, start=0, stop=None):
        self.shards = shards
        self.dtype = dtype
        self.offsets = np.cumsum([0] + [len(shard) for shard in shards])
        self.start = start
        self.stop = int(self.offsets[-1]) if stop is None else stop
        self.shape = (self.stop - self.start, *shards[0].shape[1:])

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        if isinstance(index, slice):  # a window, nothing read
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("ShardedArray slices take every sample")
            return ShardedArray(
                self.shards, self.dtype, self.start + start, self.start + stop
            )
        indices = self.start + np.asarray(index)
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


def select(data, index):
    """`data` with every array (also inside dicts of named inputs/outputs) indexed;
    None stays None."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {name: select(value, index) for name, value in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(select(value, index) for value in data)
    return data[index]


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


def split_validation(data, validation_split):
    """`(train, validation)`: the last `validation_split` of the samples held out,
    as `fit(validation_split=...)` does; `validation` is None without a split."""
    if not validation_split:
        return data, None
    count = num_samples(data)
    split_at = math.floor(count * (1.0 - validation_split))
    if split_at in (0, count):
        fail(
            f"--validation-split {validation_split} of {count} samples leaves no "
            f"{'training' if split_at == 0 else 'validation'} samples"
        )
    return select(data, slice(None, split_at)), select(data, slice(split_at, None))


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
