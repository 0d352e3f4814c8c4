# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""Distribution set-up: several processes (`--coordinator-address`, ...), data
parallelism (`--data-parallel`) and model parallelism (`--model-parallel`), and what
each process feeds `fit`."""

import re

import jax
import keras
import numpy as np

from .arrays import num_samples, select, trim_to_devices
from .batches import InOrder, ProcessPart
from .options import fail


def start_processes(args):
    """Join the other processes (`keras.distribution.initialize`), before JAX
    computes anything; on CPU their collectives go through gloo."""
    if not args.several_processes:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        keras.distribution.initialize(
            job_addresses=args.coordinator_address,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )
    except (RuntimeError, ValueError) as error:  # e.g. no coordinator in time
        message = (str(error).strip().splitlines() or [""])[0]
        fail(
            f"cannot join the processes at {args.coordinator_address} as process "
            f"{args.process_id} of {args.num_processes}: {type(error).__name__}: {message}"
        )
    print(
        f"process {jax.process_index()} of {jax.process_count()}: "
        f"{jax.local_device_count()} local, {jax.device_count()} devices in all"
    )


def set_distribution(args, train, validation, build_model):
    """Set the `keras.distribution` the options ask for, before the model exists;
    returns `(train, validation)` cut to whole batches on every device.
    `build_model()` builds the model (abstractly, to lay out its variables)."""
    if args.model_parallel is not None:
        replicas = set_model_parallel(args, build_model)
    elif args.data_parallel or args.several_processes:
        replicas = set_data_parallel(args.batch_size)
    else:
        return train, validation
    train = trim_to_devices(train, replicas, "training")
    if validation is not None:
        validation = trim_to_devices(validation, replicas, "validation")
    return train, validation


def set_data_parallel(batch_size):
    """Shard batches over every JAX device; returns the number of devices."""
    devices = jax.devices()
    if batch_size % len(devices):
        fail(
            f"--batch-size {batch_size} does not divide by the {len(devices)} "
            f"devices of --data-parallel; use a multiple of {len(devices)}"
        )
    # With several processes each feeds its own part of every batch (`ProcessPart`):
    # Keras must not shard the data again (it can shard only a tf.data.Dataset).
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    )
    print(f"data parallel over {len(devices)} devices: {devices}")
    return len(devices)


def variable_shapes(build_model, seed):
    """`{path: shape}` of the model's variables, from building it abstractly
    (`jax.eval_shape`: nothing is allocated); the Keras session is reset after and
    the random state seeded again with `seed`."""
    shapes = {}

    def build():
        model = build_model()
        shapes.update((v.path, tuple(v.shape)) for v in model.weights)
        return 0

    jax.eval_shape(build)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    return shapes


def model_parallel_layout(shapes, mesh, model_devices):
    """A `LayoutMap` splitting every kernel (2 or more dimensions) whose last
    dimension divides by `model_devices` along the "model" axis; everything else
    (biases, normalisation, the kernels that do not divide) is replicated. The
    optimizer's variables follow the layout of their weights."""
    layout_map = keras.distribution.LayoutMap(mesh)
    for path, shape in sorted(shapes.items()):
        if len(shape) >= 2 and shape[-1] % model_devices == 0:
            layout_map[re.escape(path)] = (None,) * (len(shape) - 1) + ("model",)
    return layout_map


def set_model_parallel(args, build_model):
    """`keras.distribution.ModelParallel` over a (batch, model) mesh of all devices;
    returns the number of devices along the batch axis."""
    devices = jax.devices()
    model_devices = (
        len(devices) if args.model_parallel == "all" else args.model_parallel
    )
    if len(devices) % model_devices:
        fail(
            f"--model-parallel {model_devices} does not divide the {len(devices)} "
            f"devices; use a divisor of {len(devices)}"
        )
    batch_devices = len(devices) // model_devices
    if args.batch_size % batch_devices:
        fail(
            f"--batch-size {args.batch_size} does not divide by the {batch_devices} "
            f"devices of the batch axis; use a multiple of {batch_devices}"
        )
    mesh = keras.distribution.DeviceMesh(
        shape=(batch_devices, model_devices),
        axis_names=("batch", "model"),
        devices=devices,
    )
    shapes = variable_shapes(build_model, args.seed)
    layout_map = model_parallel_layout(shapes, mesh, model_devices)
    keras.distribution.set_distribution(
        keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    )
    print(
        f"model parallel over {len(devices)} devices: batch {batch_devices} x "
        f"model {model_devices}; split: {', '.join(layout_map) or 'nothing'}"
    )
    return batch_devices


def process_part(batches):
    """What this process feeds `fit`: all of `batches` in one process, its part of
    each batch with several."""
    if jax.process_count() == 1:
        return batches
    return ProcessPart(batches, jax.process_index(), jax.process_count())


def validation_part(validation, batch_size):
    """The validation data `fit` gets, read into memory (from .npy shards too: `fit`
    evaluates on arrays): the arrays in one process, this process's part of each
    batch of `batch_size` with several; None without validation."""
    if validation is None:
        return None
    validation = select(
        tuple(part for part in validation if part is not None),
        np.arange(num_samples(validation)),
    )
    if jax.process_count() == 1:
        return validation
    return process_part(InOrder(validation, batch_size))


def fit_verbosity(args):
    """`fit`'s `verbose`: the first process alone shows progress."""
    if jax.process_index() != 0:
        return 0
    return args.verbose if args.verbose == "auto" else int(args.verbose)
