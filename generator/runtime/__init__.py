# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""The runtime of generated projects: the code a user does not edit.

These modules are plain Python, tested once by keras-jax-scaffold's own tests, and
copied verbatim into every generated project as ``src/PACKAGE/runtime/`` (do not edit
them there: ``keras-jax-scaffold update`` replaces them). A project then installs and
trains on a machine without keras-jax-scaffold. Rules for code here:

* imports inside the runtime are relative (``from . import data``), nothing outside it
  but the standard library, numpy, keras and jax;
* this ``__init__`` imports nothing but ``os``, so that a project can check its options
  and data files before the seconds it takes to import keras and jax; it selects the
  JAX backend (``KERAS_BACKEND=jax`` unless set), and Python runs it before any module
  of the package, so the modules that import keras need not.

Modules: ``options`` (the command line of ``train``, its one-line errors), ``arrays``
(``.npz`` files, ``.npy`` shards, the validation split; numpy only), ``batches`` (each
epoch's batches, read ahead by threads, a process's part of each), ``scan``
(``ScannedExecution``: one compiled loop per execution), ``backup`` (exact
backup/resume, the stop on a loss that is not finite), ``distribute`` (several
processes, data and model parallelism), ``compile_cache`` (JAX's persistent
compilation cache), ``scaling`` (the scaling layers set from the training data),
``results`` (what a run leaves: CSV log, checkpoints, best and final models, test
score, results.json), ``curves`` (the learning curves as a picture; matplotlib
optional, no keras), ``run`` (``fit`` and the training run) and ``contract`` (the
step contract: ``keras-jax-scaffold check`` and the project's
tests/test_step_contract.py).
"""

import os

# Keras reads the backend when it is first imported: the runtime needs JAX.
os.environ.setdefault("KERAS_BACKEND", "jax")
