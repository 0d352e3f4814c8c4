"""Regenerate examples/ from the current templates: `python scripts/regen_examples.py`.

`--check` writes nothing and exits 1 when a committed example differs from what the
generator produces now (tests/generated/test_examples.py and
tests/generated/test_custom_example.py run the same comparison). Custom-template
examples (examples/custom_templates/) render with their template directory, as `new
--template-dir DIR --var ...` would.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from keras_jax_scaffold.pipeline import render_spec, spec_for_output
from keras_jax_scaffold.spec import Answers, build_spec

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

# One entry per example module: the answers `keras-jax-scaffold new` would get.
EXAMPLES = (
    Answers(
        name="sequential_classifier",
        model_type="sequential",
        loss="sparse_categorical_crossentropy",
        metrics=("accuracy", "sparse_top_k_categorical_accuracy"),
        num_classes=5,
    ),
    Answers(
        name="functional_regression",
        model_type="functional",
        loss="mse",
        metrics=("mean_absolute_error", "r2_score"),
        output_units=2,
    ),
    Answers(
        name="subclassed_binary",
        model_type="subclassed",
        loss="binary_crossentropy",
        metrics=("binary_accuracy", "auc"),
        optimizer="adamw",
    ),
    Answers(
        name="subclassed_segmentation",
        model_type="subclassed",
        loss="dice",
        metrics=("binary_io_u",),
    ),
    Answers(name="functional_ctc", model_type="functional", loss="ctc", metrics=()),
    Answers(
        name="sequential_embeddings", model_type="sequential", loss="circle", metrics=()
    ),
    # An optax optimizer under `fit` (docs/optimizers.md).
    Answers(name="functional_optax", model_type="functional", optimizer="optax:adamw"),
)


# Custom templates: (answers, template directory relative to examples/, output folder
# relative to examples/). See examples/custom_templates/README.md.
CUSTOM_EXAMPLES = (
    (
        Answers(
            name="clipped_classifier",
            model_type="functional",
            loss="sparse_categorical_crossentropy",
            metrics=("sparse_categorical_accuracy",),
            variables=(("clip_norm", "1.0"),),
        ),
        "custom_templates/clip_gradients",
        "custom_templates",
    ),
    (
        Answers(
            name="grad_norm_classifier",
            model_type="subclassed",
            loss="sparse_categorical_crossentropy",
            metrics=("sparse_categorical_accuracy",),
        ),
        "custom_templates/grad_norm",
        "custom_templates",
    ),
    # The worked examples of docs/own-algorithm.md (tests/generated/test_algorithm_examples.py).
    (
        Answers(
            name="mixup_classifier",
            model_type="sequential",
            loss="categorical_crossentropy",
            metrics=("categorical_accuracy",),
        ),
        "custom_templates/mixup",
        "custom_templates",
    ),
    (
        Answers(
            name="ema_classifier",
            model_type="functional",
            loss="sparse_categorical_crossentropy",
            metrics=("sparse_categorical_accuracy",),
        ),
        "custom_templates/ema",
        "custom_templates",
    ),
    (
        Answers(
            name="gradient_penalty_classifier",
            model_type="subclassed",
            loss="sparse_categorical_crossentropy",
            metrics=("sparse_categorical_accuracy",),
        ),
        "custom_templates/input_gradient_penalty",
        "custom_templates",
    ),
    (
        Answers(
            name="fgsm_classifier",
            model_type="functional",
            loss="sparse_categorical_crossentropy",
            metrics=("sparse_categorical_accuracy",),
        ),
        "custom_templates/fgsm",
        "custom_templates",
    ),
)


def render_examples() -> dict[str, str]:
    files: dict[str, str] = {}
    for answers in EXAMPLES:
        files.update(render_spec(build_spec(answers)))
    return files


def render_custom_examples() -> dict[str, str]:
    """``{path relative to examples/: source}`` for the custom-template examples."""
    files: dict[str, str] = {}
    for answers, template_dir, output in CUSTOM_EXAMPLES:
        # As `new --template-dir DIR` run in the output folder: the header names DIR
        # relative to it.
        given = replace(answers, template_dirs=(str(EXAMPLES_DIR / template_dir),))
        spec, template_dirs = spec_for_output(given, EXAMPLES_DIR / output)
        rendered = render_spec(spec, template_dirs)
        files.update({f"{output}/{name}": text for name, text in rendered.items()})
    return files


def main(argv: list[str]) -> int:
    files = {**render_examples(), **render_custom_examples()}
    if "--check" in argv:
        stale = [
            name
            for name, source in files.items()
            if not (EXAMPLES_DIR / name).exists()
            or (EXAMPLES_DIR / name).read_text() != source
        ]
        for name in stale:
            print(f"stale: examples/{name}")
        return 1 if stale else 0
    EXAMPLES_DIR.mkdir(exist_ok=True)
    for name, source in sorted(files.items()):
        (EXAMPLES_DIR / name).parent.mkdir(parents=True, exist_ok=True)
        (EXAMPLES_DIR / name).write_text(source)
        print(f"wrote examples/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
