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
  CPU seconds (its ``train.steps`` set from its ms/step on this machine: ``EQUAL_TIME_STEPS``).

    python bench/modern.py                       # every experiment, 3 seeds (hours on 2 cores: each run's train
                                                 # seconds are in docs/models.md)
    python bench/modern.py small --seeds 0 1 2 --out runs/modern

Results are recorded in docs/models.md. A finished run is not trained again (delete it to re-train).
"""

from __future__ import annotations

import argparse
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
EXPERIMENTS: dict[str, list[tuple[str, str, list[str]]]] = {
    "biggan": [("biggan_digits", "biggan_digits", []), ("dcgan_digits", "dcgan_digits", []),
               ("cgan_digits", "cgan_digits", [])],
    "small": [("dcgan 500", "dcgan_digits", SMALL), ("+ DiffAugment", "dcgan_digits", [*SMALL, AUGMENT]),
              ("+ ADA", "dcgan_digits", [*SMALL, AUGMENT, "augment.ada=true", "augment.ada_images=20000"])],
    "fashion": [("biggan_fashion", "biggan_fashion", []), ("cgan projection", "cgan_mnist", CGAN_PROJECTION)],
    "equal-time": [("biggan_digits", "biggan_digits", []), ("stylegan_digits", "stylegan_digits", []),
                   ("dcgan_digits", "dcgan_digits", ["train.epochs=100000", f"train.steps={EQUAL_TIME_STEPS}",
                                                     "sampling.every_epochs=500", "checkpoints.every_epochs=500"])],
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
    lines = (run / "metrics.csv").read_text().splitlines()
    p = dict(zip(lines[0].split(","), lines[-1].split(","))).get("augment_p")
    if p:
        row["ada_p"] = float(p)
    return row


def spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                        help=f"of {', '.join(EXPERIMENTS)} (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "modern")
    parser.add_argument("--n", type=int, default=2000, help="samples per evaluation")
    args = parser.parse_args()
    unknown = [name for name in args.experiments if name not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment {unknown[0]}; choose from {', '.join(EXPERIMENTS)}")
    for experiment in args.experiments or list(EXPERIMENTS):
        print(f"## {experiment}: median [min, max] over seeds {args.seeds}, gan eval --n {args.n}")
        for label, recipe, overrides in EXPERIMENTS[experiment]:
            rows = []
            for seed in args.seeds:
                slug = label.replace(" ", "_").replace("+", "plus")
                rows.append(measured(args.out / experiment / f"{slug}-seed{seed}", recipe, overrides, seed, args.n))
            line = (f"{label:16} steps {rows[0]['steps']:6d}  seconds {spread([r['seconds'] for r in rows], 0):>18}  "
                    f"FD {spread([r['fd'] for r in rows])}")
            if "accuracy" in rows[0]:
                line += (f"  label accuracy {spread([r['accuracy'] for r in rows], 3)}  "
                         f"intra-FD {spread([r['intra_fd'] for r in rows])}  "
                         f"(evaluator on real test images: {rows[0]['evaluator_accuracy']:.3f})")
            if "ada_p" in rows[0]:
                line += f"  final ADA p {spread([r['ada_p'] for r in rows], 3)}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
