"""`--optimizer optax:NAME` next to its oracle: a pure JAX + optax loop over the
model's `stateless_call`.

`fit_generated` trains a generated module's model with `fit` (its `OptaxOptimizer`);
`optax_loop` trains the same model (same initial weights, from seed 7) on the same
batches without Keras's trainer or optimizer: the forward pass is
`model.stateless_call(training=True, return_losses=True)`, the loss is the compiled
loss plus the regularization losses (what Keras's `compute_loss` adds up), the
gradients come from `jax.grad`, and the update from the optax transformation itself
(`init` once, `update` every step, `optax.apply_updates`). `assert_matches` compares
every variable of the model and the optax state, leaf by leaf, to RTOL/ATOL.
Importing this module imports no keras; the functions that need it do.
"""

from __future__ import annotations

from tests.helpers.support import ATOL, RTOL

SEED = 7
# The learning rate of the generated modules (the default `--learning-rate`).
LEARNING_RATE = 1e-3


def build(module, distribution=None):
    """The module's model as `fit_generated` and `optax_loop` both start from (under
    ``distribution``, a `keras.distribution`, if given)."""
    import keras

    keras.backend.clear_session()  # it also drops any distribution
    keras.distribution.set_distribution(distribution)
    keras.utils.set_random_seed(SEED)
    return module.build_model()


def trainable_paths(module):
    """The paths of the model's trainable variables (``transformation``'s `paths`)."""
    return [v.path for v in build(module).trainable_variables]


def fit_generated(
    module, x, y, batch_size=16, epochs=2, distribution=None, **fit_kwargs
):
    """`fit` with the module's own steps and optimizer; the trained model."""
    model = build(module, distribution)
    model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        **fit_kwargs,
    )
    return model


def optimizer_state(model):
    """The optax state `fit` carried: the `OptaxOptimizer`'s state variables (inside
    a `LossScaleOptimizer` under mixed_float16)."""
    import numpy as np

    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    return [np.asarray(v.numpy()) for v in optimizer._state_variables]


def optax_loop(
    module,
    x,
    y,
    transformation,
    batch_size=16,
    epochs=2,
    carry_state=True,
    loss_scale=None,
):
    """The oracle: ``transformation`` (an optax GradientTransformation of the list of
    trainable variables) trained in a pure JAX loop; returns ``(variables, state)``:
    the model's trainable and non-trainable values in Keras's order, and the optax
    state's leaves. ``carry_state=False`` starts every step from a fresh ``init`` (the
    negative control). ``loss_scale``: the initial scale of mixed_float16's dynamic
    loss scaling, done as `LossScaleOptimizer` documents it: the loss is multiplied by
    the scale and the gradients divided by it; a step whose gradients are not all
    finite changes neither the weights nor the optax state and halves the scale
    (the BatchNorm and seed states still move); returned as a third value."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    model = build(module)
    loss_object = model.loss
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss_fn(trainable, non_trainable, x, y, scale):
        y_pred, non_trainable, losses = model.stateless_call(
            trainable, non_trainable, x, training=True, return_losses=True
        )
        loss = loss_object(y, y_pred)
        for extra in losses:
            loss = loss + jnp.sum(extra).astype(loss.dtype)
        return loss * scale, non_trainable

    @jax.jit
    def step(trainable, non_trainable, state, x, y, scale):
        grads, non_trainable = jax.grad(loss_fn, has_aux=True)(
            trainable, non_trainable, x, y, scale
        )
        finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(g)) for g in grads]))
        grads = [g / scale for g in grads]
        updates, new_state = transformation.update(grads, state, trainable)
        new_trainable = optax.apply_updates(trainable, updates)

        # A step with non-finite gradients keeps the weights and the optax state.
        def keep(new, old):
            return jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)

        return (
            keep(new_trainable, trainable),
            non_trainable,
            keep(new_state, state),
            finite,
        )

    state = transformation.init(trainable)
    scale = 1.0 if loss_scale is None else loss_scale
    steps = -(-len(x) // batch_size)
    for _ in range(epochs):
        for index in range(steps):
            batch = slice(index * batch_size, (index + 1) * batch_size)
            if not carry_state:
                state = transformation.init(trainable)
            trainable, non_trainable, state, finite = step(
                trainable, non_trainable, state, x[batch], y[batch], jnp.float32(scale)
            )
            if loss_scale is not None and not bool(finite):
                scale /= 2
    variables = [np.asarray(v) for v in [*trainable, *non_trainable]]
    leaves = [np.asarray(leaf) for leaf in jax.tree.leaves(state)]
    return (variables, leaves) if loss_scale is None else (variables, leaves, scale)


def assert_matches(model, oracle):
    """``model`` (after `fit`) holds the oracle's variables and optax state."""
    import numpy as np

    variables, state = oracle[:2]
    mine = [*model.trainable_variables, *model.non_trainable_variables]
    assert len(mine) == len(variables)
    for variable, expected in zip(mine, variables):
        np.testing.assert_allclose(
            np.asarray(variable.numpy()),
            expected,
            rtol=RTOL,
            atol=ATOL,
            err_msg=variable.path,
        )
    carried = optimizer_state(model)
    assert len(carried) == len(state)
    for index, (value, expected) in enumerate(zip(carried, state)):
        np.testing.assert_allclose(
            value, expected, rtol=RTOL, atol=ATOL, err_msg=f"state_{index}"
        )
