# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""The batches `fit` trains on: each epoch's sample order a function of (seed, epoch)
only (`epoch_order`, `EpochBatches`), read ahead by threads (`--workers`), and the part
of every batch one of several processes feeds (`ProcessPart`)."""

import concurrent.futures
import math

import jax
import keras
import numpy as np

from .arrays import leaves, num_samples, select

# Training data up to this size (all arrays together) stays on the device while
# `fit` trains (`EpochBatches.on_device`); larger data is fed batch by batch.
ON_DEVICE_BYTES = 1 << 30


def epoch_order(num_samples, seed, epoch):
    """The order of the samples in epoch `epoch`: a function of (seed, epoch) only,
    so a resumed run sees the same batches as an uninterrupted one."""
    return np.random.default_rng([seed, epoch]).permutation(num_samples)


class EpochBatches(keras.utils.PyDataset):
    """The batches `fit` trains on: epoch `epoch` takes the samples in the order
    `epoch_order(num_samples, seed, epoch)`, `batch_size` at a time (the last batch
    may be short), from batch `first_batch` on (a resumed epoch skips the batches it
    already applied). `set_epoch` selects the epoch; `EpochOrder` calls it.

    `arrays` is `(x, y, sample_weight)`; `sample_weight` may be None; each may be a
    dict of arrays (named inputs and outputs). With `workers` > 0, that many threads
    read the next batches of the epoch ahead (from memory-mapped shards: the disk
    reads overlap training); every batch is still a function of (seed, epoch, index)
    only, so the weights are the same as without workers. Keras's own
    `PyDataset(workers=...)` is not used: in Keras 3.15 its enqueuer keeps batches
    read before a stop (e.g. of the batch `fit` peeks at to build the model) and
    serves them first after the next start, which shifts every epoch's order.
    """

    def __init__(self, arrays, batch_size, seed, first_batch=0, workers=0):
        super().__init__()  # Keras's workers stay off (see above)
        self.arrays = tuple(array for array in arrays if array is not None)
        self.num_samples = num_samples(self.arrays)
        self.batch_size = batch_size
        self.seed = seed
        self.first_batch = first_batch
        self.batches_per_epoch = math.ceil(self.num_samples / batch_size)
        self.readers = (
            concurrent.futures.ThreadPoolExecutor(workers) if workers > 0 else None
        )
        self.read_ahead = 2 * workers  # batches being read beyond the current one
        self.pending = {}  # index -> Future of batch `index` of this epoch
        self.epoch = None
        self.set_epoch(0)
        self.taken = 0  # batches of this epoch handed out by `take`
        self.device_arrays = None  # `on_device`

    def set_epoch(self, epoch):
        if epoch == self.epoch:
            return
        self.epoch = epoch
        self.order = epoch_order(self.num_samples, self.seed, epoch)
        for future in self.pending.values():
            future.cancel()
        self.pending = {}  # read for another epoch: never served

    @property
    def num_batches(self):
        return self.batches_per_epoch - self.first_batch

    def read(self, order, index):
        """Batch `index` of the epoch whose sample order is `order`."""
        start = (self.first_batch + index) * self.batch_size
        return select(self.arrays, order[start : start + self.batch_size])

    def __getitem__(self, index):
        if self.readers is None:
            return self.read(self.order, index)
        last = min(index + self.read_ahead, self.num_batches - 1)
        for ahead in range(index, last + 1):
            if ahead not in self.pending:
                self.pending[ahead] = self.readers.submit(self.read, self.order, ahead)
        return self.pending.pop(index).result()

    def close(self):
        """Stop the reading threads (after training)."""
        if self.readers is not None:
            self.readers.shutdown(cancel_futures=True)
            self.pending = {}

    # The batches as sample indices, for `ScannedExecution` (runtime/scan.py): it
    # gathers them from the arrays on the device instead of calling `__getitem__`.

    def fits_on_device(self):
        """The arrays are in memory (numpy arrays, not memory-mapped shards) and
        together at most `ON_DEVICE_BYTES`."""
        arrays = leaves(self.arrays)
        return all(type(array) is np.ndarray for array in arrays) and (
            sum(array.nbytes for array in arrays) <= ON_DEVICE_BYTES
        )

    def on_device(self):
        """The arrays on JAX's default device (copied there once)."""
        if self.device_arrays is None:
            self.device_arrays = jax.device_put(self.arrays)
        return self.device_arrays

    def on_epoch_begin(self):
        # Keras's data adapter calls this when an epoch starts.
        self.taken = 0

    def take(self, count):
        """The next `count` batches of the epoch (fewer at its end) as sample
        indices: `(full, short)`, `full` the indices of the full batches,
        `(batches, batch_size)`, `short` those of a short last batch or None.
        The same samples as `__getitem__` gives for those batches."""
        first = self.taken
        last = min(first + count, self.num_batches)
        self.taken = last
        start = (self.first_batch + first) * self.batch_size
        stop = min((self.first_batch + last) * self.batch_size, self.num_samples)
        rows = self.order[start:stop].astype(np.int32)
        whole = len(rows) // self.batch_size
        full = rows[: whole * self.batch_size].reshape(whole, self.batch_size)
        short = rows[whole * self.batch_size :]
        return full, (short if len(short) else None)


class EpochOrder(keras.callbacks.Callback):
    """Tells the `EpochBatches` which epoch `fit` is in (its sample order)."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch)


class ProcessPart(keras.utils.PyDataset):
    """This process's rows of every batch of `batches` (a PyDataset of whole
    batches): process `index` of `count` takes the `index`-th of `count` equal
    parts. Keras puts the parts of all processes together, in process order, into
    the global batch (`jax.make_array_from_process_local_data`), so every step sees
    the batch one process would have seen."""

    def __init__(self, batches, index, count):
        super().__init__()  # Keras's workers stay off, as in EpochBatches
        self.batches = batches
        self.index = index
        self.count = count

    @property
    def num_batches(self):
        return self.batches.num_batches

    def __getitem__(self, index):
        batch = self.batches[index]
        part = num_samples(batch) // self.count
        return select(batch, slice(self.index * part, (self.index + 1) * part))


class InOrder(keras.utils.PyDataset):
    """The samples of `arrays` in order, `batch_size` at a time (validation data)."""

    def __init__(self, arrays, batch_size):
        super().__init__()
        self.arrays = arrays
        self.batch_size = batch_size

    @property
    def num_batches(self):
        return math.ceil(num_samples(self.arrays) / self.batch_size)

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return select(self.arrays, rows)
