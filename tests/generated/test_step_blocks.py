"""The blocks an algorithm needs (`transform_batch`, `after_update`,
`evaluation_weights`) and the named state views (`values_by_path`, `values_in_order`):
where they land in the generated steps, what the default renders, and the views'
behaviour and errors. The worked examples in tests/generated/test_algorithm_examples.py train
with them."""

from __future__ import annotations

import re

import numpy as np
import pytest
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import support


def _render(tmp_path, steps_template="", layout="module", **answers):
    """The rendered module (or a project's steps.py) with ``steps_template`` as the
    body of an override of partials/steps.py.jinja (none if empty)."""
    templates = ()
    if steps_template:
        directory = tmp_path / "templates"
        (directory / "partials").mkdir(parents=True, exist_ok=True)
        (directory / "partials" / "steps.py.jinja").write_text(
            '{% extends "builtin/partials/steps.py.jinja" %}\n' + steps_template
        )
        templates = (directory,)
    spec = build_spec(Answers(name="blocks_demo", **answers))
    files = render_spec(spec, templates, layout=layout)
    if layout == "project":
        return files["src/blocks_demo/steps.py"]
    return files["blocks_demo.py"]


def _method(text, name):
    """The source of method ``name`` of the generated class."""
    match = re.search(
        rf"\n    def {name}\(.*?(?=\n    def |\n\n\n|\Z)", text, re.DOTALL
    )
    assert match, name
    return match.group(0)


def test_default_blocks_are_comments_and_keep_keras_step(tmp_path):
    """By default the new blocks are marked comments (and `evaluation_variables =
    trainable_variables`): no scope, no extra code."""
    text = _render(tmp_path)
    train = _method(text, "train_step")
    assert "StatelessScope" not in train
    assert "# Custom algorithm: transform the batch" in train
    assert "# Custom algorithm: change the weights after the update" in train
    assert train.index("transform the batch") < train.index("value_and_grad")
    assert train.index("stateless_apply") < train.index("after the update")
    for step in ("test_step", "predict_step"):
        source = _method(text, step)
        assert "evaluation_variables = trainable_variables" in source
        # The forward pass reads the evaluation weights; the state keeps the others.
        assert re.search(r"\(\n\s+evaluation_variables,", source), step
    assert (
        "state = (trainable_variables, non_trainable_variables, metrics_variables)"
        in _method(text, "test_step")
    )


def test_transform_batch_runs_in_a_scope_that_threads_the_seed_state(tmp_path):
    """A non-empty `transform_batch` is wrapped in a stateless scope over the
    trainable and non-trainable variables, whose updated non-trainable values (seed
    generators) go on into the forward pass."""
    text = _render(
        tmp_path,
        "{% block transform_batch %}\nx = x * 2.0\n{% endblock %}\n",
    )
    train = _method(text, "train_step")
    scope = train.index("with keras.StatelessScope(state_mapping) as scope:")
    assert train.index("x = x * 2.0") > scope
    assert train.index("scope.get_current_value(v)") > train.index("x = x * 2.0")
    assert train.index("scope.get_current_value(v)") < train.index("value_and_grad")
    assert "# Custom algorithm: transform the batch (" not in train


def test_evaluation_weights_is_one_block_for_both_steps(tmp_path):
    text = _render(
        tmp_path,
        "{% block evaluation_weights %}\n"
        "evaluation_variables = [v * 0.5 for v in trainable_variables]\n"
        "{% endblock %}\n",
    )
    for step in ("test_step", "predict_step"):
        source = _method(text, step)
        assert "evaluation_variables = [v * 0.5 for v in trainable_variables]" in source
        assert "evaluation_variables = trainable_variables" not in source


@pytest.mark.parametrize("model_type", ["sequential", "functional", "subclassed"])
def test_blocks_are_in_the_project_steps_too(tmp_path, model_type):
    text = _render(
        tmp_path,
        "{% block transform_batch %}\nx = x * 2.0\n{% endblock %}\n"
        "{% block after_update %}\ntrainable_variables = list(trainable_variables)\n"
        "{% endblock %}\n",
        layout="project",
        model_type=model_type,
    )
    assert "with keras.StatelessScope(state_mapping) as scope:" in text
    assert "trainable_variables = list(trainable_variables)" in text
    assert "def values_by_path(variables, values):" in text
    assert "def values_in_order(variables, view):" in text


# -------------------------------------------------------------- named views


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    """The generated module's `values_by_path` and `values_in_order`."""
    module = support.generate(tmp_path_factory.mktemp("views"), "views_demo")
    return module.values_by_path, module.values_in_order


def _two_networks(first_name="encoder", second_name="decoder", layer_name=None):
    """A model whose two sub-models have a Dense layer each (named ``layer_name``
    in both when given)."""
    import keras

    def network(name):
        inputs = keras.Input((4,))
        outputs = keras.layers.Dense(4, name=layer_name)(inputs)
        return keras.Model(inputs, outputs, name=name)

    first, second = network(first_name), network(second_name)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, second(first(inputs)))
    return model, first, second


def test_views_name_the_state_and_go_back_for_sub_models(views):
    values_by_path, values_in_order = views
    model, first, second = _two_networks()
    values = [np.full(v.shape, i, "float32") for i, v in enumerate(model.weights)]
    view = values_by_path(model.weights, values)
    assert list(view) == [v.path for v in model.weights]
    assert values_in_order(model.weights, view) == values
    # A sub-model's values, from the view of the whole model, in its own order.
    for sub in (first, second):
        expected = [view[v.path] for v in sub.weights]
        assert values_in_order(sub.weights, view) == expected
    # Back again: the sub-model's new values replace its entries.
    new = {**view, **values_by_path(second.weights, [v * 0 for v in values[2:]])}
    back = values_in_order(model.weights, new)
    assert back[:2] == values[:2]
    assert all(np.all(v == 0) for v in back[2:])


def test_views_refuse_mismatched_lists_duplicate_paths_and_missing_entries(views):
    values_by_path, values_in_order = views
    model, first, _ = _two_networks()
    with pytest.raises(ValueError, match="4 variables but 3 values"):
        values_by_path(model.weights, [0, 1, 2])
    with pytest.raises(
        ValueError, match=re.escape(f"no value for {first.weights[0].path}")
    ):
        values_in_order(model.weights, {})
    twins, _, _ = _two_networks("a", "b", layer_name="same")
    with pytest.raises(ValueError, match="two variables have the path 'same/kernel'"):
        values_by_path(twins.weights, [0, 1, 2, 3])
