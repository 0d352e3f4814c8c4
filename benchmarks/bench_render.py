"""How long `keras-jax-scaffold new` takes, next to copier rendering the same file.

Run:  python benchmarks/bench_render.py [--repeat N]

Four things are measured, each in a fresh subprocess as a user would see them:

* ``ours``:   ``keras-jax-scaffold new NAME --no-input ...`` writing NAME.py into an
  empty temp dir (the whole command: interpreter start, imports, Jinja, formatting,
  write). Its formatted-source cache (``KERAS_JAX_SCAFFOLD_CACHE_DIR``) is a temp dir
  that already holds this module, as after any earlier run: black is not imported.
* ``ours, empty cache``: the same with a new, empty cache directory every round (the
  first run ever, or after black changed): black is imported and formats the file.
* ``copier``: ``copier copy --defaults --data name=NAME --trust TEMPLATE DEST`` with a
  temp copier template whose single file ``{{name}}.py.jinja`` is the module our tool
  produced for the same answers (module and class names turned back into Jinja
  expressions), so copier renders and writes the same text.
* ``python -c pass``: the interpreter start floor.

The four alternate (rotated order each round) ``--repeat`` times; the table shows
median wall times and the median of the per-round ratios ours / copier.

Both tools run from compiled bytecode: pip compiles copier's modules when it installs
them, and this script compiles ours (``python -m compileall`` on the installed package
directory) because an editable install under ``PYTHONDONTWRITEBYTECODE=1`` would
otherwise recompile every module of ours on every run.

Then, in one fresh interpreter, the in-process stages of our render are timed (imports
of jinja2 / black / the package / the CLI, the first and the warm
``pipeline.render_spec``), and ``python -X importtime`` of the command checks that
neither keras nor jax is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAME = "bench_model"
CLASS_NAME = "BenchModel"
# Answers given to both tools (ours as flags; copier's file is our output for them).
FLAGS = [
    "--model-type",
    "functional",
    "--loss",
    "sparse_categorical_crossentropy",
    "--metric",
    "sparse_categorical_accuracy",
    "--input-shape",
    "64",
    "--num-classes",
    "10",
    "--hidden-units",
    "256",
]
BIN = Path(sys.executable).parent
CACHE_ENV = "KERAS_JAX_SCAFFOLD_CACHE_DIR"  # keras_jax_scaffold.format.CACHE_ENV
HEAVY = ("keras", "jax", "jaxlib", "tensorflow", "torch", "black")


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        sys.exit(f"error: {name} not found next to {sys.executable} or on PATH")
    return found


def run(
    cmd: list[str], cwd: str | None = None, env=None
) -> subprocess.CompletedProcess:
    if env is not None:
        env = {**os.environ, **env}
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(
            f"error: {' '.join(cmd)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def render_ours(out_dir: Path, cache: Path) -> Path:
    run(
        [
            tool("keras-jax-scaffold"),
            "new",
            NAME,
            "--no-input",
            *FLAGS,
            "--output-dir",
            str(out_dir),
        ],
        env={CACHE_ENV: str(cache)},
    )
    return out_dir / f"{NAME}.py"


def compile_package() -> str:
    """Compile our package's modules to bytecode, as a regular install does."""
    import importlib.util

    found = importlib.util.find_spec("keras_jax_scaffold")
    directory = next(iter(found.submodule_search_locations))
    run([sys.executable, "-m", "compileall", "-q", directory])
    return directory


def _jinja_safe(text: str) -> str:
    """Literal text for a Jinja template: raw-wrapped when it has Jinja delimiters."""
    if any(d in text for d in ("{{", "{%", "{#", "}}", "%}", "#}")):
        return "{% raw %}" + text + "{% endraw %}"
    return text


def make_copier_template(root: Path, module_text: str) -> Path:
    """A copier template rendering ``{{name}}.py`` from our output, names substituted."""
    template = root / "copier_template"
    template.mkdir()
    (template / "copier.yml").write_text(
        "name:\n"
        "  type: str\n"
        "  help: Module name\n"
        f"  default: {NAME}\n"
        "class_name:\n"
        "  type: str\n"
        "  default: \"{{ name.split('_') | map('capitalize') | join('') }}\"\n"
        "  when: false\n"
    )
    body = []
    for i, chunk in enumerate(module_text.split(NAME)):
        if i:
            body.append("{{ name }}")
        for j, part in enumerate(chunk.split(CLASS_NAME)):
            if j:
                body.append("{{ class_name }}")
            body.append(_jinja_safe(part))
    (template / "{{name}}.py.jinja").write_text("".join(body))
    return template


def render_copier(template: Path, dest: Path) -> Path:
    run(
        [
            tool("copier"),
            "copy",
            "--defaults",
            "--data",
            f"name={NAME}",
            "--trust",
            str(template),
            str(dest),
        ]
    )
    return dest / f"{NAME}.py"


# In-process stages, run in a fresh interpreter; prints one JSON line.
STAGES = r"""
import json, statistics, sys, time
T = time.perf_counter
out = {}
# The cache (KERAS_JAX_SCAFFOLD_CACHE_DIR) starts empty: the first format misses.
t = T(); import jinja2; out["import jinja2"] = T() - t
t = T()
from keras_jax_scaffold import pipeline
from keras_jax_scaffold.context import build_context
from keras_jax_scaffold.format import format_files
from keras_jax_scaffold.layout import MODULE
from keras_jax_scaffold.render import render_files
from keras_jax_scaffold.spec import Answers, build_spec
out["import keras_jax_scaffold.pipeline (rest; black not imported)"] = T() - t
black_at_import = "black" in sys.modules
t = T(); import keras_jax_scaffold.cli; out["import keras_jax_scaffold.cli (typer)"] = T() - t
answers = Answers(name=NAME, model_type="functional",
                  loss="sparse_categorical_crossentropy",
                  metrics=("sparse_categorical_accuracy",), input_shape="64",
                  num_classes=10, hidden_units=256)
t = T(); spec = build_spec(answers); context = build_context(spec)
out["first: build_spec + build_context"] = T() - t
t = T(); rendered = render_files(context, MODULE); out["first: Jinja render (incl. template compile)"] = T() - t
t = T(); formatted = format_files(rendered)
out["first: format, cache miss (import black + black)"] = T() - t
t = T(); format_files(rendered); out["first: format, cache hit"] = T() - t
import black
from keras_jax_scaffold.format import TARGET_VERSION
mode = black.Mode(target_versions={getattr(black.TargetVersion, TARGET_VERSION)})
warm, warm_jinja, warm_black, warm_hit = [], [], [], []
for _ in range(REPEAT):
    t = T(); pipeline.render_spec(build_spec(answers)); warm.append(T() - t)
    t = T(); r = render_files(build_context(build_spec(answers)), MODULE); warm_jinja.append(T() - t)
    t = T(); black.format_str(next(iter(r.values())).source, mode=mode); warm_black.append(T() - t)
    t = T(); format_files(r); warm_hit.append(T() - t)
out["warm: render_spec, cache hit (median)"] = statistics.median(warm)
out["warm: Jinja render (median)"] = statistics.median(warm_jinja)
out["warm: black.format_str alone (median)"] = statistics.median(warm_black)
out["warm: format, cache hit (median)"] = statistics.median(warm_hit)
project = []
for _ in range(REPEAT):
    t = T(); pipeline.render_spec(build_spec(answers), layout="project"); project.append(T() - t)
out["warm: render_spec of a project, 13 files (median)"] = statistics.median(project)
# The command as the console script runs it, in-process: Typer parsing (Typer >= 0.2x
# coerces parameters through pydantic, imported lazily here), render, write.
had_pydantic = "pydantic" in sys.modules
t = T()
try:
    import typer._adapters  # Typer's pydantic-based coercion, imported on first use
except ImportError:
    pass
out["import typer._adapters (pydantic; lazy in Typer)"] = T() - t
out_pydantic = (not had_pydantic) and "pydantic" in sys.modules
cli_args = ["new", NAME, "--no-input", *FLAGS, "--output-dir", OUT_DIR, "--force"]
t = T()
keras_jax_scaffold.cli.app(cli_args, standalone_mode=False)
out["first CLI dispatch in-process (Typer + render + write)"] = T() - t
t = T()
keras_jax_scaffold.cli.app(cli_args, standalone_mode=False)
out["second CLI dispatch in-process"] = T() - t
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("keras", "jax", "jaxlib", "tensorflow", "torch"))
print(json.dumps({"stages": out, "heavy": heavy, "pydantic_by_cli": out_pydantic,
                  "black_at_import": black_at_import,
                  "lines": len(next(iter(formatted.values())).splitlines())}))
"""


def importtime_check(out_dir: Path, cache: Path) -> tuple[float, list[str], int]:
    """Total import time (sum of self times, s), heavy modules seen (keras, jax and,
    with the warm ``cache``, black), modules imported."""
    script = tool("keras-jax-scaffold")
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            script,
            "new",
            NAME,
            "--no-input",
            *FLAGS,
            "--output-dir",
            str(out_dir),
        ],
        capture_output=True,
        check=False,
        text=True,
        env={**os.environ, CACHE_ENV: str(cache)},
    )
    if result.returncode != 0:
        sys.exit(f"error: importtime run failed:\n{result.stderr[-2000:]}")
    total_us, heavy, count = 0, set(), 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, _cumulative, module = (p.strip() for p in line[12:].split("|"))
        total_us += int(self_us)
        count += 1
        name = module.strip()
        if name.split(".")[0] in HEAVY:
            heavy.add(name.split(".")[0])
    return total_us / 1e6, sorted(heavy), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=15,
        help="rounds of (ours, copier, python -c pass); default 15",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kjs-bench-render-") as tmp:
        root = Path(tmp)
        print(f"compiled to bytecode: {compile_package()}")
        cache = root / "cache"  # warmed by this first render
        module_text = render_ours(root / "reference", cache).read_text()
        template = make_copier_template(root, module_text)
        copied = render_copier(template, root / "copier_check").read_text()
        same = copied == module_text
        print(f"copier output identical to ours: {same}")
        if not same:
            print("  (copier output differs; timings are still of comparable work)")

        load = os.getloadavg()[0]
        runners = {
            "keras-jax-scaffold new": lambda d: render_ours(d, cache),
            "keras-jax-scaffold new, empty cache": lambda d: render_ours(
                d, d.with_name(d.name + "-cache")
            ),
            "copier copy": lambda d: render_copier(template, d),
            "python -c pass": lambda d: run([sys.executable, "-c", "pass"]),
        }
        names = list(runners)
        times = {n: [] for n in names}
        k = len(names)
        for r in range(args.repeat):
            order = names[r % k :] + names[: r % k]  # rotate to cancel order effects
            for n in order:
                dest = root / f"run{r}-{names.index(n)}"
                dest.mkdir()
                t = time.perf_counter()
                runners[n](dest)
                times[n].append(time.perf_counter() - t)
        copier = times["copier copy"]
        ratios = [a / b for a, b in zip(times[names[0]], copier)]
        ratios_empty = [a / b for a, b in zip(times[names[1]], copier)]
        ratios_floor = [a / b for a, b in zip(times[names[0]], times["python -c pass"])]

        print(
            f"\n### Whole command, {args.repeat} interleaved rounds "
            f"({os.cpu_count()} CPUs, load average {load:.2f} at start)\n"
        )
        print("| command | median wall s | min s | max s |")
        print("|---|---:|---:|---:|")
        for n in names:
            v = times[n]
            print(
                f"| `{n}` | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} |"
            )
        print(
            f"\nmedian of paired ratios ours / copier: "
            f"**{statistics.median(ratios):.2f}** "
            f"(range {min(ratios):.2f}-{max(ratios):.2f})"
        )
        print(
            f"median of paired ratios ours with an empty cache / copier: "
            f"**{statistics.median(ratios_empty):.2f}** "
            f"(range {min(ratios_empty):.2f}-{max(ratios_empty):.2f})"
        )
        print(
            f"median of paired ratios ours / `python -c pass`: "
            f"{statistics.median(ratios_floor):.2f}"
        )

        interpreters = 5
        runs = []
        for i in range(interpreters):
            stage_script = (
                f"NAME = {NAME!r}\nREPEAT = 5\nFLAGS = {FLAGS!r}\n"
                f"OUT_DIR = {str(root / f'stages{i}')!r}\n" + STAGES
            )
            out = run(
                [sys.executable, "-c", stage_script],
                env={CACHE_ENV: str(root / f"stages{i}-cache")},
            ).stdout
            runs.append(json.loads(out.splitlines()[-1]))
        stages = runs[-1]
        print(
            "\n### In-process stages of our render "
            f"(median over {interpreters} fresh interpreters, start-up excluded)\n"
        )
        print("| stage | s |")
        print("|---|---:|")
        for label in stages["stages"]:
            seconds = statistics.median(r["stages"][label] for r in runs)
            print(f"| {label} | {seconds:.4f} |")
        print(
            f"\n(generated module: {stages['lines']} lines; "
            f"heavy modules in sys.modules after rendering: "
            f"{stages['heavy'] or 'none'})"
        )
        print(
            "(black imported by importing the pipeline: "
            f"{any(r['black_at_import'] for r in runs)})"
        )
        if stages["pydantic_by_cli"]:
            print(
                "(Typer imports pydantic for parameter coercion the first time a "
                "command runs; the `import typer._adapters` row is that cost)"
            )

        total, heavy, count = importtime_check(root / "importtime", cache)
        print(
            f"\n`python -X importtime keras-jax-scaffold new ...` (warm cache): "
            f"{count} modules, sum of self import times {total:.3f} s; "
            f"keras/jax/black imported: {', '.join(heavy) if heavy else 'none'}"
        )


if __name__ == "__main__":
    main()
