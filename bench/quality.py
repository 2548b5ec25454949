"""Train each shipped digits recipe with its defaults, measure it with ``gan eval``, and check the
curriculum's quality bar: samples cover at least 9 of the 10 digit classes, and a conditional GAN's samples
are classified as their requested label at least 90% of the time, and InfoGAN's categorical code reaches
70% purity when its values are mapped to classes by majority vote.

    python bench/quality.py                     # all digits recipes, about 10 minutes on 2 cores
    python bench/quality.py dcgan_digits wgan_gp_digits --out runs/quality

Prints one row per recipe (seconds, steps, FD and its floor, classes covered, classifier score) and
exits non-zero if a recipe misses the bar. Results are recorded in docs/models.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPES = ["gan_digits", "dcgan_digits", "lsgan_digits", "wgan_digits", "wgan_gp_digits", "hinge_sn_digits",
           "cgan_digits", "infogan_digits"]
MIN_PURITY = 0.7
MIN_CONDITIONAL_ACCURACY = 0.9
MIN_CLASSES = 9


def gan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gan_cli", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=RECIPES)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "quality")
    parser.add_argument("--n", type=int, default=2000, help="samples per evaluation")
    args = parser.parse_args()
    failed = []
    print(f"{'recipe':18} {'seconds':>8} {'steps':>6} {'FD':>8} {'floor':>6} {'classes':>7} {'score':>6}")
    for name in args.recipes:
        recipe = REPO / "recipes" / ("digits_gan.yaml" if name == "gan_digits" else f"{name}.yaml")
        run = args.out / name
        if not (run / "summary.json").is_file():
            started = time.perf_counter()
            gan("train", str(recipe), "--out", str(run))
            print(f"# trained {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        gan("eval", str(run), "--n", str(args.n))
        summary = json.loads((run / "summary.json").read_text())
        result = json.loads((run / "eval.json").read_text())
        labels = result["metrics"]["labels"]
        print(f"{name:18} {summary['seconds']:8.0f} {summary['steps']:6d} {result['metrics']['fd']:8.2f} "
              f"{result['floor']['fd']:6.2f} {labels['classes_covered']:4d}/{labels['num_classes']} "
              f"{result['metrics']['classifier_score']['mean']:6.2f}")
        conditional = result["metrics"].get("conditional_accuracy")
        if conditional is not None:
            print(f"{'':18} conditional accuracy {conditional['overall']:.3f}")
        purity = result["metrics"].get("code_purity")
        if purity is not None:
            print(f"{'':18} c1 purity {purity['purity']:.3f} over {purity['classes_reached']} classes")
        weak_conditioning = (conditional is not None and conditional["overall"] < MIN_CONDITIONAL_ACCURACY) or (
            purity is not None and purity["purity"] < MIN_PURITY)
        if labels["classes_covered"] < MIN_CLASSES or weak_conditioning:
            failed.append(name)
    if failed:
        print(f"below the bar: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
