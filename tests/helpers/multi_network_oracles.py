"""The multi-network recipes (gan, distillation, vae) next to their Keras oracles.

Each ``run_*`` function trains a generated module's recipe and its oracle from the same
initial weights on the same data and returns both, for ``assert_same_weights``:

* ``gan``: Keras's built-in steps doing the same by hand: ``train_on_batch`` on the
  discriminator (real and generated samples, labels 1 and 0, in one batch), then on
  ``Sequential([generator, discriminator])`` with the discriminator frozen (labels
  1), with the same latent noise (a ``SeedGenerator`` in the recipe's initial state);
* ``distillation``: ``keras.distillation.Distiller`` with
  ``LogitsDistillation(temperature=T, loss=KLDivergence())`` under built-in ``fit``;
* ``vae``: the same model with Keras's built-in steps, its ``call`` drawing ``z`` and
  its ``compute_loss`` adding the KL term (the only override).

Used by ``tests/generated/test_multi_network_recipes.py`` and by the DataParallel check
(``tests/scripts/multi_network_dataparallel_check.py``), which runs in its own process.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np

RTOL, ATOL = 1e-6, 1e-7


def _start(seed, policy, data_parallel):
    """A fresh Keras session under dtype ``policy`` (and ``DataParallel`` over all
    devices), seeded."""
    keras.backend.clear_session()
    if policy is not None:
        keras.config.set_dtype_policy(policy)
    if data_parallel:
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=jax.devices())
        )
    keras.utils.set_random_seed(seed)


def _copy_variables(source, target):
    """Every variable of ``source`` (weights, seed states) into ``target``."""
    assert len(source.variables) == len(target.variables)
    for mine, theirs in zip(source.variables, target.variables):
        theirs.assign(np.array(mine.numpy()))


def _fresh_optimizer(optimizer):
    """A new, unbuilt optimizer like ``optimizer`` (inside any LossScaleOptimizer)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    return type(optimizer).from_config(optimizer.get_config())


def weights(model):
    return [np.asarray(v.numpy()) for v in model.trainable_variables]


def assert_same_weights(mine, oracle, rtol=RTOL, atol=ATOL):
    assert len(mine) == len(oracle)
    for i, (a, b) in enumerate(zip(mine, oracle)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"weight {i}")


def assert_history_close(mine, oracle, keys):
    for key in keys:
        np.testing.assert_allclose(
            mine[key], oracle[key], rtol=RTOL, atol=ATOL, err_msg=key
        )


# --- gan ---------------------------------------------------------------------------


def run_gan(
    module, x, batch_size, build=None, seed=7, policy=None, data_parallel=False
):
    """``(recipe model, [generator weights, discriminator weights] of the oracle)``
    after one epoch over ``x`` (whole batches, in order)."""
    assert len(x) % batch_size == 0, "the oracle takes whole batches"
    build = build or module.build_model
    _start(seed, policy, data_parallel)
    model = build()
    generator = module.build_generator()
    discriminator = module.build_discriminator()
    _copy_variables(model.generator, generator)
    _copy_variables(model.discriminator, discriminator)
    noise = keras.random.SeedGenerator(0)
    noise.state.assign(np.array(model.noise_seed_generator.state.numpy()))

    model.fit(x, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)

    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    discriminator.compile(
        optimizer=_fresh_optimizer(model.optimizer.discriminator_optimizer), loss=loss
    )
    discriminator.trainable = False
    combined = keras.Sequential([generator, discriminator])
    combined.compile(
        optimizer=_fresh_optimizer(model.optimizer.generator_optimizer), loss=loss
    )
    ones, zeros = np.ones((batch_size, 1)), np.zeros((batch_size, 1))
    noise_dim = model.noise_dim
    for start in range(0, len(x), batch_size):
        real = x[start : start + batch_size]
        latent = keras.random.normal((batch_size, noise_dim), seed=noise)
        generated = generator(latent, training=True)
        discriminator.trainable = True
        discriminator.train_on_batch(
            np.concatenate([real, generated]), np.concatenate([ones, zeros])
        )
        discriminator.trainable = False
        latent = keras.random.normal((batch_size, noise_dim), seed=noise)
        combined.train_on_batch(latent, ones)
    discriminator.trainable = True
    return model, {
        "generator": weights(generator),
        "discriminator": weights(discriminator),
        "steps": len(x) // batch_size,
    }


def assert_gan_matches(model, oracle):
    assert_same_weights(weights(model.generator), oracle["generator"])
    assert_same_weights(weights(model.discriminator), oracle["discriminator"])
    steps = oracle["steps"]
    assert int(model.optimizer.discriminator_optimizer.iterations.numpy()) == steps
    assert int(model.optimizer.generator_optimizer.iterations.numpy()) == steps


# --- distillation --------------------------------------------------------------------


def run_distillation(
    module, x, y, fit_kwargs, build=None, seed=7, policy=None, data_parallel=False
):
    """``(recipe history and student weights, the Distiller's)`` after ``fit``.

    The student has no regularizers and ``fit`` gets no sample weights: the Distiller
    uses neither (see the README).
    """
    build = build or module.build_model
    _start(seed, policy, data_parallel)
    teacher = module.build_teacher()
    student = module.build_network(
        "student", module.INPUT_SHAPE, (module.NUM_CLASSES,), l2=0.0
    )
    model = build(teacher=teacher, student=student)
    oracle_student = module.build_network(
        "oracle_student", module.INPUT_SHAPE, (module.NUM_CLASSES,), l2=0.0
    )
    _copy_variables(model.student, oracle_student)
    teacher_before = weights(teacher) + [
        np.asarray(v.numpy()) for v in teacher.non_trainable_variables
    ]

    history = model.fit(x, y, shuffle=False, verbose=0, **fit_kwargs).history
    teacher_after = weights(teacher) + [
        np.asarray(v.numpy()) for v in teacher.non_trainable_variables
    ]
    assert_same_weights(teacher_after, teacher_before, rtol=0, atol=0)

    distiller = keras.distillation.Distiller(
        teacher=teacher,
        student=oracle_student,
        distillation_losses=keras.distillation.LogitsDistillation(
            temperature=model.temperature, loss=keras.losses.KLDivergence()
        ),
        student_loss_weight=model.alpha,
    )
    distiller.compile(
        optimizer=_fresh_optimizer(model.optimizer),
        loss=type(model.loss).from_config(model.loss.get_config()),
    )
    oracle_history = distiller.fit(x, y, shuffle=False, verbose=0, **fit_kwargs).history
    return (
        {"history": history, "weights": weights(model.student)},
        {"history": oracle_history, "weights": weights(oracle_student)},
    )


def assert_distillation_matches(mine, oracle):
    assert_same_weights(mine["weights"], oracle["weights"])
    mine_history = dict(mine["history"], student_loss=mine["history"]["task_loss"])
    assert_history_close(
        mine_history, oracle["history"], ("loss", "student_loss", "distillation_loss")
    )


# --- vae -----------------------------------------------------------------------------


def compute_loss_oracle(module):
    """The module's VAE with Keras's built-in steps; its ``call`` draws ``z`` when
    training and its ``compute_loss`` adds the KL term."""
    generated = getattr(module, module.TEST_CLASS_NAME)

    class ComputeLossVae(generated):
        train_step = keras.Model.train_step
        test_step = keras.Model.test_step
        predict_step = keras.Model.predict_step

        def call(self, inputs, training=False):
            if training:
                return self.sample_and_decode(inputs, training)
            return super().call(inputs, training=training)

        def compute_loss(
            self, x=None, y=None, y_pred=None, sample_weight=None, training=True
        ):
            if not training:
                return super().compute_loss(x, y, y_pred, sample_weight, training)
            reconstruction, z_mean, z_log_var = y_pred
            loss = super().compute_loss(x, y, reconstruction, sample_weight, training)
            return loss + self.kl_loss(z_mean, z_log_var)

    return ComputeLossVae


def run_vae(
    module, x, fit_kwargs, build_with, seed=7, policy=None, data_parallel=False
):
    """``(recipe, oracle)`` histories and weights after ``fit`` from the same seed."""
    results = []
    generated = getattr(module, module.TEST_CLASS_NAME)
    for cls in (generated, compute_loss_oracle(module)):
        _start(seed, policy, data_parallel)
        model = build_with(module, cls)
        history = model.fit(x, shuffle=False, verbose=0, **fit_kwargs).history
        results.append({"history": history, "weights": weights(model), "model": model})
    return results


def assert_vae_matches(mine, oracle):
    assert_same_weights(mine["weights"], oracle["weights"])
    assert_history_close(mine["history"], oracle["history"], ("loss",))
