"""Loss curves of a run, drawn with matplotlib (Agg, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gan_cli.files import write_atomic  # noqa: E402


def plot_loss_curves(rows: Sequence[dict[str, float]], path: Path, title: str = "") -> None:
    """Write a two-panel PNG: D and G losses, and D's mean scores D(x) and D(G(z)), per epoch (named as the
    epoch lines name them: a translation's G takes images, so its fakes' score is D(G(x)))."""
    epochs = [row["epoch"] for row in rows]
    figure, (losses, scores) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    losses.plot(epochs, [r["d_loss"] for r in rows], label="d_loss")
    losses.plot(epochs, [r["g_loss"] for r in rows], label="g_loss")
    losses.set_ylabel("loss")
    losses.legend()
    losses.grid(alpha=0.3)
    scores.plot(epochs, [r["d_real"] for r in rows], label="D(x)")
    translation = any("g_adv" in r for r in rows)
    scores.plot(epochs, [r["d_fake"] for r in rows], label="D(G(x))" if translation else "D(G(z))")
    scores.set_xlabel("epoch")
    scores.set_ylabel("mean D score")
    scores.legend()
    scores.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    write_atomic(path, buffer.getvalue())
