"""``gan eval``: measure a generator (or a file of samples) against real data, and report how.

Every result carries its protocol: the evaluator's kind, identity (``evaluator_id``) and accuracy, N real
and N fake, the real split, the seed, the real-vs-real floor, the tool version and the checkpoint evaluated,
so two numbers are only compared when they were made the same way.
"""

from __future__ import annotations

import datetime
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax

from gan_cli import __version__
from gan_cli.data.transforms import to_unit_range
from gan_cli.errors import GanError
from gan_cli.evaluation.evaluator import Evaluator, data_splits, load_or_build_evaluator
from gan_cli.evaluation.metrics import (
    classes_covered,
    classifier_score,
    frechet_distance,
    histogram_kl,
    kernel_distance,
    label_histogram,
    per_class_accuracy,
    precision_recall_density_coverage,
)
from gan_cli.evaluation.results import (  # noqa: F401 (load_result, PROTOCOL_KEYS: also read from here)
    PROTOCOL_KEYS,
    checkpoint_record,
    load_result,
    save_run_result,
    short_evaluator_id,
)
from gan_cli.recipe.schema import DataSpec
from gan_cli.runs.run_dir import RunDir
from gan_cli.sampling import balanced_labels, continuous_codes, generate, latents_for, load_generator, num_classes

#: Fewer samples than this are refused (the covariances behind FD need many more to mean much).
MIN_IMAGES = 10


def measure(fake: np.ndarray, real: np.ndarray, evaluator: Evaluator, *, seed: int = 0,
            full: bool = True, requested: np.ndarray | None = None, infogan: bool = False,
            real_labels: np.ndarray | None = None) -> dict[str, Any]:
    """All metrics of ``fake`` against ``real`` (both float images in [-1, 1]) in the evaluator's space.

    Args:
        fake, real: (N, H, W, C) arrays of the evaluator's image shape.
        evaluator: the data set's evaluator.
        seed: for the random subsets of KID and PRDC.
        full: False skips KID and precision/recall/density/coverage (for quick checks during training).
        requested: the class each fake was generated for (conditional generators): adds
            ``conditional_accuracy``, how often the evaluator agrees, overall and per class; or, with
            ``infogan``, the categorical code's value: adds ``code_purity``, the fraction of samples whose
            predicted class is the majority class of their code value (each value mapped by majority vote).
        real_labels: the classes of ``real``; with ``requested`` (not InfoGAN) adds ``intra_fd``, the FD of each
            class's fakes to that class's reals, and their mean (Miyato & Koyama 2018's intra-FID).

    Returns:
        ``fd`` (features, the primary number); for classifiers also ``fd_logits``, ``classifier_score``
        and ``labels`` (histograms, KL(real || fake), classes covered); with ``full`` also ``kid`` and
        ``prdc``.
    """
    fake_features, real_features = evaluator.features(fake), evaluator.features(real)
    result: dict[str, Any] = {"fd": frechet_distance(real_features, fake_features)}
    fake_logits, real_logits = evaluator.logits(fake), evaluator.logits(real)
    if fake_logits is not None and real_logits is not None:
        classes = int(evaluator.num_classes or fake_logits.shape[1])
        result["fd_logits"] = frechet_distance(real_logits, fake_logits)
        result["classifier_score"] = classifier_score(softmax(fake_logits, axis=1))
        fake_shares = label_histogram(fake_logits.argmax(axis=1), classes)
        real_shares = label_histogram(real_logits.argmax(axis=1), classes)
        result["labels"] = {
            "num_classes": classes,
            "classes_covered": classes_covered(fake_shares, real_shares),
            "kl_real_fake": histogram_kl(real_shares, fake_shares),
            "fake_shares": [round(float(s), 4) for s in fake_shares],
            "real_shares": [round(float(s), 4) for s in real_shares],
        }
        if requested is not None and infogan:
            result["code_purity"] = code_purity(requested, fake_logits.argmax(axis=1))
        elif requested is not None:
            result["conditional_accuracy"] = dict(per_class_accuracy(fake_logits.argmax(axis=1), requested, classes))
    if requested is not None and not infogan and real_labels is not None:
        result["intra_fd"] = intra_frechet_distance(real_features, real_labels, fake_features, requested)
    if full:
        result["kid"] = kernel_distance(real_features, fake_features, seed=seed)
        result["prdc"] = precision_recall_density_coverage(real_features, fake_features, seed=seed)
    return result


#: A class needs at least this many real and fake images for its share of intra-FD.
MIN_PER_CLASS = 2


def intra_frechet_distance(real_features: np.ndarray, real_labels: np.ndarray, fake_features: np.ndarray,
                           requested: np.ndarray) -> dict[str, Any]:
    """Per-class FD (each class's fakes against that class's reals) and its mean over the classes that have at
    least ``MIN_PER_CLASS`` of each; a conditional G that ignores its label scores far worse here than in FD."""
    per_class = {}
    for label in np.unique(requested):
        real, fake = real_features[real_labels == label], fake_features[requested == label]
        if len(real) >= MIN_PER_CLASS and len(fake) >= MIN_PER_CLASS:
            per_class[int(label)] = round(frechet_distance(real, fake), 4)
    mean = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return {"mean": round(mean, 4), "per_class": per_class}


def code_purity(codes: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Map each code value to the class the evaluator most often sees in its samples (majority vote);
    purity is the fraction of samples that agree with their value's class."""
    mapping, agree = {}, 0
    for value in np.unique(codes):
        counts = np.bincount(predicted[codes == value])
        mapping[int(value)] = int(counts.argmax())
        agree += int(counts.max())
    return {"purity": agree / len(codes), "mapping": mapping,
            "classes_reached": len(set(mapping.values()))}


def real_images(spec: DataSpec, split: str, count: int, seed: int) -> np.ndarray:
    """Up to ``count`` real images of a split, drawn without replacement with ``seed``.

    The splits are the evaluator's (``data_splits``): a source without its own test split gets the
    same fixed held-out part of train that the evaluator was checked on.
    """
    return real_images_and_labels(spec, split, count, seed)[0]


def real_images_and_labels(spec: DataSpec, split: str, count: int, seed: int
                           ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`real_images` with the same draw's labels (None for unlabelled data)."""
    train, test = data_splits(spec)
    chosen = test if split == "test" else train
    if count >= len(chosen.images):
        return chosen.images, chosen.labels
    picked = np.random.default_rng(seed).choice(len(chosen.images), count, replace=False)
    return chosen.images[picked], chosen.labels[picked] if chosen.labels is not None else None


def _check_shape(fake: np.ndarray, evaluator: Evaluator, what: str) -> None:
    if tuple(fake.shape[1:]) != evaluator.image_shape:
        raise GanError(f"{what}: images are {tuple(fake.shape[1:])} but the {evaluator.info['data']['source']} "
                       f"evaluator expects {evaluator.image_shape}")


def evaluate(fake_uint8: np.ndarray, spec: DataSpec, *, split: str, n_real: int, seed: int, what: str,
             echo: Callable[[str], None] = print, progress: bool | None = None,
             requested: np.ndarray | None = None, infogan: bool = False) -> dict[str, Any]:
    """The full result for uint8 fake images (N, H, W, C) against a data set: metrics plus protocol."""
    if len(fake_uint8) < MIN_IMAGES:
        raise GanError(f"{what}: {len(fake_uint8)} images; measuring needs at least {MIN_IMAGES} (and FD is "
                       "biased well above that: use thousands when you can)")
    evaluator = load_or_build_evaluator(spec, echo=echo, progress=progress)
    _check_shape(fake_uint8, evaluator, what)
    real, real_labels = real_images_and_labels(spec, split, n_real, seed)
    metrics = measure(to_unit_range(fake_uint8), real, evaluator, seed=seed, requested=requested, infogan=infogan,
                      real_labels=real_labels)
    floor = evaluator.floor(len(fake_uint8), len(real), split)
    quality = {k: evaluator.info[k] for k in ("test_accuracy", "test_mse") if k in evaluator.info}
    return {
        "tool": f"gan {__version__}",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "evaluated": what,
        "n_fake": int(len(fake_uint8)),
        "n_real": int(len(real)),
        "split": split,
        "seed": seed,
        "evaluator_id": evaluator.id,
        "evaluator": {"kind": evaluator.kind, "source": spec.source, "path": str(evaluator.directory),
                      "feature_layer": "features", "file_sha256": evaluator.sha256, **quality},
        "floor": {**floor, "how": "FD of real images of the other split (as many as the samples, or all) "
                                  f"against the same {len(real)} {split} images"},
        "metrics": metrics,
    }


def evaluate_generator(target: str | Path, *, n: int, seed: int, split: str, source: DataSpec | None = None,
                       echo: Callable[[str], None] = print, progress: bool | None = None,
                       replace: bool = False, truncation: float | None = None) -> dict[str, Any]:
    """Evaluate a run directory's generator or a ``.keras`` generator.

    A run directory keeps the result (:func:`gan_cli.evaluation.results.save_run_result`): in
    ``RUN/eval/eval-n{N}-seed{S}-{split}.json``, and in ``RUN/eval.json`` unless that holds a result of more
    samples (``replace`` replaces it anyway; ``echo`` gets a ``warning:`` line when it is kept). ``truncation``
    ψ measures truncated latents (``gan sample --truncation``); the result records ψ as part of its protocol
    and is kept only in ``RUN/eval/`` (``...-psi{ψ}.json``), never as the run's main result.

    Raises:
        GanError: a bare generator file without ``source``, or images the evaluator cannot read.
    """
    loaded = load_generator(target)
    spec = source or (loaded.recipe.data if loaded.recipe else None)
    if spec is None:
        raise GanError(f"{target}: a generator file carries no recipe; say which data set to measure against "
                       "with --source (and --data-path for npz/idx/folder)")
    classes, codes = num_classes(loaded.model), continuous_codes(loaded.model)
    requested = balanced_labels(n, classes) if classes else None
    continuous = np.random.default_rng(seed).uniform(-1, 1, (n, codes)) if codes is not None else None
    fake = generate(loaded.model, latents_for(loaded.model, n, seed, truncation), requested, continuous=continuous)
    result = evaluate(fake, spec, split=split, n_real=n, seed=seed, what=str(loaded.source), echo=echo,
                      progress=progress, requested=requested, infogan=codes is not None)
    if truncation is not None:
        result["truncation"] = truncation
    result["checkpoint"] = checkpoint_record(loaded.source)
    run = RunDir(Path(target)) if Path(target).is_dir() and RunDir(Path(target)).is_run() else None
    if run is not None:
        saved = save_run_result(result, run, replace=replace)
        echo(saved.warning or f"saved in {saved.main} and {saved.record}")
    return result


def evaluate_samples(path: Path, spec: DataSpec, *, n: int | None, seed: int, split: str,
                     echo: Callable[[str], None] = print, progress: bool | None = None) -> dict[str, Any]:
    """Evaluate images from anywhere: the first ``n`` images (all when None) of an ``.npz`` whose ``x`` is uint8
    (N, H, W, C), against as many real images (or the whole split if smaller).

    Raises:
        GanError: the file is missing, has no ``x``, ``x`` is not uint8 NHWC images, or it holds fewer than
            ``n`` images.
    """
    if Path(path).is_file() and not zipfile.is_zipfile(path):  # NumPy would talk of pickles (or return an array)
        with open(path, "rb") as handle:
            png = handle.read(8) == b"\x89PNG\r\n\x1a\n"
        raise GanError(f"{path}: {'a PNG image, ' if png else ''}not an .npz archive; --samples reads "
                       "np.savez(FILE, x=uint8 array (N, H, W, C)), as gan sample RUN --n 1000 --out FILE.npz writes")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "x" not in archive.files:
                raise GanError(f"{path}: no array 'x' (found {', '.join(archive.files) or 'none'}); save the "
                               "images as np.savez(path, x=uint8 array (N, H, W, C))")
            fake = archive["x"]
    except (OSError, ValueError) as exc:
        raise GanError(f"{path}: cannot read samples ({str(exc).splitlines()[0]})") from None
    if fake.dtype != np.uint8 or fake.ndim != 4 or fake.shape[-1] not in (1, 3):
        raise GanError(f"{path}: x must be uint8 (N, H, W, C) with C 1 or 3, got {fake.dtype} {fake.shape}")
    if n is not None and n > len(fake):
        raise GanError(f"{path}: holds {len(fake)} images, fewer than --n {n}; give --n {len(fake)} or less "
                       "(or leave --n out to measure them all)")
    fake = fake[:n] if n is not None else fake
    return evaluate(fake, spec, split=split, n_real=len(fake), seed=seed, what=str(path), echo=echo,
                    progress=progress)


def format_result(result: dict[str, Any]) -> str:
    """A readable table of one result."""
    m, ev, floor = result["metrics"], result["evaluator"], result["floor"]
    quality = (f"test accuracy {ev['test_accuracy']:.4f}" if "test_accuracy" in ev
               else f"reconstruction MSE {ev.get('test_mse', float('nan')):.4f}")
    lines = [
        f"evaluated   {result['evaluated']}",
        f"evaluator   {ev['source']} {ev['kind']} ({quality}), id {short_evaluator_id(result)}",
        f"protocol    {result['n_fake']} fake vs {result['n_real']} real ({result['split']} split), "
        f"seed {result['seed']}" + (f", truncation psi {result['truncation']:g}" if "truncation" in result else ""),
        f"FD          {m['fd']:.3f}   (floor {floor['fd']:.3f}: {floor['n_stand_in']} real "
        f"{'train' if result['split'] == 'test' else 'test'} vs {floor['n_reference']} {result['split']} images)",
    ]
    if "fd_logits" in m:
        labels = m["labels"]
        score = m["classifier_score"]
        lines += [
            f"FD logits   {m['fd_logits']:.3f}",
            f"class score {score['mean']:.3f} ± {score['std']:.3f}  (1 to {labels['num_classes']})",
            f"labels      {labels['classes_covered']}/{labels['num_classes']} classes covered, "
            f"KL(real||fake) {labels['kl_real_fake']:.4f}",
        ]
        if "code_purity" in m:
            purity = m["code_purity"]
            lines.append(f"code c1     purity {purity['purity']:.3f} (values mapped to classes by majority vote; "
                         f"{purity['classes_reached']} distinct classes)")
        if "conditional_accuracy" in m:
            accuracy = m["conditional_accuracy"]
            worst = min(a for a in accuracy["per_class"] if a is not None)
            lines.append(f"conditional {accuracy['overall']:.3f} of samples classified as their requested label "
                         f"(worst class {worst:.3f})")
    if "intra_fd" in m and m["intra_fd"]["per_class"]:
        per_class = m["intra_fd"]["per_class"]
        worst_class = max(per_class, key=per_class.get)
        lines.append(f"intra-FD    {m['intra_fd']['mean']:.3f} (mean of per-class FDs; worst class {worst_class}: "
                     f"{per_class[worst_class]:.3f})")
    if "kid" in m:
        prdc = m["prdc"]
        lines += [
            f"KID         {m['kid']['mean']:.5f} ± {m['kid']['std']:.5f}",
            f"diagnostics precision {prdc['precision']:.3f}  recall {prdc['recall']:.3f}  "
            f"density {prdc['density']:.3f}  coverage {prdc['coverage']:.3f}",
        ]
    return "\n".join(lines)
