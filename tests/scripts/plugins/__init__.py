"""pytest plugins the suite loads into pytest runs of its own and of generated
projects (this folder goes on a subprocess's PYTHONPATH: each module imports alone)."""
