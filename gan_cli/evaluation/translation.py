"""``gan eval`` for image-to-image runs: distance to the ground truth, and realism in the target domain.

Per pixel (when the data has a ground truth: the offline tasks and paired folders): L1 (mean |output -
truth| in [0, 1] pixel units), PSNR (dB, per image, then averaged) and SSIM (``tf.image.ssim``, 11x11
Gaussian window or the image size if smaller). Realism: the Fréchet distance of the outputs to real images
of the target domain in the target domain's evaluator (the same evaluators and protocol as ``gan eval`` of
a GAN, so the result also carries the floor, KID and the rest). The same numbers for the inputs copied
unchanged ("copy input") are reported beside them: the baseline a translation must beat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from gan_cli.data.transforms import to_unit_range
from gan_cli.errors import GanError
from gan_cli.evaluation.evaluator import load_or_build_evaluator
from gan_cli.evaluation.measure import evaluate, measure, real_images
from gan_cli.evaluation.results import checkpoint_record, save_run_result
from gan_cli.recipe.schema import DataSpec
from gan_cli.runs.images import to_uint8
from gan_cli.runs.run_dir import RunDir
from gan_cli.sampling import example_pairs, load_translator, translate_images


def pixel_metrics(outputs: np.ndarray, truths: np.ndarray) -> dict[str, float]:
    """L1, PSNR and SSIM of uint8 outputs against uint8 truths of one shape (N, H, W, C)."""
    x = outputs.astype(np.float32) / 255.0
    y = truths.astype(np.float32) / 255.0
    mse = np.mean((x - y) ** 2, axis=(1, 2, 3))
    psnr = 10.0 * np.log10(1.0 / np.maximum(mse, 1e-10))
    window = int(min(11, x.shape[1], x.shape[2]))
    ssim = tf.image.ssim(tf.constant(x), tf.constant(y), max_val=1.0, filter_size=window).numpy()
    return {"l1": float(np.mean(np.abs(x - y))), "psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim))}


def target_spec(spec: DataSpec, direction: str) -> DataSpec:
    """The data section whose ``load_images`` gives the target domain of ``direction`` (a2b: B, b2a: A)."""
    if direction == "a2b":
        return spec
    return dataclasses.replace(spec, direction="a2b" if spec.direction == "b2a" else "b2a")


def evaluate_translation(target: str | Path, *, n: int, seed: int, split: str, direction: str = "a2b",
                         echo: Callable[[str], None] = print, progress: bool | None = None,
                         replace: bool = False) -> dict[str, Any]:
    """Evaluate a translation run's generator on ``n`` inputs of ``split``; keeps the result in ``RUN/eval.json``
    (``RUN/eval_b2a.json`` for CycleGAN's other direction) and ``RUN/eval/`` as ``gan eval`` of a GAN does
    (:func:`gan_cli.evaluation.results.save_run_result`, ``replace`` included).

    Raises:
        GanError: not a translation run, or outputs the target evaluator cannot read.
        DataError: the split cannot be loaded.
    """
    loaded = load_translator(target, direction)
    recipe = loaded.recipe
    if recipe is None:
        raise GanError(f"{target}: evaluating a translator needs its run directory (for the data and the truth)")
    inputs, truths = example_pairs(recipe, direction, n, seed, split)
    outputs = translate_images(loaded.model, inputs)
    spec = target_spec(recipe.data, direction)
    if recipe.data.crop_size:
        spec = dataclasses.replace(spec, image_size=recipe.data.crop_size)
    reference = "train" if split == "test" else "test"  # targets disjoint from the inputs' own truths
    result = evaluate(outputs, spec, split=reference, n_real=len(outputs), seed=seed, what=str(loaded.source),
                      echo=echo, progress=progress)
    copied = to_uint8(inputs)
    translation: dict[str, Any] = {"direction": direction, "n_inputs": int(len(inputs)), "inputs_split": split}
    if truths is not None:
        translation["output"] = pixel_metrics(outputs, to_uint8(truths))
    baseline: dict[str, Any] = {}
    if truths is not None and copied.shape == outputs.shape:
        baseline.update(pixel_metrics(copied, to_uint8(truths)))
    if copied.shape == outputs.shape:
        evaluator = load_or_build_evaluator(spec, echo=echo, progress=progress)
        real = real_images(spec, reference, len(outputs), seed)
        baseline["fd"] = measure(to_unit_range(copied), real, evaluator, seed=seed, full=False)["fd"]
    if baseline:
        translation["copy_input"] = baseline
    result["translation"] = translation
    result["checkpoint"] = checkpoint_record(loaded.source)
    run = RunDir(Path(target)) if Path(target).is_dir() else None
    if run is not None:
        main = run.eval_json_for(direction)
        saved = save_run_result(result, run, main, replace=replace)
        echo(saved.warning or f"saved in {saved.main} and {saved.record}")
    return result


def format_translation(result: dict[str, Any]) -> str:
    """The lines ``gan eval`` adds for a translation: the output's and the copied input's numbers."""
    spec = result["translation"]
    lines = [f"direction   {spec['direction']}, {spec['n_inputs']} {spec['inputs_split']} inputs (FD against "
             f"{result['split']} targets)"]
    header = f"{'':12}{'L1':>9}{'PSNR dB':>9}{'SSIM':>8}{'FD':>10}"
    rows = []
    for name, key in (("output", "output"), ("copy input", "copy_input")):
        values = dict(spec.get(key, {}))
        if key == "output":
            values["fd"] = result["metrics"]["fd"]
        if not values:
            continue
        cells = [f"{values[k]:>9.4f}" if k in values else f"{'-':>9}" for k in ("l1", "psnr")]
        cells.append(f"{values['ssim']:>8.4f}" if "ssim" in values else f"{'-':>8}")
        cells.append(f"{values['fd']:>10.3f}" if "fd" in values else f"{'-':>10}")
        rows.append(f"{name:12}{''.join(cells)}")
    if "output" not in spec:
        lines.append("no ground truth in this data: L1/PSNR/SSIM need paired targets")
    return "\n".join([*lines, header, *rows])

