"""Generators to images: fixed latent batches, generation in batches, grids, files."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from gan_cli import images as imgs
from gan_cli.errors import GanError, RunDirError
from gan_cli.recipe import Recipe, load_recipe
from gan_cli.run_dir import open_run


@dataclass(frozen=True)
class LoadedGenerator:
    """A generator and, when it came from a run directory, the recipe that trained it."""

    model: keras.Model
    recipe: Recipe | None
    source: Path

    @property
    def latent_dim(self) -> int:
        return int(self.model.input_shape[-1])


def latent_batch(count: int, latent_dim: int, seed: int) -> np.ndarray:
    """``count`` latent vectors z ~ N(0, 1), float32; the same seed always gives the same batch."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def generate(generator: keras.Model, latents: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Run G in inference mode over ``latents`` in batches; returns uint8 images (N, H, W, C)."""
    outputs = [np.asarray(generator(latents[i:i + batch_size], training=False))
               for i in range(0, len(latents), batch_size)]
    return imgs.to_uint8(np.concatenate(outputs, axis=0))


def load_generator(target: str | Path) -> LoadedGenerator:
    """Load ``RUN_DIR/generator.keras`` (with its recipe) or a ``.keras`` generator file.

    Models load with ``safe_mode=True`` (no Lambda bytecode).

    Raises:
        RunDirError: the path is neither a run directory with a generator nor a .keras file.
    """
    path = Path(target)
    recipe = None
    if path.is_dir():
        run = open_run(path)
        if not run.generator.is_file():
            raise RunDirError(f"{path}: no generator.keras yet (it is written at the first checkpoint); "
                              f"train longer or resume with: gan train {path} --resume")
        recipe = load_recipe(run.recipe)
        path = run.generator
    elif path.suffix != ".keras" or not path.is_file():
        raise RunDirError(f"{path}: not a run directory or a .keras generator file")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types for a bad file
        raise RunDirError(f"{path}: cannot load the generator ({str(exc).splitlines()[0][:200]})") from None
    return LoadedGenerator(model, recipe, path)


def grid_shape(count: int | None, grid: tuple[int, int] | None) -> tuple[int, int, int]:
    """(count, rows, cols) from either or both of ``--n`` and ``--grid``.

    Raises:
        GanError: the grid has fewer cells than ``count``.
    """
    if grid is not None:
        rows, cols = grid
        count = rows * cols if count is None else count
        if count > rows * cols:
            raise GanError(f"--grid {rows}x{cols} holds {rows * cols} images but --n is {count}; "
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
        GanError: the output's kind cannot be told from its name.
    """
    text, out = str(out), Path(out)
    if text.endswith(("/", os.sep)) or out.is_dir():
        out.mkdir(parents=True, exist_ok=True)
        return [imgs.save_png(out / f"sample_{i:05d}.png", image) for i, image in enumerate(images)]
    if out.suffix == ".png":
        factor = upscale or imgs.auto_upscale(images.shape[1])
        return [imgs.save_png(out, imgs.make_grid(images, rows, cols, upscale=factor, invert=invert))]
    if out.suffix == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".npz", dir=out.parent)
        os.close(fd)
        try:
            np.savez_compressed(tmp, x=images)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return [out]
    raise GanError(f"--out {out}: use a .png (grid), .npz (array) or a directory ending in '/' "
                   "(one PNG per image)")


def sample(target: str | Path, out: str | Path, *, count: int | None, grid: tuple[int, int] | None,
           seed: int) -> list[Path]:
    """``gan sample``: draw images from a run's or a file's generator and write them to ``out``."""
    loaded = load_generator(target)
    count, rows, cols = grid_shape(count, grid)
    images = generate(loaded.model, latent_batch(count, loaded.latent_dim, seed))
    sampling = loaded.recipe.sampling if loaded.recipe else None
    return write_images(images, out, rows, cols, upscale=sampling.upscale if sampling else None,
                        invert=sampling.invert if sampling else False)

