"""Programs the tests run in a fresh Python process (their own XLA device flags, a
clean ``sys.modules``, a SIGKILL): run as files (``python tests/scripts/NAME.py``),
except ``keras_suite_plugin``, which a pytest subprocess loads with
``-p tests.scripts.keras_suite_plugin``. None of them is collected as a test."""
