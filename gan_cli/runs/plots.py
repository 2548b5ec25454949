"""Loss curves of runs, drawn with matplotlib (Agg, no display needed): ``RUN/loss_curves.png`` at the end of
training and ``gan report``'s figures (one run or several overlaid)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gan_cli.files import write_atomic

#: The panels of the loss-curve figure and the ``metrics.csv`` columns each may show (GAN and translation).
LOSS_PANELS = (
    ("losses", ("d_loss", "g_loss", "d_a_loss", "d_b_loss")),
    ("mean D score", ("d_real", "d_fake")),
    ("generator terms", ("g_adv", "l1", "val_l1", "cycle", "identity", "fm")),
    ("ADA probability", ("augment_p",)),
    ("FD during training", ("fd",)),
)
_LINE_STYLES = ("-", "--", ":", "-.")


def plot_loss_curves(rows: Sequence[Mapping[str, Any]], path: Path, title: str = "") -> None:
    """Write one run's curves (:func:`draw_loss_curves`, rows at their epoch) to ``path`` atomically."""
    write_atomic(path, draw_loss_curves([(title, rows, None)], title=title))


def draw_loss_curves(series: Sequence[tuple[str, Sequence[Mapping[str, Any]], int | None]], title: str = "") -> bytes:
    """A PNG of the runs' ``metrics.csv`` rows against epoch: one panel per group of :data:`LOSS_PANELS` that
    any run has values for. One run: a colour per column. Several: a colour per run, a line style per column.

    Args:
        series: ``(name, rows, steps_per_epoch)`` per run; with ``steps_per_epoch`` a row of a partial epoch
            is drawn at its fractional epoch (``step / steps_per_epoch``), else at its ``epoch`` number.
        title: drawn above the panels when given.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(name, [c for c in columns if any(c in row for _, rows, _ in series for row in rows)])
              for name, columns in LOSS_PANELS]
    panels = [(name, columns) for name, columns in panels if columns] or [("losses", [])]
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 2.4 * len(panels) + 0.6), sharex=True, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (panel, columns), ax in zip(panels, axes[:, 0]):
        for run_number, (name, rows, per_epoch) in enumerate(series):
            for column_number, column in enumerate(columns):
                points = [(_epoch_position(row, per_epoch), row[column]) for row in rows
                          if column in row and "epoch" in row]
                if not points:
                    continue
                label = column_label(column, translation=any("g_adv" in row for row in rows))
                if len(series) == 1:
                    style = {"color": colours[column_number % len(colours)], "label": label}
                else:
                    style = {"color": colours[run_number % len(colours)],
                             "linestyle": _LINE_STYLES[column_number % len(_LINE_STYLES)], "label": f"{name}: {label}"}
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="." if len(points) < 20 else None, **style)
        ax.set_ylabel(panel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="best")
    axes[-1, 0].set_xlabel("epoch")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, facecolor="white")
    plt.close(figure)
    return buffer.getvalue()


def column_label(column: str, translation: bool) -> str:
    """A ``metrics.csv`` column as the epoch lines name it: D's mean scores as D(x) and D(G(z)) (a translation's
    G takes images: D(G(x))), every other column by its name."""
    return {"d_real": "D(x)", "d_fake": "D(G(x))" if translation else "D(G(z))"}.get(column, column)


def _epoch_position(row: Mapping[str, Any], steps_per_epoch: int | None) -> float:
    if steps_per_epoch and "step" in row:
        return float(row["step"]) / steps_per_epoch
    return float(row["epoch"])
