"""``make bench``: the tutorial loop and ``gan train`` side by side, and how close ``gan`` gets to the machine.

Runs, interleaved, ``--reps`` times each: the Keras MNIST GAN tutorial's loop as written
(``bench/tutorial_loop.py``) and ``gan train recipes/mnist_gan.yaml``, both on Fashion-MNIST with batch 128,
``--steps`` steps each, every run in its own process; then once each: DCGAN on 32x32x3 images and pix2pix
(``recipes/pix2pix_fashion.yaml``). Prints the median ms/step of each, the ratio, the achieved GFLOP/s
(counted from the models' Dense/Conv layers: forward 2·MACs, backward twice that for the updated model and
once for a frozen one passing gradients through), the machine's fp32 and bf16 matmul throughput measured
now at the tutorial step's own matmul shapes, the fraction of it reached (by the median run, and by the
fastest run: the peak is itself the best of five windows), and the peak memory (RSS) of each process.

    python bench/speed.py                  # about 5 minutes on 2 cores; needs Fashion-MNIST
    python bench/speed.py --reps 5 --steps 300
    python bench/speed.py --scaling        # step cost against batch size and model width
    python bench/speed.py --modern         # what EMA, augmentation, R1 and BigGAN/StyleGAN-mini cost per step
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
BATCH = 128
#: (inputs, outputs) of the tutorial's Dense layers
GENERATOR = [(100, 256), (256, 512), (512, 1024), (1024, 784)]
DISCRIMINATOR = [(784, 1024), (1024, 512), (512, 256), (256, 1)]


def macs(layers: list[tuple[int, int]]) -> int:
    return sum(i * o for i, o in layers)


def tutorial_step_flops(batch: int = BATCH) -> float:
    """FLOPs of one tutorial step: D's update on 2B images (forward + backward 2x), G's forward for the B
    fakes, and the combined update on B latents (G forward + backward 2x, frozen D forward + input
    gradients 1x)."""
    g, d = 2 * macs(GENERATOR), 2 * macs(DISCRIMINATOR)
    return 3 * (2 * batch) * d + batch * g + 3 * batch * g + 2 * batch * d


def matmul_throughput(dtype: str, seconds: float = 5.0) -> float:
    """GFLOP/s of TensorFlow's matmul over the tutorial step's own shapes (every Dense layer's forward,
    input-gradient and weight-gradient products at B and 2B rows), as one traced function run one matmul
    at a time (inter-op parallelism 1; each matmul still uses every core); the best of five windows."""
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # one op at a time, as in a step's chain of layers
        tf.config.threading.set_inter_op_parallelism_threads(1)
    shapes = []
    for rows, layers in ((BATCH, GENERATOR), (2 * BATCH, DISCRIMINATOR), (BATCH, DISCRIMINATOR)):
        for k, n in layers:
            shapes += [(rows, k, n), (rows, n, k), (k, rows, n)]
    pairs = [(tf.random.normal((m, k), dtype=dtype), tf.random.normal((k, n), dtype=dtype)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)

    @tf.function(autograph=False)
    def run() -> list:
        return [tf.reduce_sum(tf.matmul(a, b)) for a, b in pairs]

    run()
    best = 0.0
    for _ in range(5):  # the best of five windows: the peak, not an average over a noisy machine's moments
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 5:
            [t.numpy() for t in run()]
            count += 1
        best = max(best, flops * count / (time.perf_counter() - start) / 1e9)
    return best


def run_tutorial(steps: int) -> dict:
    out = subprocess.run([sys.executable, str(REPO / "bench" / "tutorial_loop.py"), "--steps", str(steps)],
                         check=True, capture_output=True, text=True).stdout
    ms = float(re.search(r"median ([\d.]+) ms/step", out).group(1))  # type: ignore[union-attr]
    rss = float(re.search(r"peak RSS ([\d.]+) MB", out).group(1))  # type: ignore[union-attr]
    return {"ms_per_step": ms, "peak_rss_mb": rss}


def run_gan(recipe: str, steps: int, *sets: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        args = [sys.executable, "-m", "gan_cli", "train", str(REPO / "recipes" / recipe), "--out", str(run),
                "--no-progress", "--set", f"train.steps={steps}", "--set", "sampling.every_epochs=1000",
                "--set", "checkpoints.every_epochs=1000"]
        for value in sets:
            args += ["--set", value]
        subprocess.run(args, check=True, capture_output=True, text=True)
        summary = json.loads((run / "summary.json").read_text())
    return {"ms_per_step": summary["ms_per_step"], "peak_rss_mb": summary.get("peak_rss_mb"),
            "precision": summary.get("precision")}


def scaling(steps: int, fashion: str) -> int:
    """ms/step and ms per image of the tutorial recipe at batch 64..512 and at half, normal and double
    width (every Dense layer of G and D), in the precision ``auto`` picks."""
    print(f"{'batch':>6}{'width':>7}{'ms/step':>9}{'ms/image':>10}")
    for batch, factor in ((64, 1), (128, 1), (256, 1), (512, 1), (128, 0.5), (128, 2)):
        widths = [f"generator.widths=[{int(256 * factor)}, {int(512 * factor)}, {int(1024 * factor)}]",
                  f"discriminator.widths=[{int(1024 * factor)}, {int(512 * factor)}, {int(256 * factor)}]"]
        result = run_gan("mnist_gan.yaml", steps, fashion, f"train.batch_size={batch}", *widths)
        print(f"{batch:>6}{factor:>7}{result['ms_per_step']:>9.1f}{result['ms_per_step'] / batch:>10.3f}")
    return 0


#: (label, recipe, --set overrides) of ``--modern``: DCGAN on Fashion-MNIST 28x28, then one modern piece at a
#: time on top of it, then the two modern families' own Fashion-MNIST recipes
MODERN: list[tuple[str, str, list[str]]] = [
    ("dcgan_mnist (the base)", "dcgan_mnist.yaml", []),
    ("+ train.ema", "dcgan_mnist.yaml", ["train.ema.decay=0.999"]),
    ("+ DiffAugment (color, translation, cutout)", "dcgan_mnist.yaml", ["augment.policy=[color, translation, cutout]"]),
    ("+ ADA", "dcgan_mnist.yaml", ["augment.policy=[color, translation, cutout]", "augment.ada=true"]),
    ("+ loss.r1", "dcgan_mnist.yaml", ["loss.r1=1.0"]),
    ("+ loss.r1, r1_every 16 (lazy)", "dcgan_mnist.yaml", ["loss.r1=1.0", "loss.r1_every=16"]),
    ("biggan_fashion (2 D updates per step)", "biggan_fashion.yaml", []),
    ("stylegan_fashion", "stylegan_fashion.yaml", []),
    ("cdcgan_fashion (batch 64, wider G)", "cdcgan_fashion.yaml", []),
]


def modern(steps: int, reps: int) -> int:
    """ms/step of each :data:`MODERN` row on Fashion-MNIST (the median of ``reps`` interleaved runs), and the share
    each costs against the base measured in the same rounds."""
    results: dict[str, list[float]] = {label: [] for label, _, _ in MODERN}
    for _ in range(reps):
        for label, recipe, sets in MODERN:
            results[label].append(run_gan(recipe, steps, "data.source=fashion_mnist", *sets)["ms_per_step"])
    base = statistics.median(results[MODERN[0][0]])
    print(f"machine: {os.cpu_count()} cores; Fashion-MNIST 28x28, {steps} steps per run, median of {reps} "
          "interleaved runs")
    print(f"{'':46}{'ms/step':>9}{'runs':>24}{'vs base':>9}")
    for label, _, _ in MODERN:
        ms = statistics.median(results[label])
        runs = " ".join(f"{value:.1f}" for value in results[label])
        print(f"{label[:46]:46}{ms:>9.1f}{runs:>24}{ms / base - 1:>+9.0%}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--scaling", action="store_true",
                        help="only measure how gan train's step cost grows with batch size and model width")
    parser.add_argument("--modern", action="store_true",
                        help="only measure what the modern techniques and families cost per step")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="extra --set for the gan train runs of the tutorial recipe, e.g. train.precision=...")
    args = parser.parse_args()
    fashion = "data.source=fashion_mnist"
    if args.scaling:
        return scaling(args.steps, fashion)
    if args.modern:
        return modern(args.steps, args.reps)
    runs: dict[str, list[dict]] = {"tutorial": [], "auto": [], "float32": []}
    for _ in range(args.reps):
        runs["tutorial"].append(run_tutorial(args.steps))
        runs["auto"].append(run_gan("mnist_gan.yaml", args.steps, fashion, *args.sets))
        runs["float32"].append(run_gan("mnist_gan.yaml", args.steps, fashion, "train.precision=float32", *args.sets))
    peaks = {"float32": matmul_throughput("float32"), "bfloat16": matmul_throughput("bfloat16")}
    flops = tutorial_step_flops()
    medians = {name: statistics.median(r["ms_per_step"] for r in results) for name, results in runs.items()}
    print(f"machine: {os.cpu_count()} cores; tutorial step {flops / 1e9:.2f} GFLOP; matmul at its shapes, one at a "
          f"time: fp32 {peaks['float32']:.0f} GFLOP/s, bf16 {peaks['bfloat16']:.0f} GFLOP/s")
    width = max(len(" ".join(f"{r['ms_per_step']:.1f}" for r in results)) for results in runs.values()) + 2
    print(f"{'':44}{'ms/step':>9}{'runs':>{width}}{'speed-up':>9}{'GFLOP/s':>9}{'of peak':>9}{'best run':>10}"
          f"{'peak MB':>9}")
    rows = (("tutorial loop as written (float32)", "tutorial", "float32"),
            ("gan train mnist_gan.yaml (train.precision auto)", "auto", runs["auto"][0]["precision"]),
            ("gan train mnist_gan.yaml (float32)", "float32", "float32"))
    for label, key, dtype in rows:
        ms = medians[key]
        reps = " ".join(f"{r['ms_per_step']:.1f}" for r in runs[key])
        rate = flops / (ms / 1000) / 1e9
        peak = peaks["bfloat16" if "bfloat16" in str(dtype) else "float32"]
        memory = max(r["peak_rss_mb"] or 0 for r in runs[key])
        best = flops / (min(r["ms_per_step"] for r in runs[key]) / 1000) / 1e9 / peak
        print(f"{label[:44]:44}{ms:>9.1f}{reps:>{width}}{medians['tutorial'] / ms:>8.2f}x{rate:>9.0f}"
              f"{rate / peak:>9.0%}{best:>10.0%}{memory:>9.0f}")
    chosen = runs["auto"][0]["precision"]
    print(f"(medians of {args.reps} interleaved runs of {args.steps} steps each; auto chose {chosen}; 'of peak' sets "
          "the median run against the peak's best window, 'best run' the fastest run against it)")
    dcgan = run_gan("dcgan_mnist.yaml", 100, "data.source=fashion_mnist", "data.image_size=[32, 32]",
                    "data.channels=3", "generator.widths=[256, 128, 64]", "discriminator.widths=[64, 128, 256]")
    print(f"DCGAN 32x32x3 (recipes/dcgan_mnist.yaml on Fashion-MNIST at 32x32x3): {dcgan['ms_per_step']:.1f} "
          f"ms/step, peak {dcgan['peak_rss_mb']:.0f} MB")
    pix2pix = run_gan("pix2pix_fashion.yaml", 100)
    print(f"pix2pix 32x32 (recipes/pix2pix_fashion.yaml, batch 32): {pix2pix['ms_per_step']:.1f} ms/step, "
          f"peak {pix2pix['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
