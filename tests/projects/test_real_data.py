"""A generated project trained as a user would on real data, from `train` alone: data
shaped like scikit-learn's breast cancer (binary), wine (three classes, sorted by
class) and diabetes (regression, targets of scale 100), with unscaled columns, a
validation split and a test file. Each run reports its test score, writes
results.json, and saves final and best models that `load_model` reads back; the test
score is the best model's own evaluation of the test file.

The projects are rendered (not installed) and their `train.main` runs in this
process; bad data files of a project stop before keras and jax are imported
(a fresh process checks it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import SCRIPTS
from tests.helpers.projects import write_project

# name: (answers, samples, features, make the targets from the features)
DATASETS = {
    "cancer_probe": ({"loss": "bce", "input_shape": "30"}, 569, 30),
    "wine_probe": ({"num_classes": 3, "input_shape": "13"}, 178, 13),
    "diabetes_probe": (
        {"loss": "mse", "input_shape": "10", "metrics": ("mae",)},
        442,
        10,
    ),
}


def dataset(name: str, samples: int, features: int):
    """`(x, y)`: columns of very different scales, targets that depend on them."""
    rng = np.random.default_rng(len(name))
    scales = 10.0 ** rng.uniform(-2, 3, size=features)
    signal = rng.normal(size=(samples, features))
    x = (signal * scales + 3 * scales).astype("float32")
    score = signal @ rng.normal(size=features) / np.sqrt(features)
    if name == "cancer_probe":
        y = (score > -0.3).astype("float32")[:, None]  # about 60% positive
    elif name == "wine_probe":
        y = np.digitize(score, np.quantile(score, [0.33, 0.73])).astype("int32")
        order = np.argsort(y, kind="stable")  # sorted by class, like load_wine
        x, y = x[order], y[order]
    else:
        y = (152 + 77 * score).astype("float32")[:, None]
    return x, y


def import_project(project: Path, name: str):
    sys.path.insert(0, str(project / "src"))
    try:
        from importlib import import_module

        return import_module(f"{name}.train"), import_module(f"{name}.model")
    finally:
        sys.path.remove(str(project / "src"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_train_alone_reports_the_test_score_and_saves_models(tmp_path, name, capsys):
    import keras

    answers, samples, features = DATASETS[name]
    project = write_project(tmp_path, name, **answers)
    x, y = dataset(name, samples, features)
    test_rows = np.arange(samples) % 5 == 0  # a fifth for the test file
    np.savez(tmp_path / "train.npz", x=x[~test_rows], y=y[~test_rows])
    np.savez(tmp_path / "test.npz", x=x[test_rows], y=y[test_rows])
    train, _ = import_project(project, name)
    run = tmp_path / "run"
    train.main(
        ["--data", str(tmp_path / "train.npz"), "--test-data", str(tmp_path / "test.npz"),
         "--validation-split", "0.2", "--epochs", "6", "--verbose", "0",
         "--output-dir", str(run)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert "warning" not in err  # wine: every class in validation (stratified)
    results = json.loads((run / "results.json").read_text())
    test = results["test"]
    assert test["model"] == "best" and test["samples"] == int(test_rows.sum())
    assert np.isfinite(test["logs"]["loss"])
    shown = [line for line in out.splitlines() if line.startswith("test: loss=")]
    assert shown and f"{test['logs']['loss']:.4f}" in shown[0]

    best = keras.saving.load_model(run / "best.keras")
    final = keras.saving.load_model(run / "final.keras")
    assert type(best).__name__ == type(final).__name__ != "Functional"
    expected = best.evaluate(
        x[test_rows], y[test_rows], batch_size=32, verbose=0, return_dict=True
    )
    assert test["logs"] == pytest.approx(expected, rel=1e-6)
    epochs = [
        int(row.split(",")[0])
        for row in (run / "history.csv").read_text().splitlines()[1:]
    ]
    assert epochs == list(range(1, 7)) and results["models"]["best"]["epoch"] in epochs


@pytest.mark.slow
def test_bad_data_files_stop_before_keras_is_imported(tmp_path):
    """`--data`, `--validation-data`, `--test-data`: a file that does not fit is one
    error line, and neither keras nor jax was imported (a fresh process)."""
    project = write_project(tmp_path, "early_probe")
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    np.savez(good, x=np.zeros((8, 16), "float32"), y=np.zeros(8, "int32"))
    np.savez(bad, x=np.zeros((8, 15), "float32"), y=np.zeros(8, "int32"))
    for option in ("--data", "--validation-data", "--test-data"):
        argv = ["--data", str(good), option, str(bad)]
        completed = subprocess.run(
            [sys.executable, str(SCRIPTS / "train_until_error.py"), "early_probe", *argv],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PYTHONPATH": str(project / "src")},
        )  # fmt: skip
        lines = completed.stdout.strip().splitlines()
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert lines[0].startswith(f"error: {bad}: array 'x' has shape (8, 15)")
        assert lines[1] == "imported: []", (option, lines)
