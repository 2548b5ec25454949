"""Sampling helpers: latent batches, grid shapes, output kinds; and every shipped recipe builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gan_cli.errors import GanError
from gan_cli.families import FAMILIES, TRANSLATORS
from gan_cli.recipe.loading import load_recipe
from gan_cli.recipe.schema import TRANSLATION_FAMILIES
from gan_cli.sampling import grid_shape, latent_batch, write_images

REPO = Path(__file__).resolve().parents[1]
SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def test_latent_batch_is_deterministic_per_seed() -> None:
    a, b, c = latent_batch(5, 3, 1), latent_batch(5, 3, 1), latent_batch(5, 3, 2)
    assert a.shape == (5, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("count, grid, expected", [
    (None, None, (64, 8, 8)), (10, None, (10, 3, 4)), (None, (2, 5), (10, 2, 5)), (7, (3, 3), (7, 3, 3)),
])
def test_grid_shape(count: int | None, grid: tuple[int, int] | None, expected: tuple[int, int, int]) -> None:
    assert grid_shape(count, grid) == expected


def test_unknown_output_kind_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GanError, match=r"\.png \(grid\), \.npz"):
        write_images(np.zeros((1, 2, 2, 1), np.uint8), tmp_path / "x.jpg", 1, 1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", sorted((REPO / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_builds_its_models(path: Path) -> None:
    recipe = load_recipe(path)
    if recipe.family in TRANSLATION_FAMILIES:
        assert recipe.data.image_size is not None
        shape = (*recipe.data.image_size, 1)
        translator = TRANSLATORS[recipe.family](recipe, shape, shape, 100)
        assert translator.generator.output_shape == (None, *shape)
        return
    shape = SHAPES[recipe.data.source]
    models = FAMILIES[recipe.family](recipe, shape, 10)
    assert models.generator.output_shape == (None, *shape)
    shapes = models.combined.output_shape
    assert (shapes[0] if isinstance(shapes, list) else shapes) == (None, 1)
