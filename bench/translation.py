"""Train and measure the image-to-image recipes, and check the bars of docs/models.md:

- pix2pix on edges -> Fashion-MNIST has a lower FD to real garments than copying the input and than the
  same U-Net trained on L1 alone (``translation.adversarial_weight: 0``);
- CycleGAN on thin <-> thick digits (unpaired halves) is closer to the true transform than its input is,
  in L1 and in SSIM, in both directions.

    python bench/translation.py                          # about 50 minutes on 2 cores (Fashion-MNIST needed)
    python bench/translation.py --out runs/translation   # where the runs go; finished runs are only evaluated

Prints one row per run and direction (L1, PSNR, SSIM, FD, and the copy-input baseline) and exits non-zero
if a bar is missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: (run name, recipe, extra --set overrides)
RUNS = [
    ("pix2pix_fashion", "pix2pix_fashion", []),
    ("unet_l1_fashion", "pix2pix_fashion", ["translation.adversarial_weight=0"]),
    ("pix2pixhd_fashion", "pix2pixhd_fashion", []),
    ("cyclegan_digits", "cyclegan_digits", []),
]


def gan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gan_cli", *args], check=True, stdout=subprocess.DEVNULL)


def train(out: Path, name: str, recipe: str, overrides: list[str]) -> Path:
    run = out / name
    sets = [arg for value in overrides for arg in ("--set", value)]
    if (run / "recipe.yaml").is_file():
        gan("train", str(run), "--resume", "--no-progress")  # finishes an interrupted run; a finished one is kept
    else:
        gan("train", str(REPO / "recipes" / f"{recipe}.yaml"), "--out", str(run), "--no-progress", *sets)
    return run


def evaluate(run: Path, direction: str, n: int) -> dict:
    gan("eval", str(run), "--n", str(n), "--direction", direction, "--no-progress")
    name = "eval.json" if direction == "a2b" else "eval_b2a.json"
    return json.loads((run / name).read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "translation")
    parser.add_argument("--n", type=int, default=2000, help="test inputs per evaluation")
    args = parser.parse_args()
    results = {}
    print(f"{'run':20}{'dir':>5}{'L1':>9}{'PSNR':>8}{'SSIM':>8}{'FD':>9}  | copy input: {'L1':>7}{'SSIM':>8}{'FD':>9}")
    for name, recipe, overrides in RUNS:
        run = train(args.out, name, recipe, overrides)
        for direction in ("a2b", "b2a") if recipe.startswith("cyclegan") else ("a2b",):
            result = evaluate(run, direction, args.n)
            results[(name, direction)] = result
            out, copy = result["translation"].get("output", {}), result["translation"].get("copy_input", {})
            print(f"{name:20}{direction:>5}{out.get('l1', float('nan')):>9.4f}{out.get('psnr', float('nan')):>8.2f}"
                  f"{out.get('ssim', float('nan')):>8.4f}{result['metrics']['fd']:>9.3f}  |             "
                  f"{copy.get('l1', float('nan')):>7.4f}{copy.get('ssim', float('nan')):>8.4f}"
                  f"{copy.get('fd', float('nan')):>9.3f}")
    failures = []
    pix2pix = results[("pix2pix_fashion", "a2b")]
    fd = pix2pix["metrics"]["fd"]
    if not fd < pix2pix["translation"]["copy_input"]["fd"]:
        failures.append("pix2pix FD is not below copying the input")
    if not fd < results[("unet_l1_fashion", "a2b")]["metrics"]["fd"]:
        failures.append("pix2pix FD is not below the L1-only U-Net")
    for direction in ("a2b", "b2a"):
        spec = results[("cyclegan_digits", direction)]["translation"]
        out, copy = spec["output"], spec["copy_input"]
        if not (out["l1"] < copy["l1"] and out["ssim"] > copy["ssim"]):
            failures.append(f"CycleGAN {direction} is not closer to the truth than its input")
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
