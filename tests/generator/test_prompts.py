"""Interactive mode: every missing answer is asked, validated and re-asked when bad.

Most tests run the app in-process with ``CliRunner`` after making
``prompts.stdin_is_terminal`` say yes; one drives ``python -m keras_jax_scaffold new``
through a real pseudo-terminal.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time

import pytest
from keras_jax_scaffold import catalog, prompts, recipes
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.spec import ANSWER_INDEX, Answers, build_spec

from tests.helpers.cli import invoke
from tests.helpers.cli import new_module as no_input

PROMPTS = {
    "name": "Module name (a Python identifier)",
    "project": "Write a module (NAME.py) or an installable project (NAME/)",
    "model_type": "Model type [sequential/functional/subclassed] [functional]",
    "loss": "Loss (a number or a name)",
    "task": "Task [",
    "metrics": "Metrics (numbers or names, comma-separated; 'none' for no metric)",
    "optimizer": "Optimizer (a Keras one, or optax:NAME) [adam]",
    "learning_rate": "Learning rate [0.001]",
    "input_shape": "Input shape (",
    "num_classes": "Number of classes [3]",
    "output_units": "Output units [",
    "hidden_units": "Hidden units [32]",
    "recipe": "Recipe (see `keras-jax-scaffold recipes`)",
    "outputs": "Outputs (NAME:LOSS[@TASK][:WEIGHT], comma-separated;",
    "inputs": "Inputs (NAME:SHAPE, space-separated",
    "rho": "--rho (",
}


DEFAULT_RECIPE = recipes.RECIPE_INDEX["default"]


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(prompts, "stdin_is_terminal", lambda: True)


def interact(*args, answers):
    """Run the app in-process, typing ``answers`` (one per line)."""
    return invoke(*args, input="".join(f"{answer}\n" for answer in answers))


def asked(output: str) -> list[str]:
    """The questions in ``output``, in order, repeats included."""
    found = []
    for line in output.splitlines():
        for key, prompt in PROMPTS.items():
            if line.startswith(prompt):
                found.append(key)
    return found


def metric_classes(text: str) -> list[str]:
    return re.findall(r"keras\.metrics\.(\w+)\(", text)


def test_every_answer_is_asked_and_bad_answers_are_reasked(tmp_path, terminal):
    out = tmp_path / "out"
    result = interact(
        "new",
        "-o",
        out,
        answers=[
            "class",  # keyword
            "my_net",
            "modul",  # neither module nor project
            "m",  # module
            "samm",  # typo
            "sam",
            "-1",  # rho below 0
            "0.1",
            "sequental",  # typo
            "sequential",
            "mean_sqared_error",  # typo
            "mse",
            "",  # task: regression (mse fits positive_regression too)
            "foo",  # unknown metric
            "accuracy",  # does not fit mse
            "99",  # out of range
            "4,r2_score",
            "adm",  # typo
            "sgd",
            "-1",
            "abc",
            "0.01",
            "8,8",  # wrong rank
            "4",
            "x",
            "0",
            "2",  # output units
            "0",
            "16",  # hidden units
        ],
    )
    assert result.exit_code == 0, result.output
    assert asked(result.stdout) == [
        "name",
        "name",
        "project",
        "project",
        "recipe",
        "recipe",
        "rho",
        "rho",
        "model_type",
        "model_type",
        "loss",
        "loss",
        "task",
        *["metrics"] * 4,
        "optimizer",
        "optimizer",
        *["learning_rate"] * 3,
        "input_shape",
        "input_shape",
        *["output_units"] * 3,
        "hidden_units",
        "hidden_units",
    ]
    # Each bad answer is explained, on stderr, before it is asked again.
    for reason in [
        "invalid name 'class': it is a Python keyword",
        "invalid module or project 'modul': answer module or project",
        "unknown model type 'sequental' (did you mean 'sequential'?)",
        "unknown loss 'mean_sqared_error' (did you mean 'mean_squared_error'?)",
        "unknown metric 'foo'",
        "metric 'accuracy' does not fit loss 'mean_squared_error'",
        "no metric number 99: choose 1 to 8",
        "unknown optimizer 'adm' (did you mean 'adam'?)",
        "invalid learning rate -1.0",
        "invalid learning rate 'abc'",
        "task regression takes vector inputs of rank 1",
        "invalid output units 'x'",
        "invalid output units 0",
        "invalid hidden units 0",
        "unknown recipe 'samm' (did you mean 'sam'?)",
        "invalid --rho -1.0: must be at least 0.0",
    ]:
        assert reason in result.stderr, reason
    assert "error:" not in result.stderr
    target = out / "my_net.py"
    assert re.search(
        rf"^\s*create\s+{re.escape(str(target))}$", result.stdout, re.MULTILINE
    )
    text = target.read_text(encoding="utf-8")
    assert "class MyNet(keras.Sequential):" in text
    assert "loss=keras.losses.MeanSquaredError()" in text
    assert metric_classes(text) == ["MeanAbsoluteError", "R2Score"]
    assert "keras.optimizers.SGD(learning_rate=0.01)" in text
    assert "INPUT_SHAPE = (4,)" in text
    assert "OUTPUT_UNITS = 2" in text
    assert "HIDDEN_UNITS = 16" in text
    assert "rho = 0.1" in text


def test_enter_everywhere_gives_the_no_input_defaults(tmp_path, terminal):
    out = tmp_path / "out"
    result = interact("new", "-o", out, answers=["demo"] + [""] * 13)
    assert result.exit_code == 0, result.output
    # A functional model: named outputs and inputs are asked too (Enter: one
    # unnamed output and input, the questions that follow as before).
    assert asked(result.stdout) == [
        "name",
        "project",
        "recipe",
        "model_type",
        "outputs",
        "loss",
        "metrics",
        "optimizer",
        "learning_rate",
        "inputs",
        "input_shape",
        "num_classes",
        "hidden_units",
    ]
    assert (out / "demo.py").read_text(encoding="utf-8") == no_input(tmp_path)


def test_only_answers_not_given_as_flags_are_asked(tmp_path, terminal):
    out = tmp_path / "out"
    result = interact(
        "new",
        "demo",
        "-o",
        out,
        "--loss",
        "bce",
        "-m",
        "auc",
        "--recipe",
        "default",
        answers=[
            "",
            "subclassed",
            "multilabel",
            "adamw",
            "0.01",
            "none",
            "10",
            "4",
            "8",
        ],
    )
    assert result.exit_code == 0, result.output
    # --loss given: one unnamed output, so the outputs are not asked; the inputs are.
    assert asked(result.stdout) == [
        "project",
        "model_type",
        "task",
        "optimizer",
        "learning_rate",
        "inputs",
        "input_shape",
        "num_classes",
        "hidden_units",
    ]
    # The choices are shown with the question.
    assert "Task [binary/multilabel/segmentation] [binary]:" in result.stdout
    assert "Input shape (vector) [16]:" in result.stdout
    text = (out / "demo.py").read_text(encoding="utf-8")
    assert "class Demo(keras.Model):" in text and "def call(self" in text
    assert metric_classes(text) == ["AUC"]
    assert "keras.optimizers.AdamW(learning_rate=0.01)" in text
    assert "INPUT_SHAPE = (10,)" in text
    assert "NUM_CLASSES = 4" in text
    assert "HIDDEN_UNITS = 8" in text


def test_task_and_classes_are_asked_even_when_the_main_flags_are_given(
    tmp_path, terminal
):
    out = tmp_path / "out"
    flags = [
        "--no-project", "--model-type", "functional", "--loss", "bce", "-m", "auc",
        "--optimizer", "adam", "--learning-rate", "0.001", "--input-shape", "16",
        "--hidden-units", "32", "--recipe", "default",
    ]  # fmt: skip
    result = interact("new", "demo", "-o", out, *flags, answers=["multilabel", "6"])
    assert result.exit_code == 0, result.output
    assert asked(result.stdout) == ["task", "num_classes"]
    assert "NUM_CLASSES = 6" in (out / "demo.py").read_text(encoding="utf-8")


def test_metric_menu_offers_only_metrics_that_fit_the_loss(tmp_path, terminal):
    out = tmp_path / "out"
    result = interact(
        "new",
        "demo",
        "-o",
        out,
        "--model-type",
        "functional",
        "--loss",
        "mse",
        "--task",
        "regression",
        answers=[
            "",
            "",
            "2, r2_score,2",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],  # project, recipe
    )
    assert result.exit_code == 0, result.output
    offered = catalog.compatible_metrics("regression")
    menu = re.findall(r"^\s+(\d+)\. (\w+)", result.stdout, re.MULTILINE)
    assert menu == [(str(i), m.snake_name) for i, m in enumerate(offered, start=1)]
    assert "Metrics that fit mean_squared_error (regression):" in result.stdout
    assert "binary_accuracy" not in result.stdout
    assert f"{PROMPTS['metrics']} [mean_absolute_error]:" in result.stdout
    text = (out / "demo.py").read_text(encoding="utf-8")
    # Numbers and names mix; repeats are dropped, the order is kept.
    assert metric_classes(text) == ["CosineSimilarity", "R2Score"]


@pytest.mark.parametrize(
    ("loss", "task"),
    [("bce", "binary"), ("categorical_crossentropy", "multiclass_onehot")],
)
def test_metric_menu_follows_the_chosen_loss(tmp_path, terminal, loss, task):
    result = interact("new", "demo", "-o", tmp_path, "--loss", loss, answers=[""] * 12)
    assert result.exit_code == 0, result.output
    menu = re.findall(r"^\s+\d+\. (\w+)", result.stdout, re.MULTILINE)
    assert menu == [m.snake_name for m in catalog.compatible_metrics(task)]


def test_metric_none_at_the_prompt(tmp_path, terminal):
    result = interact(
        "new",
        "demo",
        "-o",
        tmp_path,
        "--model-type",
        "functional",
        "--loss",
        "mse",
        "--task",
        "regression",
        answers=["", "", "none"] + [""] * 7,  # project, recipe: Enter
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "demo.py").read_text(encoding="utf-8")
    assert metric_classes(text) == []


def test_no_metric_question_when_none_fits(tmp_path, terminal):
    result = interact("new", "demo", "-o", tmp_path, "--loss", "ctc", answers=[""] * 8)
    assert result.exit_code == 0, result.output
    assert "metrics" not in asked(result.stdout)
    assert "No built-in metric fits sequence_ctc" in result.stdout
    assert "Input shape (sequence) [12,8]:" in result.stdout


def test_bad_flag_fails_before_any_question(tmp_path, terminal):
    for flags in (
        ["class"],
        ["demo", "--learning-rate", "0"],
        ["demo", "--loss", "mse", "--task", "regression", "-m", "accuracy"],
        ["demo", "--optimizer", "adm"],
    ):
        result = interact("new", "-o", tmp_path, *flags, answers=[""] * 12)
        assert result.exit_code != 0, flags
        assert asked(result.stdout) == [], (flags, result.stdout)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert list(tmp_path.iterdir()) == []


def test_end_of_input_cancels_and_writes_nothing(tmp_path, terminal):
    out = tmp_path / "out"
    result = interact("new", "demo", "-o", out, answers=["sequential"])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "error: cancelled; nothing was written"
    assert not out.exists()


# --------------------------------------------------------------------------- units


def test_missing_flags():
    # The questions of a session in which Enter takes every default.
    assert prompts.missing_flags(Answers()) == [
        "NAME",
        "--project",
        "--recipe",
        "--model-type",
        "--output",
        "--loss",
        "--metric",
        "--optimizer",
        "--learning-rate",
        "--input",
        "--input-shape",
        "--num-classes",
        "--hidden-units",
    ]
    full = {
        "name": "demo",
        "project": False,
        "model_type": "functional",
        "metrics": (),
        "optimizer": "adam",
        "learning_rate": 0.1,
        "input_shape": "16",
        "hidden_units": 8,
        "recipe": "default",
    }
    # mae fits two tasks: the task is asked, then (its default: regression) the
    # output units.
    assert prompts.missing_flags(Answers(loss="mae", **full)) == [
        "--task",
        "--output-units",
    ]
    regression = {"loss": "mse", "task": "regression", **full}
    assert prompts.missing_flags(Answers(**regression)) == ["--output-units"]
    assert prompts.missing_flags(Answers(output_units=1, **regression)) == []
    assert prompts.missing_flags(Answers(loss="bce", **full)) == ["--task"]
    assert prompts.missing_flags(Answers(loss="bce", task="multilabel", **full)) == [
        "--num-classes"
    ]
    assert prompts.missing_flags(Answers(loss="scce", **full)) == []  # bad loss:
    # reported by the pipeline, not as a missing answer.


def test_parse_metric_choice():
    resolved = {
        "loss": catalog.LOSS_INDEX["mse"],
        "task": catalog.TASKS["regression"],
        "recipe": DEFAULT_RECIPE,
    }
    question = ANSWER_INDEX["metrics"]
    offered = question.offered(resolved)
    assert [name for name, _ in offered] == [
        m.snake_name for m in catalog.compatible_metrics("regression")
    ]

    def parse(text):
        return prompts.parse_choice(text, question, offered, resolved)

    assert parse("none") == ()
    assert parse("1") == (offered[0][0],)
    # A name is kept as given (it is the log key); repeats are dropped.
    assert parse("mae, 1 ,mae") == ("mae", offered[0][0])
    with pytest.raises(UserError, match="no metric number 0: choose 1 to"):
        parse("0")
    with pytest.raises(UserError, match="does not fit"):
        parse("auc")


def test_parse_loss_choice():
    question = ANSWER_INDEX["loss"]
    resolved = {"recipe": DEFAULT_RECIPE}
    offered = question.offered(resolved)
    assert [name for name, _ in offered] == [loss.snake_name for loss in catalog.LOSSES]

    def parse(text):
        return prompts.parse_choice(text, question, offered, resolved)

    assert parse("1") == catalog.LOSSES[0].snake_name
    assert parse("MSE") == "mean_squared_error"
    with pytest.raises(UserError, match="no loss number 99"):
        parse("99")
    with pytest.raises(UserError, match="did you mean 'mean_squared_error'"):
        parse("mean_sqared_error")


def test_loss_question_is_a_numbered_menu_like_the_metrics(tmp_path, terminal):
    # Module or project, recipe, model type and outputs: Enter (a module, default,
    # functional, one unnamed output); loss: 4.
    result = interact(
        "new", "demo", "-o", tmp_path, answers=["", "", "", "", "4"] + [""] * 8
    )
    assert result.exit_code == 0, result.output
    menu = re.findall(r"^\s+(\d+)\. (\w+)", result.stdout, re.MULTILINE)
    losses = [loss.snake_name for loss in catalog.LOSSES]
    assert menu[: len(losses)] == [
        (str(i), name) for i, name in enumerate(losses, start=1)
    ]
    chosen = catalog.LOSSES[3]
    text = (tmp_path / "demo.py").read_text(encoding="utf-8")
    assert f"loss=keras.losses.{chosen.class_name}()" in text


# --------------------------------------------------------------------------- real pty


class Terminal:
    """A child process on a pseudo-terminal, driven like a person at the keyboard."""

    def __init__(self, args, cwd, timeout=60.0):
        import pty  # noqa: F401  (POSIX only; the test is skipped elsewhere)

        self.master, slave = os.openpty()
        env = {**os.environ, "TERM": "dumb", "COLUMNS": "100", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        os.close(slave)
        self.deadline = time.monotonic() + timeout
        self.output = ""
        self.position = 0

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str) -> None:
        """Read until ``text`` appears after what was already matched."""
        while True:
            found = self.output.find(text, self.position)
            if found >= 0:
                self.position = found + len(text)
                return
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {text!r}:\n{self.output}")
            if not self._read(min(remaining, 0.5)) and self.process.poll() is not None:
                raise AssertionError(f"exited before {text!r}:\n{self.output}")

    def send(self, line: str) -> None:
        os.write(self.master, f"{line}\n".encode())

    def finish(self) -> int:
        while time.monotonic() < self.deadline:
            if not self._read(0.2) and self.process.poll() is not None:
                break
        return self.process.wait(timeout=max(1.0, self.deadline - time.monotonic()))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self.master)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pseudo-terminal")
def test_real_terminal_session(tmp_path):
    out = tmp_path / "out"
    terminal = Terminal(
        [sys.executable, "-m", "keras_jax_scaffold", "new", "-o", str(out)],
        cwd=tmp_path,
    )
    try:
        for prompt, answer in [
            (PROMPTS["name"], "pty_model"),
            (f"{PROMPTS['project']} [module/project] [module]", ""),
            (PROMPTS["recipe"], ""),
            (PROMPTS["model_type"], "sequential"),
            (PROMPTS["loss"], "mean_sqared_error"),  # typo: re-asked
            ("did you mean 'mean_squared_error'?", None),
            (PROMPTS["loss"], "mse"),
            (PROMPTS["task"], ""),
            ("Metrics that fit mean_squared_error (regression):", None),
            (PROMPTS["metrics"], "accuracy"),  # does not fit: re-asked
            ("does not fit loss 'mean_squared_error'", None),
            (PROMPTS["metrics"], "1,rmse"),
            (PROMPTS["optimizer"], ""),
            (PROMPTS["learning_rate"], "0.01"),
            ("Input shape (vector) [16]", "6"),
            ("Output units [1]", "2"),
            (PROMPTS["hidden_units"], ""),
            ("create", None),
        ]:
            terminal.expect(prompt)
            if answer is not None:
                terminal.send(answer)
        assert terminal.finish() == 0, terminal.output
    finally:
        terminal.close()
    assert "Traceback" not in terminal.output
    text = (out / "pty_model.py").read_text(encoding="utf-8")
    assert "class PtyModel(keras.Sequential):" in text
    assert "loss=keras.losses.MeanSquaredError()" in text
    first = catalog.compatible_metrics("regression")[0].class_name
    assert metric_classes(text) == [first, "RootMeanSquaredError"]
    assert "keras.optimizers.Adam(learning_rate=0.01)" in text
    assert "INPUT_SHAPE = (6,)" in text
    assert "OUTPUT_UNITS = 2" in text


def test_prompted_answers_keep_template_variables(tmp_path, terminal):
    """Answers asked at the prompt are merged with --var, not replacing it."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "module.py.jinja").write_text(
        '{% extends "builtin/module.py.jinja" %}\n'
        "{% block imports %}{{ super() }}\nCLIP = {{ vars.clip }}\n{% endblock %}\n"
    )
    out = tmp_path / "out"
    result = interact(
        "new",
        "demo",
        "-o",
        out,
        "-t",
        templates,
        "--var",
        "clip=2.5",
        answers=[""] * 13,
    )
    assert result.exit_code == 0, result.output
    assert "model_type" in asked(result.stdout)
    assert "\nCLIP = 2.5\n" in (out / "demo.py").read_text(encoding="utf-8")


def test_named_outputs_and_inputs_are_asked_as_lists(tmp_path, terminal):
    """Outputs (comma-separated) and inputs (space-separated) are asked like any
    answer: a bad item is re-asked with the reason; named outputs replace the loss
    and task questions, named inputs the input shape."""
    out = tmp_path / "out"
    result = interact(
        "new",
        "two",
        "-o",
        out,
        "--optimizer",
        "adam",
        "--learning-rate",
        "0.001",
        "--recipe",
        "default",
        answers=[
            "",  # a module
            "subclassed",
            "label:sparse_categorical_crossentropy, box:mse:-1",  # bad weight
            "label:sparse_categorical_crossentropy, box:msee",  # typo
            "label:sparse_categorical_crossentropy, box:mse:0.5",
            "accuracy",  # names no output
            "label:accuracy, box:mae",
            "features:6 image:4,3,0",  # bad shape
            "features:6 image:4,3",
            "",  # classes
            "2",  # output units
            "",  # hidden units
        ],
    )
    assert result.exit_code == 0, result.output
    assert asked(result.stdout) == [
        "project",
        "model_type",
        *["outputs"] * 3,
        *["metrics"] * 2,
        *["inputs"] * 2,
        "num_classes",
        "output_units",
        "hidden_units",
    ]
    for reason in (
        "invalid --output 'box:mse:-1': WEIGHT '-1' must be a non-negative number",
        "unknown loss 'msee' (did you mean 'mse'?)",
        "metric 'accuracy' names no output: with several outputs write OUTPUT:METRIC",
        "invalid --input 'image:4,3,0': SHAPE '4,3,0' must be positive integers",
    ):
        assert reason in result.stderr, reason
    text = (out / "two.py").read_text(encoding="utf-8")
    header = re.search(r"^    (keras-jax-scaffold new .*)$", text, re.MULTILINE)[1]
    assert "--output label:sparse_categorical_crossentropy@multiclass_sparse:1.0" in (
        header
    )
    assert "--output box:mean_squared_error@regression:0.5" in header
    assert "--input features:6 --input image:4,3" in header
    assert "--metric label:accuracy --metric box:mae" in header
    assert '"box": 0.5,' in text and "OUTPUT_UNITS = 2" in text
    assert metric_classes(text) == ["SparseCategoricalAccuracy", "MeanAbsoluteError"]


def test_module_or_project_is_asked_first_and_the_flags_skip_it(tmp_path, terminal):
    """Interactively `new` asks whether to write a module or a project (default: the
    module); `project` (or `p`) writes the project, --project/--no-project skip the
    question."""
    result = interact("new", "demo", "-o", tmp_path, answers=["project"] + [""] * 12)
    assert result.exit_code == 0, result.output
    assert asked(result.stdout)[0] == "project"
    assert f"{PROMPTS['project']} [module/project] [module]:" in result.stdout
    assert (tmp_path / "demo" / "src" / "demo" / "train.py").is_file()
    for flag, written in (
        ("--project", "two/pyproject.toml"),
        ("--no-project", "three.py"),
    ):
        name = written.split("/")[0].removesuffix(".py")
        result = interact("new", name, "-o", tmp_path, flag, answers=[""] * 12)
        assert result.exit_code == 0, result.output
        assert "project" not in asked(result.stdout) and (tmp_path / written).is_file()


@pytest.mark.parametrize("recipe", [r.name for r in recipes.RECIPES])
def test_every_recipe_works_with_no_input_and_its_first_loss(tmp_path, recipe):
    """A recipe that takes some losses only defaults to its first (and the metrics
    to that task's usual ones, or none for a recipe without metrics); one with its
    own loss (wgan-gp) writes no --loss or --task."""
    result = invoke("new", "demo", "--recipe", recipe, "--no-input", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    entry = recipes.RECIPE_INDEX[recipe]
    loss = entry.losses[0] if entry.losses else "sparse_categorical_crossentropy"
    header = (tmp_path / "demo.py").read_text(encoding="utf-8").splitlines()[4]
    if entry.own_loss:
        assert " --loss " not in header and " --task " not in header, header
    else:
        assert f" --loss {loss} " in header
    spec = build_spec(Answers(name="demo", recipe=recipe))
    assert spec.loss.snake_name == loss and spec.model_type == "functional"
    usual = spec.task.default_metrics if entry.takes_metrics else ()
    assert tuple(m.snake_name for m in spec.metrics) == usual
    assert ("--metric" in header) == bool(usual)


def test_the_prompts_offer_only_the_recipes_losses(tmp_path, terminal):
    """vae: the loss menu lists its six losses, Enter takes the first; gan: one loss,
    not asked, and no metric question."""
    result = interact(
        "new", "demo", "-o", tmp_path / "vae", "--recipe", "vae", answers=[""] * 12
    )
    assert result.exit_code == 0, result.output
    menu = re.findall(r"^\s+\d+\. (\w+)", result.stdout, re.MULTILINE)
    vae_losses = recipes.RECIPE_INDEX["vae"].losses
    assert menu[: len(vae_losses)] == list(vae_losses)
    assert "sparse_categorical_crossentropy" not in result.stdout
    assert "Model type [functional/subclassed] [functional]" in result.stdout
    text = (tmp_path / "vae" / "demo.py").read_text(encoding="utf-8")
    assert "--loss mean_squared_error" in text.splitlines()[4]

    result = interact(
        "new", "demo", "-o", tmp_path / "gan", "--recipe", "gan", answers=[""] * 12
    )
    assert result.exit_code == 0, result.output
    assert "loss" not in asked(result.stdout) and "metrics" not in asked(result.stdout)
    assert "No built-in metric" not in result.stdout
    text = (tmp_path / "gan" / "demo.py").read_text(encoding="utf-8")
    assert "--loss binary_crossentropy" in text.splitlines()[4]
