# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""The learning curves of a run as a picture beside its CSV log (`draw`): the loss
and each metric per epoch, training and validation. matplotlib is an optional extra
of the project (`pip install -e .[plots]`); without it `draw` says so in one line
and training goes on. No keras, no jax.
"""

import math
from pathlib import Path

# Plots per row of the picture.
COLUMNS = 3


def picture_path(csv_path):
    """The picture beside the CSV log: the same name, ending in .png."""
    return Path(csv_path).with_suffix(".png")


def series(rows):
    """`{log: {epoch: value}}` of the numeric logs of the CSV rows (epoch from 1)."""
    found = {}
    for row in rows:
        for name, text in row.items():
            if name == "epoch":
                continue
            try:
                value = float(text)
            except (TypeError, ValueError):
                continue  # an empty cell, or a log that is not one number
            if math.isfinite(value):
                found.setdefault(name, {})[int(row["epoch"])] = value
    return found


def panels(logs):
    """The plots: one per log without its `val_` prefix, "loss" first, each with
    the training and the validation curve (those that exist)."""
    names = sorted(
        {name.removeprefix("val_") for name in logs},
        key=lambda name: (name != "loss", name),
    )
    return [
        (name, [(label, logs[key]) for label, key in
                (("training", name), ("validation", f"val_{name}")) if key in logs])
        for name in names
    ]  # fmt: skip


def draw(csv_path, rows):
    """Draw the curves of `rows` (the CSV log's, see `results.EpochLog`) next to
    `csv_path`; returns the picture's path, or None (nothing logged, or no
    matplotlib: a one-line note says how to get it)."""
    logs = series(rows)
    if not logs:
        return None
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        print(
            "note: no learning curves picture: matplotlib is not installed "
            "(pip install -e .[plots]); the logs are in " + str(csv_path)
        )
        return None
    plots = panels(logs)
    columns = min(COLUMNS, len(plots))
    lines = math.ceil(len(plots) / columns)
    figure = Figure(figsize=(4.5 * columns, 3.2 * lines), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(lines, columns, squeeze=False).ravel()
    for ax, (name, curves) in zip(axes, plots):
        for label, values in curves:
            epochs = sorted(values)
            ax.plot(epochs, [values[e] for e in epochs], marker=".", label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(plots) :]:
        ax.set_visible(False)
    path = picture_path(csv_path)
    partial = path.with_name(f".partial.{path.name}")
    figure.savefig(partial, format="png", dpi=100, metadata={"Software": None})
    partial.replace(path)
    return path
