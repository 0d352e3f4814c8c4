"""Run by generator/test_templates.py in a fresh process (so that ``sys.modules``
starts empty): render docs/templates.md and docs/cli.md with
scripts/gen_template_reference.py and scripts/gen_cli_reference.py and print which of
keras and jax that imported (none).

Usage: python tests/scripts/reference_imports.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo: `scripts`

from scripts import gen_cli_reference, gen_template_reference

gen_template_reference.render_reference()
gen_cli_reference.render_reference()
print(sorted({"keras", "jax"} & set(sys.modules)))
