"""Every runtime test ends with a fresh Keras state (names, dtype policy)."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def fresh_keras():
    """Clears Keras's session after a test that used Keras (others import none)."""
    yield
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
        keras.config.set_dtype_policy("float32")
