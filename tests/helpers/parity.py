"""Answers the parity tests share with the DataParallel check they run in a fresh
process (``tests/scripts/dataparallel_check.py``): the training helpers themselves
(``compare``, ``assert_same``, ``fit_and_evaluate``) are in ``support``.
"""

from __future__ import annotations

# One generated module per kind of target (integer labels, binary, regression, one-hot),
# each with metrics of that kind (tests/generated/test_parity.py).
CONFIGS = {
    "sparse": {
        "loss": "sparse_categorical_crossentropy",
        "metrics": (
            "sparse_categorical_accuracy",
            "mean_io_u",
            "io_u",
            "sparse_top_k_categorical_accuracy",
        ),
    },
    "binary": {
        "loss": "binary_crossentropy",
        "metrics": ("auc", "precision_at_recall", "f1_score", "binary_io_u"),
    },
    "regression": {
        "loss": "mse",
        "metrics": ("r2_score", "root_mean_squared_error"),
        "output_units": 2,
    },
    "onehot": {
        "loss": "categorical_crossentropy",
        "metrics": ("one_hot_mean_io_u", "top_k_categorical_accuracy"),
        "num_classes": 4,
    },
}

# The answers of the generated two-input, two-output model.
TWO_IO = {
    "outputs": ("label:sparse_categorical_crossentropy", "box:mse:0.5"),
    "inputs": ("features:6", "image:4,3"),
    "metrics": (
        "label:accuracy",
        "label:sparse_top_k_categorical_accuracy",
        "box:mae",
    ),
    "output_units": 2,
}
