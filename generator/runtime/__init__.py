"""The runtime of generated projects: the code a user does not edit.

These modules are plain Python, tested once by keras-jax-scaffold's own tests, and
copied verbatim into every generated project as ``src/PACKAGE/runtime/`` (do not edit
them there: ``keras-jax-scaffold update`` replaces them). A project then installs and
trains on a machine without keras-jax-scaffold. Rules for code here:

* imports inside the runtime are relative (``from . import data``), nothing outside it
  but the standard library, numpy, keras and jax;
* this ``__init__`` imports nothing, so that a project can check its options and data
  files before the seconds it takes to import keras and jax;
* modules that import keras set ``KERAS_BACKEND=jax`` first (``os.environ.setdefault``).
"""
