"""Generators to images: fixed latent batches, generation in batches, grids, files."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import scipy.stats

from gan_cli.data.folder import is_image_file, read_image
from gan_cli.data.pairs import load_pairs
from gan_cli.data.transforms import center_crop, resize_images, to_unit_range
from gan_cli.errors import DataError, GanError, RunDirError, UsageError
from gan_cli.files import atomic_path
from gan_cli.nets import stylegan
from gan_cli.nets.common import SpectralNorm  # noqa: F401 - registers the layer for load_model
from gan_cli.recipe.loading import load_recipe
from gan_cli.recipe.schema import TRANSLATION_FAMILIES, Recipe
from gan_cli.runs import images as imgs
from gan_cli.runs.run_dir import RunDir, open_run


@dataclass(frozen=True)
class LoadedGenerator:
    """A generator and, when it came from a run directory, the recipe that trained it."""

    model: keras.Model
    recipe: Recipe | None
    source: Path

    @property
    def latent_dim(self) -> int:
        return int(self.model.inputs[0].shape[-1])


#: Where the truncation trick cuts N(0, 1): values beyond ±2 are redrawn (BigGAN's truncated normal).
TRUNCATION_BOUND = 2.0


def latent_batch(count: int, latent_dim: int, seed: int, truncation: float | None = None) -> np.ndarray:
    """``count`` latent vectors z ~ N(0, 1), float32; the same seed always gives the same batch.

    With ``truncation`` ψ (the truncation trick): ψ·z with z from N(0, 1) truncated to ±``TRUNCATION_BOUND``, so
    ψ = 0 gives every image the mean latent and smaller ψ trades variety for typical, cleaner images.
    """
    rng = np.random.default_rng(seed)
    if truncation is None:
        return rng.standard_normal((count, latent_dim)).astype(np.float32)
    bound = TRUNCATION_BOUND
    z = scipy.stats.truncnorm.rvs(-bound, bound, size=(count, latent_dim), random_state=rng)
    return (truncation * z).astype(np.float32)


def latents_for(generator: keras.Model, count: int, seed: int, truncation: float | None = None) -> np.ndarray:
    """:func:`latent_batch` for ``generator``, with the truncation trick where it belongs: a StyleGAN-mini G
    truncates its w toward the tracked average itself (its psi is set here, on this loaded copy), any other G
    gets truncated z."""
    if truncation is not None and stylegan.is_stylegan(generator):
        stylegan.set_truncation(generator, truncation)
        truncation = None
    return latent_batch(count, int(generator.inputs[0].shape[-1]), seed, truncation)


def num_classes(generator: keras.Model) -> int | None:
    """K for a conditional generator (inputs z and a one-hot label of size K) or InfoGAN's categorical code
    (inputs z, c1 one-hot of size K, continuous c); None otherwise."""
    inputs = generator.inputs if isinstance(generator.inputs, list) else [generator.inputs]
    return int(inputs[1].shape[-1]) if len(inputs) in (2, 3) else None


def continuous_codes(generator: keras.Model) -> int | None:
    """Number of InfoGAN continuous codes, or None for other generators."""
    inputs = generator.inputs if isinstance(generator.inputs, list) else [generator.inputs]
    return int(inputs[2].shape[-1]) if len(inputs) == 3 else None


def balanced_labels(count: int, classes: int) -> np.ndarray:
    """0, 1, ..., K-1, 0, 1, ... for ``count`` samples."""
    return np.arange(count) % classes


def generate(generator: keras.Model, latents: np.ndarray, labels: np.ndarray | None = None,
             batch_size: int = 256, continuous: np.ndarray | None = None) -> np.ndarray:
    """Run G in inference mode over ``latents`` in batches; returns uint8 images (N, H, W, C).

    A conditional G gets class ``labels`` (default balanced); an InfoGAN G gets ``labels`` as its
    categorical code (default balanced) and ``continuous`` codes (default 0).
    """
    classes = num_classes(generator)
    if classes is not None:
        labels = balanced_labels(len(latents), classes) if labels is None else labels
        inputs = [latents, np.eye(classes, dtype=np.float32)[labels]]
        codes = continuous_codes(generator)
        if codes is not None:
            inputs.append(np.zeros((len(latents), codes), np.float32) if continuous is None
                          else continuous.astype(np.float32))
        outputs = [np.asarray(generator([x[i:i + batch_size] for x in inputs], training=False))
                   for i in range(0, len(latents), batch_size)]
        return imgs.to_uint8(np.concatenate(outputs, axis=0))
    outputs = [np.asarray(generator(latents[i:i + batch_size], training=False))
               for i in range(0, len(latents), batch_size)]
    return imgs.to_uint8(np.concatenate(outputs, axis=0))


def load_generator(target: str | Path, raw: bool = False) -> LoadedGenerator:
    """Load ``RUN_DIR/generator.keras`` (with its recipe), ``RUN_DIR/best`` or a ``.keras`` generator file; with
    ``raw``, a run's ``generator_raw.keras`` (G's own weights where ``generator.keras`` is their moving average).

    Models load with ``safe_mode=True`` (no Lambda bytecode).

    Raises:
        RunDirError: the path is neither a run directory with a generator nor a .keras file.
        UsageError: ``raw`` for a file, or for a run trained without ``train.ema``.
    """
    path = Path(target)
    if raw:
        run = RunDir(path)
        if not path.is_dir() or not run.is_run():
            raise UsageError(f"--raw: {target} is not a run directory; give the run (its generator_raw.keras is "
                             "written with train.ema), or the .keras file itself")
        if not run.raw_generator.is_file():
            raise UsageError(f"--raw: {target} has no {run.raw_generator.name}: it trained without train.ema, so "
                             "generator.keras already holds G's own weights; drop --raw")
        loaded = load_generator(path)
        model = _load_model(run.raw_generator, "generator")
        return LoadedGenerator(model, loaded.recipe, run.raw_generator)
    recipe = None
    if path.is_dir() and RunDir(path).is_snapshot() and RunDir(path).generator.is_file():  # RUN/best
        recipe = load_recipe(RunDir(path.parent).recipe)  # the parent run's
        path = RunDir(path).generator
    elif path.is_dir():
        run = open_run(path)
        if not run.generator.is_file():
            raise RunDirError(f"{path}: no generator.keras yet (it is written at the first checkpoint); "
                              f"train longer or resume with: gan train {path} --resume")
        recipe = load_recipe(run.recipe)
        if recipe.family in TRANSLATION_FAMILIES:
            raise GanError(f"{target}: a {recipe.family} run translates images; give them with --input IMAGE_OR_DIR "
                           "(or gan sample RUN --out FILE.png for its test examples)")
        path = run.generator
    model = _load_model(path, "generator")
    _check_is_generator(model, path)
    return LoadedGenerator(model, recipe, path)


def _load_model(path: Path, what: str) -> keras.Model:
    """A ``.keras`` model loaded with ``safe_mode=True`` (no Lambda bytecode), uncompiled.

    Raises:
        RunDirError: not a .keras file, or one Keras cannot load.
    """
    if path.suffix != ".keras" or not path.is_file():
        raise RunDirError(f"{path}: not a run directory or a .keras {what} file")
    if not _is_keras_archive(path):  # Keras' own words for this are "File not found", though the file exists
        raise RunDirError(f"{path}: not a Keras model (a .keras file is a zip archive with config.json, as "
                          f"gan train and model.save write); give a run directory or the {what} it saved")
    if _holds_lambda(path):
        raise RunDirError(f"{path}: refused: the model holds a Lambda layer (Python code, which gan never loads); "
                          f"use a {what} saved by gan train")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types for a bad file
        raise RunDirError(f"{path}: cannot load the {what} ({str(exc).splitlines()[0][:200]})") from None


def _is_keras_archive(path: Path) -> bool:
    """Whether ``path`` is a zip archive holding a ``config.json`` (what every ``.keras`` model file is).

    Raises:
        RunDirError: the file cannot be read (permissions, an I/O error).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist()
    except zipfile.BadZipFile:
        return False
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _holds_lambda(path: Path) -> bool:
    """Whether the ``.keras`` file's model config names a Lambda layer anywhere (unreadable files: False, and
    loading them reports why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return node.get("class_name") == "Lambda" or any(walk(v) for v in node.values())
        return isinstance(node, list) and any(walk(v) for v in node)

    return walk(config)


def _check_is_generator(model: keras.Model, path: Path) -> None:
    """A generator here takes one latent vector (None, k) and returns images (None, H, W, 1 or 3)."""
    inputs = model.inputs if isinstance(model.inputs, list) else [model.inputs]
    conditional = len(inputs) in (2, 3) and all(len(t.shape) == 2 for t in inputs)
    in_shape = tuple(inputs[0].shape) if len(inputs) == 1 or conditional else None
    out_shape = tuple(model.outputs[0].shape) if len(model.outputs) == 1 else None
    if (in_shape is None or len(in_shape) != 2 or out_shape is None or len(out_shape) != 4
            or out_shape[-1] not in (1, 3)):
        got_in = [tuple(t.shape) for t in inputs]
        got_out = [tuple(t.shape) for t in model.outputs]
        raise RunDirError(f"{path}: not an image generator (inputs {got_in}, outputs {got_out}; expected "
                          "a latent input (None, k), optionally a one-hot label (None, K), and images "
                          "(None, H, W, 1 or 3))")


def grid_shape(count: int | None, grid: tuple[int, int] | None) -> tuple[int, int, int]:
    """(count, rows, cols) from either or both of ``--n`` and ``--grid``.

    Raises:
        UsageError: the grid has fewer cells than ``count``.
    """
    if grid is not None:
        rows, cols = grid
        count = rows * cols if count is None else count
        if count > rows * cols:
            raise UsageError(f"--grid {rows}x{cols} holds {rows * cols} images but --n is {count}; "
                           "make the grid larger or drop --grid")
        return count, rows, cols
    count = 64 if count is None else count
    cols = math.ceil(math.sqrt(count))
    return count, math.ceil(count / cols), cols


def write_images(images: np.ndarray, out: str | Path, rows: int, cols: int, *, upscale: int | None = None,
                 invert: bool = False) -> list[Path]:
    """Write images as one grid (``.png``), an array (``.npz``, key ``x``, uint8 NHWC) or one PNG each
    (a directory: an existing one or a path ending in ``/``).

    Returns:
        The files written.

    Raises:
        UsageError: the output's kind cannot be told from its name.
    """
    text, out = str(out), Path(out)
    if text.endswith(("/", os.sep)) or out.is_dir():
        out.mkdir(parents=True, exist_ok=True)
        return [imgs.save_png(out / f"sample_{i:05d}.png", image) for i, image in enumerate(images)]
    if out.suffix == ".png":
        factor = upscale or imgs.auto_upscale(images.shape[1])
        return [imgs.save_png(out, imgs.make_grid(images, rows, cols, upscale=factor, invert=invert))]
    if out.suffix == ".npz":
        with atomic_path(out, suffix=".npz") as tmp:
            np.savez_compressed(tmp, x=images)
        return [out]
    raise UsageError(f"--out {out}: use a .png (grid), .npz (array) or a directory ending in '/' "
                   "(one PNG per image)")


def sample(target: str | Path, out: str | Path, *, count: int | None, grid: tuple[int, int] | None,
           seed: int, label: int | None = None, per_class: int | None = None, vary: str | None = None,
           truncation: float | None = None, raw: bool = False, mix: int | None = None) -> list[Path]:
    """``gan sample``: draw images from a run's or a file's generator and write them to ``out``.

    For a conditional generator: ``label`` asks every image for one class; ``per_class`` draws that many
    of each class, one grid row per class; otherwise classes cycle 0, 1, ..., K-1. ``truncation`` ψ draws
    truncated latents (:func:`latents_for`); ``raw`` takes G's own weights of a run trained with ``train.ema``;
    ``mix`` N draws StyleGAN-mini's style-mixing grid (:func:`_style_mixing`).

    Raises:
        UsageError: ``label``/``per_class`` for an unconditional generator, a label out of range, or ``raw``
            where there is no raw generator.
    """
    loaded = load_generator(target, raw=raw)
    if vary is not None and truncation is not None:
        raise UsageError("--truncation: not with --vary (a traversal holds z fixed); drop one of them")
    if vary is not None:
        return _traversal(loaded, out, vary, rows=count or 8, seed=seed)
    if mix is not None:
        return _style_mixing(loaded, out, mix, seed, truncation)
    classes = num_classes(loaded.model)
    if (label is not None or per_class is not None) and classes is None:
        raise UsageError(f"{target}: --label and --per-class need a conditional generator (family: cgan)")
    if label is not None and classes is not None and not 0 <= label < classes:
        raise UsageError(f"--label {label}: the generator knows classes 0..{classes - 1}")
    labels = None
    if per_class is not None and classes is not None:
        count, rows, cols = classes * per_class, classes, per_class
        labels = np.repeat(np.arange(classes), per_class)
    else:
        count, rows, cols = grid_shape(count, grid)
        if label is not None:
            labels = np.full(count, label)
    images = generate(loaded.model, latents_for(loaded.model, count, seed, truncation), labels)
    return _write(loaded, images, out, rows, cols)


def _style_mixing(loaded: LoadedGenerator, out: str | Path, size: int, seed: int, truncation: float | None
                  ) -> list[Path]:
    """StyleGAN's style-mixing figure: a ``size`` x ``size`` grid whose cell (i, j) takes the coarse styles (the
    first half of the style layers: pose, shape) of latent i and the fine ones (stroke, texture) of latent j, so
    the diagonal holds the plain images.

    Raises:
        UsageError: not a StyleGAN-mini generator.
    """
    model = loaded.model
    if not stylegan.is_stylegan(model):
        raise UsageError(f"{loaded.source}: --mix needs a StyleGAN-mini generator (generator.architecture: stylegan)")
    latents = latents_for(model, size, seed, truncation)
    coarse, fine = np.repeat(latents, size, axis=0), np.tile(latents, (size, 1))
    images = stylegan.mix_styles(model, coarse, fine, crossover=stylegan.num_styles(model) // 2)
    return _write(loaded, imgs.to_uint8(images), out, size, size)


def _traversal(loaded: LoadedGenerator, out: str | Path, vary: str, rows: int, seed: int) -> list[Path]:
    """InfoGAN latent traversal: ``c1`` puts each categorical value in its own column (one z per row);
    ``c2``, ``c3``, ... sweep that continuous code over [-2, 2] in 8 columns, one categorical value per row.

    Raises:
        UsageError: not an InfoGAN generator, or no such code.
    """
    classes, codes = num_classes(loaded.model), continuous_codes(loaded.model)
    if classes is None or codes is None:
        raise UsageError(f"{loaded.source}: --vary needs an InfoGAN generator (family: infogan)")
    names = ["c1", *(f"c{i + 2}" for i in range(codes))]
    if vary not in names:
        raise UsageError(f"--vary {vary}: this generator's codes are {', '.join(names)}")
    if vary == "c1":
        cols = classes
        latents = np.repeat(latent_batch(rows, loaded.latent_dim, seed), cols, axis=0)
        labels = np.tile(np.arange(classes), rows)
        continuous = np.zeros((rows * cols, codes), np.float32)
    else:
        rows, cols = classes, 8
        latents = np.repeat(latent_batch(1, loaded.latent_dim, seed), rows * cols, axis=0)
        labels = np.repeat(np.arange(classes), cols)
        continuous = np.zeros((rows * cols, codes), np.float32)
        continuous[:, int(vary[1:]) - 2] = np.tile(np.linspace(-2.0, 2.0, cols), rows)
    images = generate(loaded.model, latents, labels, continuous=continuous)
    return _write(loaded, images, out, rows, cols)


def _write(loaded: LoadedGenerator, images: np.ndarray, out: str | Path, rows: int, cols: int) -> list[Path]:
    """``write_images`` with the run's own grid look (``sampling.upscale``, ``sampling.invert``), if known."""
    sampling = loaded.recipe.sampling if loaded.recipe else None
    return write_images(images, out, rows, cols, upscale=sampling.upscale if sampling else None,
                        invert=sampling.invert if sampling else False)


# --------------------------------------------------------------------------------------------------
# Image-to-image translation (family: pix2pix, cyclegan)


def is_translation_run(target: str | Path) -> bool:
    """Whether ``target`` is a run directory of a pix2pix or CycleGAN recipe."""
    run = RunDir(Path(target))
    if not run.is_run():
        return False
    return load_recipe(run.recipe).family in TRANSLATION_FAMILIES


def translate_images(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """A translator's outputs, in inference mode, for float images in [-1, 1]; uint8 (N, H, W, C)."""
    outputs = [np.asarray(model(images[i:i + batch_size], training=False))
               for i in range(0, len(images), batch_size)]
    return imgs.to_uint8(np.concatenate(outputs, axis=0))


def load_translator(target: str | Path, direction: str = "a2b") -> LoadedGenerator:
    """The generator of a pix2pix/CycleGAN run directory for ``direction`` (b2a: CycleGAN's F), or a .keras
    translator file (safe mode).

    Raises:
        GanError: not a translation run, no b2a generator (pix2pix), or a file that is not image -> image.
    """
    path = Path(target)
    recipe = None
    if path.is_dir():
        run = open_run(path)
        recipe = load_recipe(run.recipe)
        if recipe.family not in TRANSLATION_FAMILIES:
            raise UsageError(f"{target}: --input and --direction are for pix2pix/cyclegan runs; this run is "
                           f"family {recipe.family}")
        if direction == "b2a" and recipe.family != "cyclegan":
            raise UsageError(f"--direction b2a: only CycleGAN learns B -> A; this run is {recipe.family} (A -> B)")
        path = run.inverse_generator if direction == "b2a" else run.generator
        if not path.is_file():
            raise RunDirError(f"{target}: no {path.name} yet (it is written at the first checkpoint); train "
                              f"longer or resume with: gan train {target} --resume")
    model = _load_model(path, "translator")
    shape_in, shape_out = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(model.inputs) != 1 or len(shape_in) != 4 or len(shape_out) != 4:
        raise RunDirError(f"{path}: not an image-to-image model (inputs {shape_in}, outputs {shape_out})")
    return LoadedGenerator(model, recipe, path)


def load_any_generator(target: str | Path, direction: str = "a2b") -> tuple[LoadedGenerator, bool]:
    """The generator of a run directory, ``RUN/best`` or a ``.keras`` file, whatever it generates from: a
    translator (pix2pix/CycleGAN run, ``direction`` b2a, or a file whose model takes images) or a z-space
    generator. Returns it and whether it is a translator.

    Raises:
        GanError: see :func:`load_generator` and :func:`load_translator`.
    """
    path = Path(target)
    if path.is_file() and path.suffix == ".keras":
        inputs = _load_model(path, "generator").inputs
        if len(inputs) == 1 and len(inputs[0].shape) == 4:
            return load_translator(path, direction), True
    if is_translation_run(path) or direction == "b2a":
        return load_translator(path, direction), True
    return load_generator(path), False


def read_input_images(source: str | Path, shape: tuple[int, int, int]) -> tuple[np.ndarray, list[str]]:
    """Images from a file or a folder (sorted; PNG/JPEG) as float32 [-1, 1] of ``shape`` (H, W, C): converted
    to grey or RGB and resized to H x W. Returns them with their file names.

    Raises:
        GanError: no such file or folder, or no image in it.
    """
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if is_image_file(p))
    elif path.is_file():
        files = [path]
    else:
        raise UsageError(f"--input {source}: no such file or folder")
    if not files:
        raise GanError(f"--input {source}: no PNG/JPEG images in this folder")
    mode = "RGB" if shape[2] == 3 else "L"
    images = np.stack([read_image(f, mode, (shape[0], shape[1])) for f in files])
    return to_unit_range(resize_images(images, (shape[0], shape[1]))), [f.name for f in files]


def translate(target: str | Path, out: str | Path, *, source: str | Path | None, direction: str = "a2b",
              count: int | None = None, seed: int = 0) -> list[Path]:
    """``gan sample`` for a translation run: translate ``source`` images (a file or a folder), or, without
    one, ``count`` examples of the run's test split, and write them.

    A ``.png`` grid shows one example per row: input | output, and | true target where one is known;
    a directory gets one output PNG per input (under the input's name); ``.npz`` gets ``x`` (outputs).

    Raises:
        GanError: see :func:`load_translator` and :func:`read_input_images`; no test data for a run.
    """
    loaded = load_translator(target, direction)
    shape = tuple(int(d) for d in loaded.model.inputs[0].shape[1:])
    truths = None
    if source is not None:
        inputs, names = read_input_images(source, shape)  # type: ignore[arg-type]
    else:
        if loaded.recipe is None:
            raise GanError(f"{target}: a .keras file carries no data; give images with --input IMAGE_OR_DIR")
        try:
            inputs, truths = example_pairs(loaded.recipe, direction, count or 8, seed, "test")
        except DataError:  # no test split: show training examples
            inputs, truths = example_pairs(loaded.recipe, direction, count or 8, seed, "train")
        names = [f"example_{i:05d}.png" for i in range(len(inputs))]
    outputs = translate_images(loaded.model, inputs)
    text, out_path = str(out), Path(out)
    if text.endswith(("/", os.sep)) or out_path.is_dir():
        out_path.mkdir(parents=True, exist_ok=True)
        return [imgs.save_png(out_path / Path(name).with_suffix(".png").name, image)
                for name, image in zip(names, outputs)]
    if out_path.suffix == ".png":
        columns = [imgs.to_uint8(inputs), outputs] + ([imgs.to_uint8(truths)] if truths is not None else [])
        upscale = imgs.auto_upscale(outputs.shape[1], min_cell=64)
        return [imgs.save_png(out_path, imgs.rows_of_columns(columns, upscale=upscale))]
    return write_images(outputs, out, len(outputs), 1)


def example_pairs(recipe: Recipe, direction: str, count: int, seed: int, split: str = "test"
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """Up to ``count`` inputs of the run's ``split`` for ``direction`` (a2b: A, b2a: B), drawn with ``seed``
    and kept in data order, and their true targets when the data has them; prepared as in training
    (center crop to ``data.crop_size``).

    Raises:
        DataError: the split cannot be loaded (e.g. a folder without test/).
    """
    spec = recipe.data
    pairs = load_pairs(dataclasses.replace(spec, split=split, limit=None),  # type: ignore[arg-type]
                       paired=recipe.family == "pix2pix")
    inputs, truths = (pairs.a, pairs.a_truth) if direction == "a2b" else (pairs.b, pairs.b_truth)
    chosen = np.sort(np.random.default_rng(seed).permutation(len(inputs))[: min(count, len(inputs))])
    crop = tuple(spec.crop_size) if spec.crop_size else None
    return (center_crop(inputs[chosen], crop),  # type: ignore[arg-type]
            None if truths is None else center_crop(truths[chosen], crop))  # type: ignore[arg-type]

