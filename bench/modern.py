"""Measure the modern techniques against their baselines, 3 seeds each, with ``gan eval``: the median and the
spread (min to max) of FD, and for conditional runs the label accuracy and intra-FD.

Experiments (each a shipped recipe plus ``--set`` overrides):

- ``biggan``: ``biggan_digits`` beside ``dcgan_digits`` and ``cgan_digits`` (their defaults; train seconds are
  reported so CPU time can be compared);
- ``small``: ``dcgan_digits`` on 500 digits (``data.limit: 500``) for a fixed number of steps, without
  augmentation, with DiffAugment (color, translation, cutout) and with ADA;
- ``fashion``: ``biggan_fashion`` (5 epochs of Fashion-MNIST, 28x28) beside ``cgan_mnist`` on the same data and
  epochs with a projection D: label accuracy next to the evaluator's own accuracy on real test images;
- ``equal-time``: ``biggan_digits`` and ``stylegan_digits`` at their defaults beside ``dcgan_digits`` given the same
  CPU seconds (its ``train.steps`` set from its ms/step on this machine: ``EQUAL_TIME_STEPS``);
- ``curve``: FD against training minutes on Fashion-MNIST for ``dcgan_mnist`` at its 25 epochs and the best 28x28
  recipe, evaluated after every epoch (``eval.every: 1``); minutes are steps times ``--ms-per-step`` (a quiet
  machine's figure) or the runs' median ms/step (so the evaluations and a
  busy moment do not count); the plot is written to ``OUT/curve/fd_vs_minutes.png``.

    python bench/modern.py                       # every experiment, 3 seeds (hours on 2 cores: each run's train
                                                 # seconds are in docs/models.md)
    python bench/modern.py small --seeds 0 1 2 --out runs/modern

Results are recorded in docs/models.md. A finished run is not trained again (delete it to re-train).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SMALL = ["data.limit=500", "train.epochs=1000", "train.steps=1500", "sampling.every_epochs=1000",
         "checkpoints.every_epochs=1000"]
AUGMENT = "augment.policy=[color, translation, cutout]"
FASHION = "data.source=fashion_mnist"
#: cgan_mnist with a projection D (its score linear, read as logits by bce), 5 epochs as biggan_fashion
CGAN_PROJECTION = [FASHION, "train.epochs=5", "condition.discriminator=projection",
                   "discriminator.output_activation=linear", "sampling.every_epochs=5"]
#: dcgan_digits' steps in about the CPU seconds biggan_digits takes (both timed on 2 quiet cores: docs/models.md)
EQUAL_TIME_STEPS = 28000
CURVE = [("dcgan_mnist", "dcgan_mnist", [FASHION, "eval.every=1"]),
         ("cdcgan_fashion", "cdcgan_fashion", ["eval.every=1"])]
EXPERIMENTS: dict[str, list[tuple[str, str, list[str]]]] = {
    "biggan": [("biggan_digits", "biggan_digits", []), ("dcgan_digits", "dcgan_digits", []),
               ("cgan_digits", "cgan_digits", [])],
    "small": [("dcgan 500", "dcgan_digits", SMALL), ("+ DiffAugment", "dcgan_digits", [*SMALL, AUGMENT]),
              ("+ ADA", "dcgan_digits", [*SMALL, AUGMENT, "augment.ada=true", "augment.ada_images=20000"])],
    "fashion": [("biggan_fashion", "biggan_fashion", []), ("cgan projection", "cgan_mnist", CGAN_PROJECTION),
                ("cgan", "cgan_mnist", [FASHION, "train.epochs=5", "sampling.every_epochs=5"])],
    "equal-time": [("biggan_digits", "biggan_digits", []), ("stylegan_digits", "stylegan_digits", []),
                   ("dcgan_digits", "dcgan_digits", ["train.epochs=100000", f"train.steps={EQUAL_TIME_STEPS}",
                                                     "sampling.every_epochs=500", "checkpoints.every_epochs=500"])],
    "curve": CURVE,
}


def gan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gan_cli", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def measured(run: Path, recipe: str, overrides: list[str], seed: int, n: int) -> dict[str, Any]:
    """Train (unless finished) and evaluate one run; its summary and evaluation numbers."""
    if not (run / "summary.json").is_file():
        sets = [arg for key in [*overrides, f"seed={seed}"] for arg in ("--set", key)]
        gan("train", recipe, "--out", str(run), *sets)
    gan("eval", str(run), "--n", str(n), "--replace")
    summary = json.loads((run / "summary.json").read_text())
    evaluation = json.loads((run / "eval.json").read_text())
    metrics = evaluation["metrics"]
    row = {"seconds": summary["seconds"], "steps": summary["steps"], "fd": metrics["fd"]}
    if "conditional_accuracy" in metrics:
        row["accuracy"] = metrics["conditional_accuracy"]["overall"]
        row["intra_fd"] = metrics["intra_fd"]["mean"]
        row["evaluator_accuracy"] = evaluation["evaluator"]["test_accuracy"]
    shares = evaluation["metrics"].get("labels", {}).get("fake_shares")
    if shares:
        row["shares"] = (min(shares), max(shares))
    with (run / "metrics.csv").open() as lines:
        epochs = list(csv.DictReader(lines))
    if epochs[-1].get("augment_p"):
        row["ada_p"] = float(epochs[-1]["augment_p"])
    row["ms_per_step"] = statistics.median(float(epoch["ms_per_step"]) for epoch in epochs)
    row["curve"] = [(int(epoch["step"]), float(epoch["fd"])) for epoch in epochs if epoch.get("fd")]
    return row


def curve(rows_by_label: dict[str, list[dict[str, Any]]], plot: Path, ms_per_step: dict[str, float]) -> None:
    """Print and plot the median FD (over seeds) after each epoch against training minutes: steps times
    ``ms_per_step[label]`` where given (a quiet machine's figure from ``bench/speed.py --modern``), else times the
    run's own median ms/step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for label, rows in rows_by_label.items():
        epochs = min(len(row["curve"]) for row in rows)
        ms = ms_per_step.get(label, statistics.median(row["ms_per_step"] for row in rows))
        minutes = [rows[0]["curve"][i][0] * ms / 60000 for i in range(epochs)]
        fds = [[row["curve"][i][1] for row in rows] for i in range(epochs)]
        print(f"{label}: " + "  ".join(f"{m:.1f} min FD {statistics.median(f):.1f}" for m, f in zip(minutes, fds)))
        seeds = f"{len(rows)} seed{'s' * (len(rows) > 1)}"
        axes.plot(minutes, [statistics.median(f) for f in fds], marker=".", label=f"{label} ({seeds})")
        axes.fill_between(minutes, [min(f) for f in fds], [max(f) for f in fds], alpha=0.2)
    axes.set(xlabel="training minutes (2 CPU cores)", ylabel="FD (gan eval protocol, 2,000 samples)", yscale="log",
             title="Fashion-MNIST: median and range over seeds")
    axes.legend()
    axes.grid(alpha=0.3)
    plot.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(plot, dpi=100, bbox_inches="tight")
    print(f"plot: {plot}")


def spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                        help=f"of {', '.join(EXPERIMENTS)} (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "modern")
    parser.add_argument("--n", type=int, default=2000, help="samples per evaluation")
    parser.add_argument("--only", nargs="+", metavar="LABEL", help="only these rows of the experiments")
    parser.add_argument("--trained-only", action="store_true",
                        help="evaluate and report the runs already trained; train nothing")
    parser.add_argument("--ms-per-step", nargs="+", default=[], metavar="LABEL=MS",
                        help="curve: convert steps to minutes at these ms/step (e.g. dcgan_mnist=53.4), measured on "
                             "a quiet machine by bench/speed.py --modern; default: each run's own median")
    args = parser.parse_args()
    unknown = [name for name in args.experiments if name not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment {unknown[0]}; choose from {', '.join(EXPERIMENTS)}")
    for experiment in args.experiments or list(EXPERIMENTS):
        print(f"## {experiment}: median [min, max] over seeds {args.seeds}{' (those trained)' * args.trained_only}, "
              f"gan eval --n {args.n}")
        rows_by_label = {}
        for label, recipe, overrides in EXPERIMENTS[experiment]:
            if args.only and label not in args.only:
                continue
            rows = []
            for seed in args.seeds:
                run = args.out / experiment / f"{label.replace(' ', '_').replace('+', 'plus')}-seed{seed}"
                if args.trained_only and not (run / "summary.json").is_file():
                    continue
                rows.append(measured(run, recipe, overrides, seed, args.n))
            if not rows:
                continue
            line = (f"{label:16} steps {rows[0]['steps']:6d}  seconds {spread([r['seconds'] for r in rows], 0):>18}  "
                    f"FD {spread([r['fd'] for r in rows])}")
            if "accuracy" in rows[0]:
                line += (f"  label accuracy {spread([r['accuracy'] for r in rows], 3)}  "
                         f"intra-FD {spread([r['intra_fd'] for r in rows])}  "
                         f"(evaluator on real test images: {rows[0]['evaluator_accuracy']:.3f})")
            if "ada_p" in rows[0]:
                line += f"  final ADA p {spread([r['ada_p'] for r in rows], 3)}"
            if "shares" in rows[0]:
                line += (f"  class shares {min(r['shares'][0] for r in rows):.3f}"
                         f"-{max(r['shares'][1] for r in rows):.3f}")
            print(line, flush=True)
            rows_by_label[label] = rows
        if experiment == "curve":
            ms = {label: float(value) for label, value in (pair.split("=") for pair in args.ms_per_step)}
            curve(rows_by_label, args.out / experiment / "fd_vs_minutes.png", ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
