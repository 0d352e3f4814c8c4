"""The wgan-gp recipe next to its oracle: the project's own proof, imported.

The oracle (the same algorithm in pure JAX + optax, see
``templates/partials/proofs/wgan_gp.py.jinja``) ships as a generated project's
``tests/test_parity.py``. :func:`load_proof` renders such a project, puts its ``src/`` on
``sys.path`` and imports that file, so the tests here prove generated *modules* with the
very oracle a project runs (its ``initial_state``, ``oracle``, ``assert_matches``), and
:func:`run` trains a module's model next to it. Used by
``tests/generated/test_wgan_gp.py`` and ``tests/scripts/wgan_gp_dataparallel_check.py``.
Importing this module imports no keras; the functions that need it do.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from tests.helpers import support
from tests.helpers.projects import render, write

_counter = itertools.count()


def load_proof(directory: Path):
    """A wgan-gp project's ``tests/test_parity.py`` (rendered into ``directory``),
    imported under a package name of its own."""
    name = f"wgan_proof_{next(_counter)}"
    write(directory / name, render(directory, name, recipe="wgan-gp"))
    sys.path.insert(0, str(directory / name / "src"))
    return support.import_path(directory / name / "tests" / "test_parity.py")


def fit(
    proof,
    module,
    cls=None,
    batch_size=16,
    steps=3,
    policy=None,
    data_parallel=False,
    compile_kwargs=None,
):
    """``module``'s model (of class ``cls``, the generated one by default) built from
    seed 7 under dtype ``policy`` (and ``DataParallel`` over all devices), trained by
    `fit` for one epoch of ``steps`` batches: ``(model, history, x, start)``, with the
    state it started from (``proof.initial_state``). ``compile_kwargs``: the model
    compiled again with these before."""
    import keras

    keras.backend.clear_session()  # it also drops any distribution
    keras.config.set_dtype_policy(policy or "float32")
    if data_parallel:
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=keras.distribution.list_devices())
        )
    keras.utils.set_random_seed(7)
    x, _ = module.make_dataset(num_samples=batch_size * steps, seed=1)
    model = support.build_with(module, cls or getattr(module, module.TEST_CLASS_NAME))
    if compile_kwargs is not None:
        model.compile(**compile_kwargs)
    start = proof.initial_state(model)
    history = model.fit(x, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return model, history.history, x, start


def run(proof, module, cls=None, batch_size=16, **fit_kwargs):
    """`fit` (arguments as :func:`fit`), and ``proof``'s oracle from the same start
    with the module's settings: ``(model, history, oracle's results)`` for
    ``proof.assert_matches``."""
    model, history, x, start = fit(proof, module, cls, batch_size, **fit_kwargs)
    generated = getattr(module, module.TEST_CLASS_NAME)
    expected = proof.oracle(
        model,
        start,
        x,
        batch_size,
        critic_steps=generated.critic_steps,
        gp_weight=generated.gp_weight,
        noise_dim=generated.noise_dim,
    )
    return model, history, expected
