"""Run by generated/test_generated_module.py in a fresh process, in the directory of a
generated module: import the module NAME (it sets or checks KERAS_BACKEND), then
keras, and print the backend keras chose.

Usage: python tests/scripts/import_generated.py NAME
"""

import importlib
import os
import sys

sys.path.insert(0, os.getcwd())  # the generated module's directory
importlib.import_module(sys.argv[1])

import keras  # after the module, which sets KERAS_BACKEND

print(keras.backend.backend())
