# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""The step contract: what a model's `train_step`, `test_step` and `predict_step` must do
for `fit`, `evaluate` and `predict` to run them right.

`check_model(model, data)` runs each step as `fit` does (jitted, from the model's real
state, on a batch of `data` as `fit` feeds it) and returns a `Report` of `Finding`s,
each one line: where (file:line in your code), what, which variables (by path), why it
matters and the fix. `keras-jax-scaffold check` prints them; a project's
tests/test_step_contract.py asserts there are none. `CHECKS` lists every check and the
tool that does the work: JAX's own where it has one (`jax.jit(...).trace()` and its
jaxpr, the compiled executable's argument check, `jax.debug_nans`/`jax.debug_infs`,
`jax.tree`, `jax.Array.unsafe_buffer_pointer`), Keras's own built-in `train_step` for
the differential, and a recorder of Keras's `Variable` writes and of the gradients
given to `Optimizer.stateless_apply` while JAX traces the step.

Each step is traced twice (the constants of the two traces are compared: host
randomness differs), compiled once and run twice (the second call with the state the
first returned: it must fit the compiled step, or `fit` would compile again).

Keras internals used (Keras has no public handle for them): `Trainer._symbolic_build`
(builds the optimizer and metric variables as `fit` does before its first step), the
array data adapter (the batch exactly as `fit` feeds it),
`Optimizer._trainable_variables` (which variable each gradient belongs to) and
`Variable._direct_assign`/`_value` (writes outside a `StatelessScope`).
"""

import contextlib
import dataclasses
import inspect
import io
import os
import traceback
import warnings

import jax
import jax.extend
import keras
import numpy as np

# Samples per checked batch: enough for BatchNorm statistics, small enough to be quick.
BATCH_SIZE = 16
# Samples the check takes from make_dataset(): two batches.
NUM_SAMPLES = 2 * BATCH_SIZE

STEPS = ("train_step", "test_step", "predict_step")
# The state layout of each step, as in Keras's JAX trainer.
GROUPS = {
    "train_step": (
        "trainable_variables",
        "non_trainable_variables",
        "optimizer_variables",
        "metrics_variables",
    ),
    "test_step": (
        "trainable_variables",
        "non_trainable_variables",
        "metrics_variables",
    ),
    "predict_step": ("trainable_variables", "non_trainable_variables"),
}


@dataclasses.dataclass(frozen=True)
class Check:
    """One kind of finding: id, severity, what it catches, and the tool that finds it
    (where chex would have served, it says so: chex is not a dependency)."""

    id: str
    severity: str
    title: str
    tool: str


CHECKS = (
    Check(
        "assign-in-step",
        "error",
        "a Keras variable assigned inside a step (outside a StatelessScope)",
        "Keras: Variable._direct_assign recorded while JAX traces the step",
    ),
    Check(
        "state-not-threaded",
        "error",
        "non-trainable or optimizer state updated but not returned",
        "JAX: the traced jaxpr returns the input unchanged; Keras: the differential "
        "against the built-in train_step",
    ),
    Check(
        "metrics-not-threaded",
        "error",
        "metric state updated but not returned",
        "as state-not-threaded",
    ),
    Check(
        "all-zero-logs",
        "error",
        "the logs fit shows after the step are all zero",
        "Keras: Model.get_metrics_result over the returned metric state",
    ),
    Check(
        "iterations",
        "error",
        "the optimizer's iterations do not advance",
        "the returned optimizer state",
    ),
    Check(
        "host-randomness",
        "error",
        "host randomness baked into the compiled step (the same draw every step)",
        "JAX: the constants of two traces' jaxprs differ",
    ),
    Check(
        "host-array",
        "warning",
        "a host array written in the step is baked in (may be intended)",
        "JAX: a jaxpr constant whose first use is at a line of your code",
    ),
    Check(
        "frozen-variable",
        "error",
        "a Keras variable read outside the state (its value is baked in)",
        "JAX: jaxpr constants that are a variable's value",
    ),
    Check(
        "retrace",
        "error",
        "the step retraces on the next call with the same shapes",
        "JAX: the compiled executable's argument check (chex.assert_max_traces would "
        "count traces instead)",
    ),
    Check(
        "leaked-tracer",
        "error",
        "a tracer escapes the step (a nested jax.grad: use stateless_call)",
        "JAX: tracers among the jaxpr's constants, UnexpectedTracerError; tracers "
        "left in the attributes of the model, its layers and optimizers "
        "(jax.checking_leaks reports the same, but took minutes on a Keras model)",
    ),
    Check(
        "non-finite",
        "error",
        "non-finite loss, logs, state or gradients on the sample batch",
        "numpy on the outputs and gradients (chex.assert_tree_all_finite); "
        "jax.debug_nans/jax.debug_infs for the line",
    ),
    Check(
        "no-gradient",
        "warning",
        "a trainable variable receives a zero gradient (may be intended)",
        "the gradients given to Optimizer.stateless_apply",
    ),
    Check(
        "state-structure",
        "error",
        "state (or predict's outputs) returned with another structure, shape or dtype",
        "JAX: jax.typeof of the inputs against Traced.out_info "
        "(chex.assert_trees_all_equal_shapes_and_dtypes)",
    ),
    Check(
        "shared-buffer",
        "error",
        "two variables sharing one buffer",
        "JAX: jax.Array.unsafe_buffer_pointer",
    ),
    Check("step-fails", "error", "a step raises", "the exception's traceback"),
)
SEVERITY = {check.id: check.severity for check in CHECKS}


@dataclasses.dataclass(frozen=True)
class Finding:
    """`check` (an id of `CHECKS`), `where` (file:line) and `message` (what, which
    variables, why it matters, the fix)."""

    check: str
    where: str
    message: str

    @property
    def severity(self):
        return SEVERITY[self.check]

    def __str__(self):
        return f"{self.where}: {self.severity}: {self.message} [{self.check}]"


@dataclasses.dataclass
class Report:
    """The findings of `check_model`, and notes on what was not checked (and why)."""

    findings: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)

    @property
    def errors(self):
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self):
        return [f for f in self.findings if f.severity == "warning"]

    def lines(self):
        return [str(f) for f in self.findings] + [f"note: {n}" for n in self.notes]


# --------------------------------------------------------------------------
# Where: lines of the user's code
# --------------------------------------------------------------------------


def _directory(module):
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


_JAX = (_directory(jax), os.path.join(os.path.dirname(_directory(jax)), "jaxlib"))
_LIBRARIES = (
    _JAX
    + tuple(map(_directory, (keras, np, os, contextlib)))
    + (os.path.dirname(os.path.abspath(__file__)) + os.sep,)
)


def _shown(path, line):
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        relative = path
    return f"{path if relative.startswith('..') else relative}:{line}"


class _Locator:
    """file:line in the user's code: the innermost frame in `sources` (the checked
    module or project), else the innermost frame outside the libraries, else
    `default` (the step's definition)."""

    def __init__(self, sources, default):
        self.sources = {os.path.abspath(s) for s in sources}
        self.default = default

    def pick(self, frames):
        """`frames`: `(file, line)` pairs, outermost first."""
        frames = [(os.path.abspath(f), line) for f, line in frames if f]
        for path, line in reversed(frames):
            if path in self.sources:
                return _shown(path, line)
        for path, line in reversed(frames):
            if not path.startswith(_LIBRARIES) and not path.startswith("<"):
                return _shown(path, line)
        return self.default

    def of_stack(self):
        return self.pick([(f.filename, f.lineno) for f in traceback.extract_stack()])

    def of_exception(self, error):
        frames = traceback.extract_tb(error.__traceback__)
        return self.pick([(f.filename, f.lineno) for f in frames])

    def of_equation(self, equation):
        return self.pick(_equation_frames(equation))

    def written_at(self, equation):
        """file:line when the operation is written in `sources` itself (its
        innermost frame outside JAX is there), else None."""
        for path, line in reversed(_equation_frames(equation)):
            path = os.path.abspath(path)
            if path in self.sources:
                return _shown(path, line)
            if not path.startswith(_JAX):
                return None
        return None


def _equation_frames(equation):
    frames = equation.source_info.traceback
    if frames is None:
        return []
    return [(f.file_name, f.line_num) for f in reversed(frames.frames)]


def _definition(model, step):
    """file:line of `step` on the model's class (None: of the class)."""
    function = getattr(type(model), step) if step else type(model)
    try:
        return _shown(
            os.path.abspath(inspect.getsourcefile(function)),
            inspect.getsourcelines(function)[1],
        )
    except (OSError, TypeError):
        return f"{type(model).__name__}.{step or ''}".rstrip(".")


def _first_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _names(paths, limit=4):
    """'a, b and c' / 'a, b, c, d and 5 more'."""
    paths = list(dict.fromkeys(paths))
    if len(paths) > limit:
        return f"{', '.join(paths[:limit])} and {len(paths) - limit} more"
    return paths[0] if len(paths) == 1 else f"{', '.join(paths[:-1])} and {paths[-1]}"


# --------------------------------------------------------------------------
# Recording what a step does while JAX traces it
# --------------------------------------------------------------------------

_NESTED_TRACERS = ("JVPTracer", "LinearizeTracer")
_STATELESS_CALL = (
    "inside jax.grad/jvp call self.stateless_call(trainable_variables, "
    "non_trainable_variables, x, training=...) instead of self(x)/self.call(x), "
    "and return the new non-trainable state"
)


def _optimizers(optimizer):
    """`optimizer` and the optimizers it holds (a LossScaleOptimizer's inner one, a
    multi-network recipe's sub-optimizers)."""
    found, queue = [], [optimizer]
    while queue:
        current = queue.pop()
        if isinstance(current, keras.optimizers.Optimizer) and not any(
            current is seen for seen in found
        ):
            found.append(current)
            queue.extend(vars(current).values())
    return found


class _Recorder:
    """While active: records Keras variable writes outside any `StatelessScope`
    (with the line), the variables given a new value inside one (and where, for a
    value traced by a nested jax.grad/jvp), and the gradients of the outermost
    `stateless_apply`; restores every variable's value on exit."""

    def __init__(self, model, locator):
        self.model = model
        self.locator = locator
        self.assigns = []  # (variable, where, nested)
        self.updated = set()  # id(variable)
        self.nested = {}  # id(value) -> (variable, where), for nested-grad tracers
        self.gradients = []  # (optimizer, grads), while tracing
        # id() of every gradient recorded: one recorded inside a loop or branch (a
        # `stateless_apply` in a `jax.lax.scan`) is a tracer of that inner trace,
        # which the probe cannot return (it shows up as a leaked constant).
        self.recorded = set()
        self.optimizers = []  # whose gradients the probe returned
        self.depth = 0
        self.patches = []

    def __enter__(self):
        recorder = self
        direct = next(
            c for c in keras.Variable.__mro__ if "_direct_assign" in c.__dict__
        )
        direct_assign = direct.__dict__["_direct_assign"]
        add_update = keras.StatelessScope.add_update

        def record_direct_assign(variable, value):
            nested = type(value).__name__ in _NESTED_TRACERS
            recorder.assigns.append((variable, recorder.locator.of_stack(), nested))
            return direct_assign(variable, value)

        def record_update(scope, update):
            variable, value = update
            recorder.updated.add(id(variable))
            if type(value).__name__ in _NESTED_TRACERS:
                recorder.nested[id(value)] = (variable, recorder.locator.of_stack())
            return add_update(scope, update)

        self._patch(direct, "_direct_assign", record_direct_assign)
        self._patch(keras.StatelessScope, "add_update", record_update)
        patched = set()
        for optimizer in _optimizers(getattr(self.model, "optimizer", None)):
            for cls in type(optimizer).__mro__:
                if "stateless_apply" in cls.__dict__ and cls not in patched:
                    patched.add(cls)
                    self._patch(cls, "stateless_apply", self._apply(cls))
        self.values = [(v, v._value) for v in _all_variables(self.model)]
        self.tracer_attributes = _tracer_attributes(_objects(self.model))
        return self

    def _apply(self, cls):
        original = cls.__dict__["stateless_apply"]
        recorder = self

        def stateless_apply(optimizer, optimizer_variables, grads, trainable_variables):
            if recorder.depth == 0:
                recorder.gradients.append((optimizer, list(grads)))
                recorder.recorded.update(map(id, grads))
            recorder.depth += 1
            try:
                return original(
                    optimizer, optimizer_variables, grads, trainable_variables
                )
            finally:
                recorder.depth -= 1

        return stateless_apply

    def _patch(self, cls, name, function):
        self.patches.append((cls, name, cls.__dict__[name]))
        setattr(cls, name, function)

    def __exit__(self, *exc_info):
        for cls, name, original in reversed(self.patches):
            setattr(cls, name, original)
        for variable, value in self.values:
            variable._value = value


def _all_variables(model):
    """Every variable of the model's state, once each, in state order."""
    found = {}
    for group in GROUPS["train_step"]:
        for variable in _group_variables(model, group):
            found.setdefault(id(variable), variable)
    return list(found.values())


def _group_variables(model, group):
    if group == "optimizer_variables":
        optimizer = getattr(model, "optimizer", None)
        return list(optimizer.variables) if optimizer is not None else []
    return list(getattr(model, group))


def _networks(model):
    """The names of the models the model holds (a GAN's generator and discriminator)."""
    layers = model._flatten_layers(include_self=False, recursive=False)
    return [layer.name for layer in layers if isinstance(layer, keras.Model)]


def _objects(model):
    """The model, its layers, optimizers and metrics: where a leaked tracer hides."""
    objects = list(model._flatten_layers(include_self=True))
    objects += _optimizers(getattr(model, "optimizer", None)) + list(model.metrics)
    return objects


def _tracer_attributes(objects):
    found = []
    for owner in objects:
        for name, value in vars(owner).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            if isinstance(value, dict):
                values = list(value.values())
            if any(isinstance(v, jax.core.Tracer) for v in values):
                found.append(f"{getattr(owner, 'name', type(owner).__name__)}.{name}")
    return found


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def batches(x, y=None, sample_weight=None, batch_size=BATCH_SIZE):
    """The first two batches `fit` would train on (unshuffled), as `fit` feeds them
    (Keras's array data adapter); the first twice when the second is short."""
    from keras.src.trainers.data_adapters import get_data_adapter

    adapter = get_data_adapter(x, y, sample_weight, batch_size=batch_size)
    iterator = iter(adapter.get_jax_iterator())
    first = next(iterator)
    second = next(iterator, first)
    shapes = [np.shape(a) for a in jax.tree.leaves(first)]
    if [np.shape(a) for a in jax.tree.leaves(second)] != shapes:
        second = first
    return first, second


def sample_data(make_dataset, num_samples=NUM_SAMPLES, seed=0):
    """`(x, y, sample_weight)` from a generated `make_dataset` (`(x, y)` or
    `(x, y, sample_weight)`)."""
    return (*make_dataset(num_samples=num_samples, seed=seed), None)[:3]


def package_sources(module):
    """The .py files of the package of `module` (a project's `PACKAGE.model`): the
    user's code, without its copied `runtime/`."""
    root = os.path.dirname(os.path.abspath(module.__file__))
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d != "runtime")
        found += [
            os.path.join(directory, f) for f in sorted(files) if f.endswith(".py")
        ]
    return found


def predict_inputs(model, x):
    """What `predict` takes: `x`, or for a model that generates from latent vectors
    (one declaring an int `noise_dim`, as the gan recipe's does) normal noise."""
    noise_dim = getattr(model, "noise_dim", None)
    if isinstance(noise_dim, int):
        size = np.shape(jax.tree.leaves(x)[0])[0]
        noise = np.random.default_rng(0).normal(size=(size, noise_dim))
        return noise.astype("float32")
    return x


def _copy(tree):
    """Fresh buffers (weak types kept), for a call that donates its arguments."""
    return jax.tree.map(lambda a: jax.numpy.array(a, copy=True), tree)


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------


def check_model(model, data, *, sources=(), differential=True):
    """Run the contract on the compiled `model` with `data = (x, y, sample_weight)`
    (arrays or dicts of arrays; `y` and `sample_weight` may be None).

    `sources`: the files of the user's code (findings point at lines there);
    `differential`: also run Keras's built-in `train_step` and compare. Returns a
    `Report`; the model's variables keep their values.
    """
    with warnings.catch_warnings():
        # CPU backends cannot reuse donated buffers; fit donates all the same.
        warnings.filterwarnings("ignore", message="Some donated buffers")
        report = Report()
        first, second = batches(*data)
        model._symbolic_build(data_batch=first)
        _check_shared_buffers(model, report)
        for step in STEPS:
            step_batches = (first, second)
            if step == "predict_step":
                step_batches = tuple(
                    (predict_inputs(model, keras.utils.unpack_x_y_sample_weight(b)[0]),)
                    for b in step_batches
                )
            run = _StepRun(model, step, step_batches, _Locator(sources, ""), report)
            run.run()
            if step == "train_step" and differential and run.out is not None:
                networks = _networks(model)
                if len(networks) > 1:
                    report.notes.append(
                        f"no differential against Keras's built-in train_step: the "
                        f"model trains several networks ({', '.join(networks)}), "
                        "Keras's step is not its algorithm; the other checks ran"
                    )
                else:
                    _differential(model, run, report)
        return report


def _check_shared_buffers(model, report):
    owners = {}
    for variable in _all_variables(model):
        shards = getattr(variable.value, "addressable_shards", None)
        if not shards:
            continue
        pointer = shards[0].data.unsafe_buffer_pointer()
        if pointer not in owners:
            owners[pointer] = variable
            continue
        report.findings.append(
            Finding(
                "shared-buffer",
                _definition(model, None),
                f"{variable.path} and {owners[pointer].path} share one buffer: fit "
                "donates the state and fails with 'Attempt to donate the same buffer "
                "twice'; make the copy with keras.Variable(np.array(v.value)), not "
                "keras.Variable(v.value)",
            )
        )


class _StepRun:
    """One step: traced twice (recorded), compiled, run twice, from the model's state."""

    def __init__(self, model, step, step_batches, locator, report):
        self.model = model
        self.step = step
        self.batches = step_batches
        self.locator = locator
        locator.default = _definition(model, step)
        self.report = report
        self.groups = GROUPS[step]
        self.variables = [_group_variables(model, g) for g in self.groups]
        self.state = tuple([v.value for v in vs] for vs in self.variables)
        # What comes back: predict_step returns only the non-trainable variables.
        skip = 1 if step == "predict_step" else 0
        self.out_groups = self.groups[skip:]
        self.out_variables = self.variables[skip:]
        self.out = None  # (logs or outputs, state) of the first call
        self.named = set()  # (check, path): each variable named once per check

    def add(self, check, message, where=None):
        finding = Finding(
            check, where or self.locator.default, f"{self.step}: {message}"
        )
        if finding not in self.report.findings:
            self.report.findings.append(finding)

    def add_variables(self, check, variables, message, where=None):
        """One finding naming `variables` ('{}' in `message`), those not named yet."""
        new = [v.path for v in variables if (check, v.path) not in self.named]
        self.named.update((check, path) for path in new)
        if new:
            self.add(check, message.format(_names(new)), where)

    def probe(self, recorder):
        """The step as a function of `(state, data)` that also returns the gradients
        `recorder` captured (None: it captures none)."""
        function = getattr(self.model, self.step)

        def step(state, data):
            outputs, state = function(state, data)
            if self.step == "predict_step":
                state = (state,)
            if recorder is None:
                return (outputs, state), []
            grads = [grads for _, grads in recorder.gradients]
            # Out of the recorder: a tracer kept after the trace would leak.
            recorder.optimizers = [optimizer for optimizer, _ in recorder.gradients]
            recorder.gradients.clear()
            return (outputs, state), grads

        return step

    def trace(self, capture=True):
        """`(traced, recorder)`: the jitted step (donating its state, as fit does)
        traced with the recorder on."""
        recorder = _Recorder(self.model, self.locator)
        try:
            with recorder:
                jitted = jax.jit(
                    self.probe(recorder if capture else None), donate_argnums=0
                )
                return jitted.trace(self.state, self.batches[0]), recorder
        finally:
            recorder.gradients.clear()  # tracers: not kept after their trace

    def run(self):
        try:
            traced, recorder = self.trace()
            if any(
                isinstance(value, jax.core.Tracer) and id(value) in recorder.recorded
                for _, value, _ in _constants(traced)
            ):
                raise RuntimeError("the gradients are tracers of the loop's trace")
        except Exception as error:  # noqa: BLE001 - the user's step
            try:  # gradients captured inside a loop or a branch cannot leave it
                traced, recorder = self.trace(capture=False)
            except Exception as error:  # noqa: BLE001
                return self._failed(error)
            self.report.notes.append(
                f"{self.step}: gradients not checked (stateless_apply runs inside a "
                f"loop or branch: {_first_line(error)[:80]})"
            )
        self._check_assigns(recorder)
        leaked = self._check_leaks(traced, recorder)
        structure_ok = self._check_structure(traced)
        if structure_ok:
            self._check_dropped_updates(traced, recorder)
        if leaked:
            return None
        again, _ = self.trace(capture=bool(recorder.optimizers))
        self._check_constants(traced, again)
        try:
            compiled = again.lower().compile()
            self.out, grads = compiled(_copy(self.state), self.batches[0])
        except Exception as error:  # noqa: BLE001 - the user's step
            return self._failed(error, " when run")
        # A LossScaleOptimizer gets scaled gradients that may overflow on purpose
        # (it then skips the step and lowers the scale): not checked.
        self.loss_scaled = any(
            isinstance(o, keras.optimizers.LossScaleOptimizer)
            for o in recorder.optimizers
        )
        self.gradients = (
            [] if self.loss_scaled else list(zip(recorder.optimizers, grads))
        )
        self._check_finite()
        if structure_ok:
            self._check_run()
            self._check_retrace(compiled)
        return None

    def _failed(self, error, when=""):
        where = self.locator.of_exception(error)
        if isinstance(error, jax.errors.UnexpectedTracerError):
            nested = any(name in str(error) for name in _NESTED_TRACERS)
            fix = _STATELESS_CALL if nested else "return traced values from the step"
            self.add(
                "leaked-tracer", f"raises {_first_line(error)[:160]}; {fix}", where
            )
        else:
            self.add(
                "step-fails",
                f"raises {_first_line(error)[:300]}{when}; fix the step (fit with "
                "run_eagerly=True gives a plain traceback)",
                where,
            )

    # -- while tracing ----------------------------------------------------

    def _check_assigns(self, recorder):
        by_line = {}
        for variable, where, nested in recorder.assigns:
            by_line.setdefault((where, nested), []).append(variable)
        for (where, nested), variables in by_line.items():
            fix = (
                f"the write comes from a layer called inside jax.grad/jvp: {_STATELESS_CALL}"
                if nested
                else "compute the new value inside a keras.StatelessScope and return "
                "it in the state"
            )
            self.add_variables(
                "assign-in-step",
                variables,
                "assigns {} outside the state: fit drops the write, or fails with "
                "\"'NoneType' object is not callable\" where the variable is read; "
                + fix,
                where,
            )

    def _check_leaks(self, traced, recorder):
        """Tracers of a finished nested trace captured as constants (fit fails with
        UnexpectedTracerError), and tracers left in attributes."""
        leaked = False
        nested = {}
        for _, value, equation in _constants(traced):
            if not isinstance(value, jax.core.Tracer):
                continue
            leaked = True
            variable, where = recorder.nested.get(id(value), (None, None))
            if variable is not None:
                nested.setdefault((where, type(value).__name__), []).append(variable)
            else:
                self.add(
                    "leaked-tracer",
                    f"a {type(value).__name__} from a finished transformation is used "
                    "here (fit fails with UnexpectedTracerError); return values from "
                    "the function you transform instead of keeping them",
                    self.locator.of_equation(equation) if equation else None,
                )
        for (where, kind), variables in nested.items():
            self.add_variables(
                "leaked-tracer",
                variables,
                "updates {} inside a nested jax.grad/jvp and the traced values escape "
                f"it (fit fails with UnexpectedTracerError ... {kind}); "
                + _STATELESS_CALL,
                where,
            )
        attributes = [
            name
            for name in _tracer_attributes(_objects(self.model))
            if name not in recorder.tracer_attributes
        ]
        if attributes:
            self.add(
                "leaked-tracer",
                f"keeps traced values in {_names(attributes)}: they are tracers of one "
                "trace, useless (and an UnexpectedTracerError) after it; return them "
                "in the logs or the state instead",
            )
        return leaked

    def _check_structure(self, traced):
        """state-structure findings; True when the returned state has the input's
        leaves in the input's order (so they can be compared one by one)."""
        (_, state_out), _ = traced.out_info
        if self.step == "predict_step":
            state_out = (state_out[0],)
        elif not isinstance(state_out, (list, tuple)) or len(state_out) != 4 - (
            self.step == "test_step"
        ):
            self.add(
                "state-structure",
                f"returns a state of {_describe(state_out)} where a tuple of "
                f"{len(self.groups)} came in ({', '.join(self.groups)}); return the "
                "same structure",
            )
            return False
        elif isinstance(state_out, list):
            self.add(
                "state-structure",
                "returns the state as a list where a tuple came in: fit compiles the "
                "step again, and a jax.lax.scan over steps fails; return a tuple",
            )
        ok = True
        given_state = self.state[len(self.groups) - len(self.out_groups) :]
        for group, variables, given, returned in zip(
            self.out_groups, self.out_variables, given_state, state_out
        ):
            if not isinstance(returned, list) or len(returned) != len(variables):
                self.add(
                    "state-structure",
                    f"returns {group} as {_describe(returned)} where a list of "
                    f"{len(variables)} came in; return one value per model.{group} "
                    "entry, in order",
                )
                ok = False
                continue
            changed = [
                (variable, jax.typeof(a), b)
                for variable, a, b in zip(variables, given, returned)
                if _aval(jax.typeof(a)) != _aval(b)
            ]
            for variable, a, b in changed[:1]:
                self.add_variables(
                    "state-structure",
                    [v for v, _, _ in changed],
                    "returns {} as "
                    + f"{_aval(b)} where {_aval(a)} came in"
                    + (f" (the first of {len(changed)})" if len(changed) > 1 else "")
                    + ": fit compiles the step again, a wrong shape "
                    f"breaks the next step; cast or reshape back (keras.ops.cast(value, "
                    f"'{a.dtype}'))",
                )
        return ok

    def _check_dropped_updates(self, traced, recorder):
        """Variables given a new value in a StatelessScope during the step but
        returned as they came in: the update is computed and thrown away."""
        jaxpr = traced.jaxpr.jaxpr
        invars = jaxpr.invars[len(jaxpr.invars) - traced.in_tree.num_leaves :]
        (state_in, _), _ = jax.tree.unflatten(traced.in_tree, invars)
        (_, state_out), _ = jax.tree.unflatten(traced.out_tree, jaxpr.outvars)
        skip = len(self.groups) - len(self.out_groups)
        for group, variables, given, returned in zip(
            self.out_groups, self.out_variables, state_in[skip:], state_out
        ):
            if group != "trainable_variables":
                dropped = [
                    variable
                    for variable, a, b in zip(variables, given, returned)
                    if a is b and id(variable) in recorder.updated
                ]
                self.not_threaded(group, dropped, "updates {} but returns")

    def not_threaded(self, group, variables, how):
        check = "metrics-not-threaded" if group == "metrics_variables" else None
        why = {
            "metrics_variables": "fit logs the metrics from the returned state (0.0 "
            "or stale values)",
            "optimizer_variables": "the optimizer's step count and moments never "
            "advance",
            "non_trainable_variables": "BatchNorm statistics stay at their initial "
            "values and seeds never advance (the same dropout mask every step)",
        }[group]
        self.add_variables(
            check or "state-not-threaded",
            variables,
            f"{how} them unchanged: {why}; return the updated {group} from the step",
        )

    def _check_constants(self, traced, again):
        """Arrays baked into the compiled step: variables read outside the state,
        host randomness (the two traces differ), host arrays written in the step."""
        values = {id(v._value): v for v in _all_variables(self.model)}
        mine, other = _constants(traced), _constants(again)
        frozen = {}
        for index, (_, value, equation) in enumerate(mine):
            where = self.locator.of_equation(equation) if equation else None
            if id(value) in values:
                frozen.setdefault(where, []).append(values[id(value)])
                continue
            if np.ndim(value) == 0 or isinstance(value, jax.core.Tracer):
                continue
            if len(other) == len(mine) and not _same_array(value, other[index][1]):
                self.add(
                    "host-randomness",
                    f"an array of shape {np.shape(value)} is drawn on the host (numpy "
                    "randomness?) when JAX traces the step: every step reuses that one "
                    "draw; draw with keras.random and a keras.random.SeedGenerator "
                    "created in __init__, whose state the step carries",
                    where,
                )
            elif equation is not None and self.locator.written_at(equation):
                self.add(
                    "host-array",
                    f"a host (numpy) array of shape {np.shape(value)} is baked into "
                    "the compiled step, the same on every step; if it should change, "
                    "compute it with keras.ops from the state or the batch",
                    self.locator.written_at(equation),
                )
        for where, variables in frozen.items():
            self.add_variables(
                "frozen-variable",
                variables,
                "reads {} outside the state: the value at trace time is baked into the "
                "compiled step (under fit, \"'NoneType' object is not callable\"); "
                "read variables inside a keras.StatelessScope over the step's state",
                where,
            )

    # -- after running ----------------------------------------------------

    def _check_finite(self):
        outputs, state = self.out
        bad = []
        if self.step != "predict_step":
            bad += [
                f"{name} = {float(np.mean(value))}"
                for name, value in _flat_logs(outputs)
                if not np.all(np.isfinite(value))
            ]
        for optimizer, grads in self.gradients:
            paths = [
                v.path
                for v, g in zip(optimizer._trainable_variables, grads)
                if g is not None and not np.all(np.isfinite(g))
            ]
            bad += [f"the gradients of {_names(paths, 2)}"] if paths else []
        for group, variables, values in zip(self.out_groups, self.out_variables, state):
            paths = [
                v.path
                for v, value in zip(variables, values)
                if _floating(value) and not np.all(np.isfinite(value))
            ]
            bad += [f"{_names(paths, 2)} in the returned {group}"] if paths else []
        if bad:
            shown = "; ".join(bad[:3]) + ("; ..." if len(bad) > 3 else "")
            self.add(
                "non-finite",
                f"NaN or inf on the sample batch: {shown}; training breaks "
                "from the first step: look for a log of 0, a division by zero or a "
                "square root of a negative number at this line",
                self._nan_line(),
            )

    def _nan_line(self):
        """The line of the first operation that makes a NaN or inf: jax.debug_nans
        and jax.debug_infs run the step again, op by op."""
        function = getattr(self.model, self.step)
        quiet = io.StringIO()
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(contextlib.redirect_stdout(quiet))
                stack.enter_context(_Recorder(self.model, self.locator))
                stack.enter_context(jax.debug_nans(True))
                stack.enter_context(jax.debug_infs(True))
                jax.jit(function)(_copy(self.state), self.batches[0])
        except FloatingPointError as error:
            return self.locator.of_exception(error)
        except Exception:  # noqa: BLE001, S110 - the finding stands without a line
            pass
        return None

    def _check_run(self):
        outputs, state = self.out
        if self.step == "predict_step":
            size = np.shape(jax.tree.leaves(self.batches[0])[0])[0]
            if any(np.shape(o)[:1] != (size,) for o in jax.tree.leaves(outputs)):
                shapes = [np.shape(o) for o in jax.tree.leaves(outputs)]
                self.add(
                    "state-structure",
                    f"returns outputs of shapes {shapes} for a batch of {size}: "
                    "predict concatenates them along the first axis, one row per "
                    "sample; return y_pred first, then non_trainable_variables",
                )
            return
        self._check_logs(outputs, state[self.groups.index("metrics_variables")])
        if self.step == "train_step":
            self._check_iterations(state[2])
            for optimizer, grads in self.gradients:
                zero = [
                    v
                    for v, g in zip(optimizer._trainable_variables, grads)
                    if g is not None and not np.any(np.asarray(g))
                ]
                self.add_variables(
                    "no-gradient",
                    zero,
                    "{} get a zero gradient on the sample batch: they take no part in "
                    "the loss (if they are meant to be frozen, set trainable=False)",
                )

    def _check_logs(self, logs, metrics_variables):
        if not isinstance(logs, dict) or not logs:
            return
        mapping = list(zip(self.model.metrics_variables, metrics_variables))
        with keras.StatelessScope(mapping):
            shown = self.model.get_metrics_result()
        if set(shown) != set(logs):  # fit shows the step's logs then
            shown = logs
        if all(not np.any(value) for _, value in _flat_logs(shown)):
            self.add(
                "all-zero-logs",
                f"fit would log 0.0 for {_names(sorted(shown))}: fit reads them from "
                "the returned metric variables; return the updated metrics_variables",
            )

    def _check_iterations(self, optimizer_variables):
        optimizer = getattr(self.model, "optimizer", None)
        counter = getattr(optimizer, "iterations", None)
        if not isinstance(counter, keras.Variable):  # gradient accumulation
            counter = getattr(optimizer, "_iterations", None)
        index = next((i for i, v in enumerate(self.variables[2]) if v is counter), None)
        if index is None:
            return
        before = np.asarray(self.state[2][index])
        advanced = np.asarray(optimizer_variables[index]) > before
        if self.loss_scaled:  # a skipped step still lowers the loss scale
            advanced = advanced or not all(
                _same_array(a, b) for a, b in zip(self.state[2], optimizer_variables)
            )
        if not advanced:
            self.add(
                "iterations",
                f"the optimizer's iterations ({counter.path}) stay at {before}: no "
                "update is applied or its state is not returned; return the "
                "optimizer_variables that optimizer.stateless_apply gives back",
            )

    def _check_retrace(self, compiled):
        """The returned state must fit the compiled step (else fit compiles again)."""
        state = _copy(self.out[1])
        if self.step == "predict_step":
            state = (_copy(self.state[0]), state[0])
        try:
            compiled(state, self.batches[1])
        except TypeError as error:
            text = " ".join(str(error).split())
            for marker in ("mismatches are:", "including:"):
                text = text.split(marker, 1)[-1].strip()
            self.add(
                "retrace",
                "the state it returns does not fit the compiled step, so fit traces "
                f"and compiles it again on the next call ({text[:160]}); return the "
                "state with the structure, dtypes and weak types it came in with",
            )


def _differential(model, train, report):
    """Keras's built-in train_step from the same state and batch: every
    non-trainable and metric variable it changes must change in the user's too."""
    step = jax.jit(lambda state, data: keras.Model.train_step(model, state, data))
    try:
        _, builtin = step(_copy(train.state), train.batches[0])
    except Exception as error:  # noqa: BLE001 - Keras's step on any model
        report.notes.append(
            "no differential against Keras's built-in train_step (it does not run on "
            f"this model: {_first_line(error)[:100]}); the other checks ran"
        )
        return
    _, mine = train.out
    for index, group in enumerate(train.groups):
        if group in ("non_trainable_variables", "metrics_variables"):
            left = [
                variable
                for variable, before, theirs, ours in zip(
                    train.variables[index],
                    train.state[index],
                    builtin[index],
                    mine[index],
                )
                if not _same_array(before, theirs) and _same_array(before, ours)
            ]
            train.not_threaded(
                group, left, "Keras's own train_step updates {}; yours returns"
            )


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _constants(traced):
    """`(var, value, first equation using it)` for the constants of a trace: the
    jaxpr's own and those hoisted into its leading arguments."""
    jaxpr = traced.jaxpr
    hoisted = getattr(traced, "_consts", ())
    pairs = list(zip(jaxpr.jaxpr.constvars, jaxpr.consts)) + list(
        zip(jaxpr.jaxpr.invars[: len(hoisted)], hoisted)
    )
    return [(var, value, _first_use(jaxpr.jaxpr, var)) for var, value in pairs]


def _first_use(jaxpr, var):
    """The first equation that uses `var`, looked for inside the jaxprs of a scan,
    cond, jit or custom-derivative call that takes it (their operands map one to one
    onto the inner jaxpr's inputs, after a cond's predicate)."""
    for equation in jaxpr.eqns:
        position = next((i for i, v in enumerate(equation.invars) if v is var), None)
        if position is None:
            continue
        for inner in _inner_jaxprs(equation):
            offset = len(equation.invars) - len(inner.invars)
            if offset in (0, 1) and position >= offset:
                found = _first_use(inner, inner.invars[position - offset])
                if found is not None:
                    return found
        return equation
    return None


def _inner_jaxprs(equation):
    for value in equation.params.values():
        for item in value if isinstance(value, tuple) else (value,):
            inner = getattr(item, "jaxpr", item)
            if isinstance(inner, jax.extend.core.Jaxpr):
                yield inner


def _same_array(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a, b, equal_nan=np.issubdtype(a.dtype, np.inexact))
    )


def _floating(value):
    return np.issubdtype(np.asarray(value).dtype, np.inexact)


def _flat_logs(logs):
    if isinstance(logs, dict):
        return [(name, np.asarray(value)) for name, value in logs.items()]
    return [(str(i), np.asarray(v)) for i, v in enumerate(jax.tree.leaves(logs))]


def _aval(info):
    weak = " (weak type)" if getattr(info, "weak_type", False) else ""
    return f"{np.dtype(info.dtype).name}{list(info.shape)}{weak}"


def _describe(value):
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"
