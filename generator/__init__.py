"""keras-jax-scaffold: generate Keras 3 models with stateless JAX training steps."""

__version__ = "0.2.0"
