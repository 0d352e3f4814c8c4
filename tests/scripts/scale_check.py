"""Run by runtime/test_distribute.py in fresh processes: JAX reads its device flags
(XLA_FLAGS) and joins other processes only when it starts. In tests/scripts/:

    python scale_check.py train SRC PACKAGE DEVICES OUT.npz [TRAIN ARGS...]
        `PACKAGE.train.main(TRAIN ARGS)` on DEVICES simulated CPU devices; the whole
        final training state and the history go to OUT.npz (process 0 of several
        writes OUT.npz, process I > 0 writes OUT.I.npz).
    python scale_check.py model-parallel SRC PACKAGE DEVICES M[,M...] [BROKEN]
        `PACKAGE.train.main(ARGS)` on one device, then `main(ARGS + --model-parallel
        M)` for each M on DEVICES devices: asserts that every run has the one-device
        run's weights, optimizer state and logs (RTOL/ATOL of helpers/support.py) and
        that the first kernel was split; then, for a negative control, that the same
        runs of the package BROKEN (SRC may list several folders) differ from the
        one-device run.
    python scale_check.py data-parallel SRC PACKAGE 4
        `main(ARGS + --data-parallel)` on 4 devices in one process has the one-device
        run's weights, optimizer state and logs; a batch size that does not divide by
        the devices is one error line; samples that do not fill every device are left
        out, and said.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

# A small run with a short last batch: 36 samples, 28 to train (batches 8, 8, 8, 4),
# 8 to validate; two steps per execution (the first two batches of an epoch in one
# scan, ScannedExecution, the last two one at a time).
ARGS = [
    "--epochs", "2", "--batch-size", "8", "--num-samples", "36", "--verbose", "0",
    "--validation-split", "0.2", "--steps-per-execution", "2",
]  # fmt: skip


def final_state(history) -> dict:
    """The model's weights, its optimizer's variables and the logs, as arrays."""
    import numpy as np

    model = history.model
    arrays = {
        f"weight_{i:03d}_{v.path}": np.asarray(v.numpy())
        for i, v in enumerate(model.weights)
    }
    arrays.update(
        (f"optimizer_{i:03d}", np.asarray(v.numpy()))
        for i, v in enumerate(model.optimizer.variables)
    )
    arrays.update(
        (f"log_{key}", np.asarray(values)) for key, values in history.history.items()
    )
    return arrays


def differences(mine: dict, reference: dict) -> list[str]:
    """Names of the arrays that differ beyond the parity tolerance (RTOL, ATOL of
    tests/helpers/support.py)."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo: `tests`
    from tests.helpers.support import ATOL, RTOL

    assert sorted(mine) == sorted(reference), (sorted(mine), sorted(reference))
    assert any(name.startswith("log_val_loss") for name in reference), sorted(reference)
    return [
        name
        for name in sorted(reference)
        if not np.allclose(mine[name], reference[name], rtol=RTOL, atol=ATOL)
    ]


def assert_scanned(model) -> None:
    """`fit` ran the project's `ScannedExecution` (not Keras's own train function)."""
    qualname = model.train_function.__qualname__
    assert qualname.startswith("ScannedExecution."), qualname


def run_train(package: str, out: str, argv: list[str]) -> None:
    import jax
    import numpy as np

    train = importlib.import_module(f"{package}.train")
    history = train.main(argv)
    assert_scanned(history.model)
    index = jax.process_index()
    path = Path(out) if index == 0 else Path(out).with_suffix(f".{index}.npz")
    np.savez(path, **final_state(history))
    print("trained", jax.process_index(), jax.process_count(), len(jax.devices()))


def model_parallel(package: str, devices: int, sizes: str, broken: str = "") -> None:
    import jax

    assert len(jax.devices()) == devices, jax.devices()
    train = importlib.import_module(f"{package}.train")
    reference = final_state(train.main(ARGS))
    # The first Dense kernel of the default model (after its input scaling layer).
    assert len(reference["weight_003_dense/kernel"]) == 16
    model_parallel_runs(package, devices, sizes, reference, "same")
    if broken:
        model_parallel_runs(broken, devices, sizes, reference, "differ")


def model_parallel_runs(package, devices, sizes, reference, expect):
    import keras

    train = importlib.import_module(f"{package}.train")
    for size in sizes.split(","):
        keras.distribution.set_distribution(None)
        keras.backend.clear_session()
        value = [] if size == "all" else [size]  # all: --model-parallel alone
        history = train.main([*ARGS, "--model-parallel", *value])
        assert_scanned(history.model)
        kernel = history.model.get_layer("dense").kernel.value
        model_devices = devices if size == "all" else int(size)
        assert tuple(kernel.sharding.spec) == (None, "model"), kernel.sharding
        assert kernel.sharding.mesh.shape == {
            "batch": devices // model_devices,
            "model": model_devices,
        }, kernel.sharding.mesh
        assert len(kernel.addressable_shards) == devices
        assert kernel.addressable_shards[0].data.shape == (16, 32 // model_devices)
        wrong = differences(final_state(history), reference)
        if expect == "same":
            assert not wrong, (size, wrong)
        else:
            assert wrong, size
        print("model-parallel", package, size, expect, wrong[:3])
        print(f"model-parallel-{expect}-ok")


def data_parallel(package: str, devices: int) -> None:
    import jax
    import keras

    assert len(jax.devices()) == devices == 4, jax.devices()
    train = importlib.import_module(f"{package}.train")
    reference = final_state(train.main(ARGS))
    keras.backend.clear_session()
    history = train.main([*ARGS, "--data-parallel"])  # 28 + 8 samples: all on 4
    assert_scanned(history.model)
    kernel = history.model.weights[0].value
    assert len(kernel.sharding.device_set) == 4 and kernel.sharding.is_fully_replicated
    assert not differences(final_state(history), reference)
    keras.distribution.set_distribution(None)
    try:
        train.main([*ARGS, "--data-parallel", "--batch-size", "30"])
    except SystemExit as error:
        assert error.code == (
            "error: --batch-size 30 does not divide by the 4 devices of "
            "--data-parallel; use a multiple of 4"
        ), error.code
    else:
        raise AssertionError("--batch-size 30 on 4 devices was accepted")
    keras.distribution.set_distribution(None)
    keras.backend.clear_session()
    # 46 samples: 36 to train on and 10 to validate on, of which 8 fill the devices.
    history = train.main([*ARGS, "--data-parallel", "--num-samples", "46"])
    assert len(history.history["val_loss"]) == 2
    print("data-parallel-ok")


if __name__ == "__main__":
    mode, src, package, devices, *rest = sys.argv[1:]
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + f" --xla_force_host_platform_device_count={devices}"
    )
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["JAX_PLATFORMS"] = "cpu"
    sys.path[:0] = src.split(os.pathsep)  # SRC: one or more source folders
    if mode == "train":
        run_train(package, rest[0], rest[1:])
    elif mode == "data-parallel":
        data_parallel(package, int(devices))
    else:
        model_parallel(package, int(devices), *rest)
