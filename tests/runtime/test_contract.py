"""The step contract (generator/runtime/contract.py), the checks of
`keras-jax-scaffold check` and of a project's tests/test_step_contract.py.

* Negative controls: every planted mistake (tests/helpers/check_plants.py, edits of
  the generated steps) is caught by its check, naming the variables and the line.
* False-positive control: no finding on the code every recipe generates for every
  model type it accepts, under mixed precision, with named inputs and outputs, and
  on the committed examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from keras_jax_scaffold import recipes
from keras_jax_scaffold.runtime import contract

from tests.helpers.check_plants import (
    MARKER,
    MODEL_TYPES,
    NEEDS,
    PLANTS,
    assert_caught,
    check_module,
    planted,
    render_module,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def default_source(tmp_path_factory):
    return render_module(tmp_path_factory.mktemp("default")).read_text(encoding="utf-8")


def test_every_check_has_a_plant_that_edits_the_steps(default_source):
    for plant in PLANTS:
        source = planted(default_source, plant)
        assert source != default_source and MARKER in source, plant.name
        compile(source, plant.name, "exec")
    assert {plant.check for plant in PLANTS} == {check.id for check in contract.CHECKS}


@pytest.mark.slow
@pytest.mark.parametrize("plant", PLANTS, ids=lambda plant: plant.name)
def test_planted_mistake_is_caught(tmp_path, default_source, plant):
    source = planted(default_source, plant)
    path = tmp_path / "demo.py"
    path.write_text(source, encoding="utf-8")
    assert_caught(plant, check_module(path).findings, source, path)


RECIPE_MODEL_TYPES = [
    (recipe.name, model_type)
    for recipe in recipes.RECIPES
    for model_type in MODEL_TYPES
    if model_type in recipe.model_types
]
MORE_CONFIGURATIONS = {
    "mixed_float16": {"dtype_policy": "mixed_float16"},
    "sam-mixed_float16": {"recipe": "sam", "dtype_policy": "mixed_float16"},
    "gan-mixed_bfloat16": {
        **NEEDS["gan"],
        "recipe": "gan",
        "dtype_policy": "mixed_bfloat16",
    },
    "optax-sam": {"recipe": "sam", "optimizer": "optax:adamw"},
    "optax-gan": {**NEEDS["gan"], "recipe": "gan", "optimizer": "optax:adam"},
    "named-inputs-and-outputs": {
        "outputs": (
            "label:sparse_categorical_crossentropy",
            "box:mse:0.5",
            "tags:bce@multilabel:0.2",
        ),
        "inputs": ("features:16", "image:8,8,3"),
        "metrics": ("label:accuracy", "box:mae", "tags:auc"),
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe, model_type", RECIPE_MODEL_TYPES)
def test_every_recipe_and_model_type_keeps_the_contract(tmp_path, recipe, model_type):
    path = render_module(
        tmp_path, recipe=recipe, model_type=model_type, **NEEDS.get(recipe, {})
    )
    report = check_module(path)
    assert report.findings == [], "\n".join(report.lines())
    several = recipes.RECIPE_INDEX[recipe].networks
    # wgan-gp's critic updates run in a jax.lax.scan: their gradients stay in it.
    in_loop = recipe == "wgan-gp"
    notes = [note for note in report.notes if "loop or branch" not in note]
    assert len(notes) == len(report.notes) - in_loop, report.notes
    assert [("several networks" in note) for note in notes] == (
        [True] if several else []
    ), report.notes


@pytest.mark.slow
@pytest.mark.parametrize("configuration", sorted(MORE_CONFIGURATIONS))
def test_more_configurations_keep_the_contract(tmp_path, configuration):
    report = check_module(render_module(tmp_path, **MORE_CONFIGURATIONS[configuration]))
    assert report.findings == [], "\n".join(report.lines())


EXAMPLES = sorted(
    str(path.relative_to(REPO / "examples"))
    for path in (REPO / "examples").rglob("*.py")
)


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_committed_examples_keep_the_contract(example):
    report = check_module(REPO / "examples" / example)
    assert report.findings == [], "\n".join(report.lines())


def test_docs_list_every_check_with_its_severity():
    text = (REPO / "docs" / "check.md").read_text(encoding="utf-8")
    rows = [
        line.split("|")[1:3]
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 5
    ]
    listed = [(name.strip().strip("`"), severity.strip()) for name, severity in rows]
    assert listed == [(check.id, check.severity) for check in contract.CHECKS]
