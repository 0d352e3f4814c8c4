"""What the generator knows about Keras: tasks, losses, metrics and optimizers, as data.

Nothing here imports keras: rendering must stay fast.
``tests/generator/test_catalog.py`` checks every entry against the installed Keras and
fails when Keras gains a loss or a metric that this file does not know.

A *task* fixes the model's input kind, its output head and the encoding of the targets
that ``make_dataset`` produces. A loss lists the tasks it fits (the first is its default);
a metric lists the tasks it is meaningful for, and the generator refuses a metric whose
tasks do not include the loss's task.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar


@dataclass(frozen=True)
class Target:
    """How ``make_dataset`` draws the targets ``y`` of a task, and what ``load_npz``
    accepts. ``templates/partials/targets.py.jinja`` and ``target_shapes.py.jinja``
    hold one macro per kind, named after it; the rest is this data."""

    name: str
    title: str
    # The width of the random projection of the inputs that ``y`` is drawn from, as
    # the units of a head ("output_units", "one" or "num_classes", see Task); "" when
    # the kind draws ``y`` otherwise (masks, label sequences).
    scores_units: str
    # Integer labels: "classes" (0 to NUM_CLASSES - 1) or "ctc" (1 to NUM_CLASSES, 0
    # is the CTC blank and padding); "" for float targets.
    labels: str = ""
    uses_num_classes: bool = False
    uses_output_units: bool = False
    # One label sequence per sample, at most one label per time step (CTC).
    sequence: bool = False
    # How a sample's class is read from targets that hold one class per sample
    # (a stratified validation split keeps their proportions): "index" (integer
    # labels), "onehot", "binary" (0/1), "signed" (-1/1); "" when they do not.
    classes: str = ""


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("real", "real values", "output_units", uses_output_units=True),
        Target("positive", "positive values", "output_units", uses_output_units=True),
        Target("binary", "0/1", "one", classes="binary"),
        Target("signed", "-1/1", "one", classes="signed"),
        Target("multihot", "multi-hot", "num_classes", uses_num_classes=True),
        Target(
            "onehot", "one-hot", "num_classes", uses_num_classes=True, classes="onehot"
        ),
        Target(
            "sparse",
            "integer classes",
            "num_classes",
            labels="classes",
            uses_num_classes=True,
            classes="index",
        ),
        Target(
            "distribution",
            "rows summing to 1",
            "num_classes",
            uses_num_classes=True,
        ),
        Target("mask", "0/1 masks", ""),
        Target(
            "label_sequence",
            "label sequences",
            "",
            labels="ctc",
            uses_num_classes=True,
            sequence=True,
        ),
        Target(
            "labels",
            "integer labels",
            "num_classes",
            labels="classes",
            uses_num_classes=True,
            classes="index",
        ),
    )
}


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    input_kind: str  # "vector" | "image" | "sequence"
    head_units: str  # "output_units" | "one" | "num_classes" | "num_classes_plus_blank"
    head_activation: str | None  # Keras activation name of the last Dense layer
    target: str  # a key of TARGETS: how make_dataset encodes y
    normalize_output: bool = False  # L2-normalise the head (embeddings)
    default_metrics: tuple[str, ...] = ()
    min_classes: int = 2  # CTC: one class besides the blank is enough
    default_output_units: int = 1  # embeddings: 8
    # What Keras's `compile` picks for the metric "accuracy" (and the loss
    # "crossentropy") from this task's target and output shapes: "binary",
    # "categorical" or "sparse" (keras/src/trainers/compile_utils.py,
    # is_binary_or_sparse_categorical); None where that pick does not fit the task.
    # tests/generated/test_metric_names.py checks this against Keras on the generated
    # shapes.
    shape_family: str | None = None

    @property
    def uses_num_classes(self) -> bool:
        """Whether the head or the targets depend on the number of classes."""
        return TARGETS[self.target].uses_num_classes


@dataclass(frozen=True)
class Entry:
    """A Keras loss or metric: its names, the tasks it fits (a loss: the first is its
    default) and a short note."""

    class_name: str
    snake_name: str
    tasks: tuple[str, ...]
    notes: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loss(Entry):
    # Fewest output units the loss can train (cosine similarity of one number has a
    # zero gradient); also the default when --output-units is not given.
    min_output_units: int = 1


@dataclass(frozen=True)
class FromModel:
    """A metric's constructor argument taken from the model's settings: ``num_classes``,
    ``output_units`` or ``k`` (top-k: ``min(5, num_classes - 1)``, at least 1)."""

    name: str


# A constructor argument's value: a number, a string, a bool or a tuple of numbers.
Value = int | float | str | bool | tuple[int, ...]
# A constructor argument as the catalog gives it: a value, or one from the model.
Argument = Value | FromModel


@dataclass(frozen=True)
class Metric(Entry):
    # Constructor arguments as (name, value); see constructor_arguments().
    arguments: tuple[tuple[str, Argument], ...] = ()
    # Per-task overrides of ``arguments``.
    task_arguments: tuple[tuple[str, tuple[tuple[str, Argument], ...]], ...] = ()
    # The log key when it is not ``snake_name`` (set by values.resolve_metric to the
    # name the user gave, as `compile(metrics=["mae"])` logs "mae").
    log_name: str = ""

    @property
    def name(self) -> str:
        """The metric's log key (``val_`` + it for validation)."""
        return self.log_name or self.snake_name

    def constructor_arguments(
        self, task: str, num_classes: int, output_units: int
    ) -> list[tuple[str, Value]]:
        """``[(name, value), ...]`` for ``task``, ``FromModel`` values filled from the
        model's settings."""
        arguments = dict(self.task_arguments).get(task, self.arguments)
        settings = {
            "num_classes": num_classes,
            "k": max(1, min(5, num_classes - 1)),
            "output_units": output_units,
        }
        return [
            (key, settings[value.name] if isinstance(value, FromModel) else value)
            for key, value in arguments
        ]


INPUT_SHAPES = {"vector": (16,), "image": (8, 8, 3), "sequence": (12, 8)}
INPUT_RANKS = {"vector": 1, "image": 3, "sequence": 2}

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "regression",
            "regression: real-valued targets",
            "vector",
            "output_units",
            None,
            "real",
            default_metrics=("mean_absolute_error",),
        ),
        Task(
            "positive_regression",
            "regression with positive targets (log or ratio losses)",
            "vector",
            "output_units",
            "softplus",
            "positive",
            default_metrics=("mean_absolute_error",),
        ),
        Task(
            "binary",
            "binary classification: one sigmoid unit, 0/1 targets",
            "vector",
            "one",
            "sigmoid",
            "binary",
            default_metrics=("binary_accuracy",),
            shape_family="binary",
        ),
        Task(
            "binary_margin",
            "binary classification with margin losses: one linear unit, -1/1 targets",
            "vector",
            "one",
            None,
            "signed",
            default_metrics=("hinge",),
        ),
        Task(
            "multilabel",
            "multi-label classification: a sigmoid per class, multi-hot targets",
            "vector",
            "num_classes",
            "sigmoid",
            "multihot",
            default_metrics=("binary_accuracy",),
        ),
        Task(
            "multiclass_onehot",
            "multi-class classification: softmax, one-hot targets",
            "vector",
            "num_classes",
            "softmax",
            "onehot",
            default_metrics=("categorical_accuracy",),
            shape_family="categorical",
        ),
        Task(
            "multiclass_sparse",
            "multi-class classification: softmax, integer class targets",
            "vector",
            "num_classes",
            "softmax",
            "sparse",
            default_metrics=("sparse_categorical_accuracy",),
            shape_family="sparse",
        ),
        Task(
            "distribution",
            "probability distributions: softmax, targets that sum to one",
            "vector",
            "num_classes",
            "softmax",
            "distribution",
            default_metrics=("kl_divergence",),
            shape_family="categorical",
        ),
        Task(
            "segmentation",
            "segmentation masks: a sigmoid per pixel, 0/1 masks",
            "image",
            "one",
            "sigmoid",
            "mask",
            default_metrics=("binary_io_u",),
            shape_family="binary",
        ),
        Task(
            "sequence_ctc",
            "sequence labelling with CTC: per-step logits (class 0 is the blank)",
            "sequence",
            "num_classes_plus_blank",
            None,
            "label_sequence",
            min_classes=1,
        ),
        Task(
            "metric_learning",
            "metric learning: L2-normalised embeddings, integer labels",
            "vector",
            "output_units",
            None,
            "labels",
            normalize_output=True,
            default_output_units=8,
        ),
    )
}

_BINARY_LIKE = ("binary", "multilabel", "segmentation")
_REGRESSION = ("regression", "positive_regression")
# Losses that fit any real target fit positive ones too (`--loss mse -m mape`).
_REAL = _REGRESSION

LOSSES: tuple[Loss, ...] = (
    Loss(
        "BinaryCrossentropy",
        "binary_crossentropy",
        _BINARY_LIKE,
        "0/1 targets, probabilities",
        ("bce",),
    ),
    Loss(
        "BinaryFocalCrossentropy",
        "binary_focal_crossentropy",
        _BINARY_LIKE,
        "down-weights easy examples",
    ),
    Loss(
        "CategoricalCrossentropy",
        "categorical_crossentropy",
        ("multiclass_onehot", "distribution"),
        "one-hot targets",
    ),
    Loss(
        "CategoricalFocalCrossentropy",
        "categorical_focal_crossentropy",
        ("multiclass_onehot",),
        "one-hot targets, down-weights easy examples",
    ),
    Loss(
        "CategoricalGeneralizedCrossEntropy",
        "categorical_generalized_cross_entropy",
        ("multiclass_sparse",),
        "integer targets, robust to label noise",
    ),
    Loss(
        "CategoricalHinge",
        "categorical_hinge",
        ("multiclass_onehot",),
        "one-hot targets, margin loss",
    ),
    Loss(
        "Circle",
        "circle",
        ("metric_learning",),
        "integer labels, L2-normalised embeddings",
    ),
    Loss(
        "CosineSimilarity",
        "cosine_similarity",
        ("regression",),
        "direction of target vectors (at least 2 output units)",
        min_output_units=2,
    ),
    Loss("CTC", "ctc", ("sequence_ctc",), "label sequences, 0 pads and is the blank"),
    Loss("Dice", "dice", ("segmentation", "multilabel"), "overlap of 0/1 masks"),
    Loss("Hinge", "hinge", ("binary_margin",), "-1/1 targets, margin loss"),
    Loss("Huber", "huber", _REAL, "squared near zero, linear for outliers"),
    Loss(
        "KLDivergence",
        "kl_divergence",
        ("distribution",),
        "targets are distributions",
        ("kld",),
    ),
    Loss("LogCosh", "log_cosh", _REAL, "smooth absolute error"),
    Loss(
        "MeanAbsoluteError",
        "mean_absolute_error",
        _REAL,
        "robust to outliers",
        ("mae",),
    ),
    Loss(
        "MeanAbsolutePercentageError",
        "mean_absolute_percentage_error",
        ("positive_regression",),
        "targets away from zero",
        ("mape",),
    ),
    Loss(
        "MeanSquaredError",
        "mean_squared_error",
        _REAL,
        "the default regression loss",
        ("mse",),
    ),
    Loss(
        "MeanSquaredLogarithmicError",
        "mean_squared_logarithmic_error",
        ("positive_regression",),
        "positive targets, relative error",
        ("msle",),
    ),
    Loss("Poisson", "poisson", ("positive_regression",), "counts or rates"),
    Loss(
        "SparseCategoricalCrossentropy",
        "sparse_categorical_crossentropy",
        ("multiclass_sparse",),
        "integer class targets",
    ),
    Loss("SquaredHinge", "squared_hinge", ("binary_margin",), "-1/1 targets"),
    Loss("Tversky", "tversky", ("segmentation",), "weighted overlap of 0/1 masks"),
)

_THRESHOLD_METRICS_NOTE = "threshold 0.5 on probabilities"
_K: tuple[tuple[str, Argument], ...] = (("k", FromModel("k")),)
# Correlations over the batch (axis 0), one per output unit. Keras's default axis=-1
# correlates the output units of each sample: NaN (Pearson) or 0 (concordance) for
# the one-unit regression head. Over the batch there is one value per output, so
# Keras refuses per-sample weights for these metrics.
_BATCH_AXIS: tuple[tuple[str, Argument], ...] = (("axis", 0),)

METRICS: tuple[Metric, ...] = (
    Metric(
        "AUC", "auc", _BINARY_LIKE, "area under the ROC curve", aliases=("auc_roc",)
    ),
    Metric("BinaryAccuracy", "binary_accuracy", _BINARY_LIKE, _THRESHOLD_METRICS_NOTE),
    Metric(
        "BinaryCrossentropy",
        "binary_crossentropy",
        _BINARY_LIKE,
        "log loss",
        aliases=("bce",),
    ),
    Metric("BinaryIoU", "binary_io_u", _BINARY_LIKE, "IoU of the 0 and 1 classes"),
    Metric(
        "CategoricalAccuracy",
        "categorical_accuracy",
        ("multiclass_onehot", "distribution"),
        "argmax matches the one-hot target",
    ),
    Metric(
        "CategoricalCrossentropy",
        "categorical_crossentropy",
        ("multiclass_onehot", "distribution"),
        "log loss",
    ),
    Metric(
        "CategoricalHinge",
        "categorical_hinge",
        ("multiclass_onehot",),
        "margin between classes",
    ),
    Metric(
        "ConcordanceCorrelation",
        "concordance_correlation",
        _REGRESSION,
        "agreement per output over each batch; no sample_weight",
        arguments=_BATCH_AXIS,
    ),
    # Not positive_regression: targets and the softplus head are both positive, so
    # with the default one output unit the cosine is 1 whatever the model predicts.
    Metric(
        "CosineSimilarity",
        "cosine_similarity",
        ("regression",),
        "direction of target vectors (one output unit: agreement of signs)",
    ),
    Metric(
        "F1Score",
        "f1_score",
        ("binary", "multilabel", "multiclass_onehot"),
        "macro-averaged",
        arguments=(("average", "macro"), ("threshold", 0.5)),
        task_arguments=(("multiclass_onehot", (("average", "macro"),)),),
    ),
    Metric(
        "FBetaScore",
        "fbeta_score",
        ("binary", "multilabel", "multiclass_onehot"),
        "macro-averaged, beta=1",
        aliases=("f_beta_score",),
        arguments=(("average", "macro"), ("threshold", 0.5)),
        task_arguments=(("multiclass_onehot", (("average", "macro"),)),),
    ),
    Metric("FalseNegatives", "false_negatives", _BINARY_LIKE, _THRESHOLD_METRICS_NOTE),
    Metric("FalsePositives", "false_positives", _BINARY_LIKE, _THRESHOLD_METRICS_NOTE),
    Metric("Hinge", "hinge", ("binary_margin",), "-1/1 targets"),
    Metric(
        "IoU",
        "io_u",
        ("multiclass_sparse",),
        "IoU of class 0 (edit target_class_ids)",
        arguments=(
            ("num_classes", FromModel("num_classes")),
            ("target_class_ids", (0,)),
            ("sparse_y_pred", False),
        ),
    ),
    Metric(
        "KLDivergence",
        "kl_divergence",
        ("distribution", "multiclass_onehot"),
        "distance between distributions",
        aliases=("kld",),
    ),
    Metric("LogCoshError", "log_cosh_error", _REGRESSION, "smooth absolute error"),
    Metric(
        "MeanAbsoluteError",
        "mean_absolute_error",
        _REGRESSION,
        "average absolute error",
        aliases=("mae",),
    ),
    Metric(
        "MeanAbsolutePercentageError",
        "mean_absolute_percentage_error",
        ("positive_regression",),
        "targets away from zero",
        aliases=("mape",),
    ),
    Metric(
        "MeanIoU",
        "mean_io_u",
        ("multiclass_sparse",),
        "mean IoU over classes",
        arguments=(("num_classes", FromModel("num_classes")), ("sparse_y_pred", False)),
    ),
    Metric(
        "MeanSquaredError",
        "mean_squared_error",
        _REGRESSION,
        "average squared error",
        aliases=("mse",),
    ),
    Metric(
        "MeanSquaredLogarithmicError",
        "mean_squared_logarithmic_error",
        ("positive_regression",),
        "positive targets",
        aliases=("msle",),
    ),
    Metric(
        "OneHotIoU",
        "one_hot_io_u",
        ("multiclass_onehot",),
        "IoU of class 0 (edit target_class_ids)",
        arguments=(
            ("num_classes", FromModel("num_classes")),
            ("target_class_ids", (0,)),
        ),
    ),
    Metric(
        "OneHotMeanIoU",
        "one_hot_mean_io_u",
        ("multiclass_onehot",),
        "mean IoU over classes",
        arguments=(("num_classes", FromModel("num_classes")),),
    ),
    Metric(
        "PearsonCorrelation",
        "pearson_correlation",
        _REGRESSION,
        "correlation per output over each batch; no sample_weight",
        arguments=_BATCH_AXIS,
    ),
    Metric("Poisson", "poisson", ("positive_regression",), "counts or rates"),
    Metric("Precision", "precision", _BINARY_LIKE, _THRESHOLD_METRICS_NOTE),
    Metric(
        "PrecisionAtRecall",
        "precision_at_recall",
        _BINARY_LIKE,
        "precision at recall 0.5",
        arguments=(("recall", 0.5),),
    ),
    Metric("R2Score", "r2_score", _REGRESSION, "coefficient of determination"),
    Metric("Recall", "recall", _BINARY_LIKE, _THRESHOLD_METRICS_NOTE),
    Metric(
        "RecallAtPrecision",
        "recall_at_precision",
        _BINARY_LIKE,
        "recall at precision 0.5",
        arguments=(("precision", 0.5),),
    ),
    Metric(
        "RootMeanSquaredError",
        "root_mean_squared_error",
        _REGRESSION,
        "square root of the MSE",
        aliases=("rmse",),
    ),
    Metric(
        "SensitivityAtSpecificity",
        "sensitivity_at_specificity",
        _BINARY_LIKE,
        "sensitivity at specificity 0.5",
        arguments=(("specificity", 0.5),),
    ),
    Metric(
        "SparseCategoricalAccuracy",
        "sparse_categorical_accuracy",
        ("multiclass_sparse",),
        "argmax matches the integer target",
    ),
    Metric(
        "SparseCategoricalCrossentropy",
        "sparse_categorical_crossentropy",
        ("multiclass_sparse",),
        "log loss",
    ),
    Metric(
        "SparseTopKCategoricalAccuracy",
        "sparse_top_k_categorical_accuracy",
        ("multiclass_sparse",),
        "target among the top k (k = min(5, num_classes - 1))",
        arguments=_K,
    ),
    Metric(
        "SpecificityAtSensitivity",
        "specificity_at_sensitivity",
        _BINARY_LIKE,
        "specificity at sensitivity 0.5",
        arguments=(("sensitivity", 0.5),),
    ),
    Metric("SquaredHinge", "squared_hinge", ("binary_margin",), "-1/1 targets"),
    Metric(
        "TopKCategoricalAccuracy",
        "top_k_categorical_accuracy",
        ("multiclass_onehot",),
        "target among the top k (k = min(5, num_classes - 1))",
        arguments=_K,
    ),
    Metric("TrueNegatives", "true_negatives", _BINARY_LIKE, _THRESHOLD_METRICS_NOTE),
    Metric("TruePositives", "true_positives", _BINARY_LIKE, _THRESHOLD_METRICS_NOTE),
)

# Keras metrics not offered: those that do not take (y_true, y_pred), and Accuracy
# (exact equality), which `compile(metrics=["accuracy"])` never means either: the
# names "accuracy" and "acc" resolve by shape (SHAPE_RESOLVED_METRICS).
EXCLUDED_METRICS = ("Accuracy", "Mean", "MeanMetricWrapper", "Metric", "Sum")

# Names that Keras's `compile` resolves from the shapes of the output (the task's
# shape_family): "accuracy"/"acc" as metrics, "crossentropy"/"ce" as losses (the
# generator accepts them as metrics too). The metric logs under the name given.
_ACCURACY = {
    "binary": "binary_accuracy",
    "categorical": "categorical_accuracy",
    "sparse": "sparse_categorical_accuracy",
}
_CROSSENTROPY = {
    "binary": "binary_crossentropy",
    "categorical": "categorical_crossentropy",
    "sparse": "sparse_categorical_crossentropy",
}
SHAPE_RESOLVED_METRICS = {
    "accuracy": _ACCURACY,
    "acc": _ACCURACY,
    "crossentropy": _CROSSENTROPY,
    "ce": _CROSSENTROPY,
}

OPTIMIZERS: tuple[tuple[str, str], ...] = (
    ("Adadelta", "adadelta"),
    ("Adafactor", "adafactor"),
    ("Adagrad", "adagrad"),
    ("Adam", "adam"),
    ("AdamW", "adamw"),
    ("Adamax", "adamax"),
    ("Ftrl", "ftrl"),
    ("Lamb", "lamb"),
    ("Lion", "lion"),
    ("Nadam", "nadam"),
    ("RMSprop", "rmsprop"),
    ("SGD", "sgd"),
)

# `--optimizer optax:NAME`: optax's optimizers (functions of `optax`) that take a
# learning rate as their first argument and whose state is arrays of numbers, so
# that it can live in Keras variables (`OptaxOptimizer`). Not here: lbfgs and
# polyak_sgd (their update needs the loss value), noisy_sgd (a PRNG key in its
# state), the optimistic ones (for min-max games; booleans in their state).
# tests/generated/test_optax.py checks each against the installed optax.
OPTAX_PREFIX = "optax:"
OPTAX_OPTIMIZERS: tuple[str, ...] = (
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "amsgrad",
    "fromage",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "nadamw",
    "novograd",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
    "sign_sgd",
    "signum",
    "sm3",
    "yogi",
)

MODEL_TYPES = ("sequential", "functional", "subclassed")


def _names(entry: Entry) -> tuple[str, ...]:
    return (entry.snake_name, entry.class_name, *entry.aliases)


_Entry = TypeVar("_Entry", bound=Entry)


def name_index(entries: Iterable[_Entry]) -> dict[str, _Entry]:
    """Lower-cased accepted name -> entry (class name, snake_case name, aliases)."""
    index: dict[str, _Entry] = {}
    for entry in entries:
        for name in _names(entry):
            index[name.lower()] = entry
    return index


LOSS_INDEX = name_index(LOSSES)
METRIC_INDEX = name_index(METRICS)
OPTIMIZER_INDEX = {
    name.lower(): cls for cls, snake in OPTIMIZERS for name in (cls, snake)
}


def compatible_metrics(task: str) -> tuple[Metric, ...]:
    return tuple(m for m in METRICS if task in m.tasks)
