"""A regression project's `train`, from the command line's options alone, on inputs and
targets of scale 100 (shaped like scikit-learn's diabetes: columns of very different
scales, targets 152 ± 77) reaches the test R² of the same data standardized by hand
with the training part's statistics, and predicts in the targets' units. Negative
control: `--no-scaling` on the raw data does not come near it. With
`--validation-split`, the layers hold the statistics of the training part (not of
all the data).

The project is rendered (not installed) and its `train.main` runs in this process.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.helpers.projects import write_project

NAME = "scaled_probe"
# |R² raw - R² by hand|: the model standardizes in float32, the hand-made data was
# standardized in float64 and rounded (runtime test: 1.2e-7 after 20 epochs).
R2_TOLERANCE = 1e-4


def dataset(samples=440, features=10, seed=5):
    """`(x, y)`: columns of scales 0.01 to 1000 with offsets, targets 152 + 77 z."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-2, 3, size=features)
    signal = rng.normal(size=(samples, features))
    score = np.tanh(signal @ rng.normal(size=features) / np.sqrt(features))
    score = score + 0.3 * rng.normal(size=samples)
    x = (signal * scales + 3 * scales).astype("float32")
    y = (152 + 77 * score).astype("float32")[:, None]
    return x, y


def r2(y, predicted):
    return 1.0 - float(np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2))


@pytest.mark.slow
def test_targets_of_scale_100_reach_the_r2_of_data_standardized_by_hand(
    tmp_path, monkeypatch
):
    project = write_project(tmp_path, NAME, loss="mse", input_shape="10")
    monkeypatch.chdir(tmp_path)  # the run's own files go here
    monkeypatch.syspath_prepend(str(project / "src"))
    from importlib import import_module

    train = import_module(f"{NAME}.train")
    x, y = dataset()
    fit, test = slice(0, 360), slice(360, None)
    mean_x, std_x = x[fit].astype("float64").mean(0), x[fit].astype("float64").std(0)
    mean_y, std_y = y[fit].astype("float64").mean(0), y[fit].astype("float64").std(0)
    by_hand = (
        ((x - mean_x) / std_x).astype("float32"),
        ((y - mean_y) / std_y).astype("float32"),
    )

    def score(data, *options):
        path = tmp_path / "train.npz"
        np.savez(path, x=data[0][fit], y=data[1][fit])
        history = train.main(
            ["--data", str(path), "--epochs", "20", "--verbose", "0", *options]
        )
        return np.asarray(history.model.predict(data[0][test], verbose=0))

    try:
        raw = score((x, y))
        hand = score(by_hand, "--no-scaling") * std_y + mean_y
        unscaled = score((x, y), "--no-scaling")
        # With a validation split, only the training part sets the layers.
        split = ["--validation-split", "0.25", "--epochs", "1", "--verbose", "0"]
        model = train.main(["--data", str(tmp_path / "train.npz"), *split]).model
        arrays = import_module(f"{NAME}.runtime.arrays")
        part, held_out = arrays.split_validation((x[fit], y[fit], None), 0.25)
    finally:
        for module in [m for m in sys.modules if m.split(".")[0] == NAME]:
            del sys.modules[module]
    reference = r2(y[test], hand)
    assert reference > 0.5, reference
    assert abs(r2(y[test], raw) - reference) <= R2_TOLERANCE, (
        r2(y[test], raw),
        reference,
    )
    assert abs(float(raw.mean()) - 152) < 40  # predictions in the targets' units
    assert r2(y[test], unscaled) < reference - 0.5, r2(y[test], unscaled)
    layers = {"input_scaling": (part[0], x[fit]), "target_scaling": (part[1], y[fit])}
    for layer, (training_part, everything) in layers.items():
        mean = np.asarray(model.get_layer(layer).adapt_mean.numpy())
        expected = training_part.astype("float64").mean(0)
        np.testing.assert_allclose(mean, expected, rtol=1e-6)
        # Negative control: the statistics of all the data are not those.
        assert not np.allclose(mean, everything.mean(0), rtol=1e-6), layer
    assert len(held_out[0]) == 90
