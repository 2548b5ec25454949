"""Network builders: shapes, the tutorial's layers, explicit layer lists, and clear shape errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from gan_cli.errors import RecipeError
from gan_cli.nets import DISCRIMINATORS, GENERATORS, TRANSLATORS, build_discriminator, build_generator
from gan_cli.recipe import TRANSLATION_DISCRIMINATORS, TRANSLATION_GENERATORS, Architecture, parse_recipe


def nets(data: dict, shape: tuple[int, int, int]) -> tuple[keras.Model, keras.Model]:
    recipe = parse_recipe(data)
    return build_generator(recipe.generator, shape), build_discriminator(recipe.discriminator, shape)


def test_registries_cover_every_architecture_name() -> None:
    names = set(Architecture.__args__)  # type: ignore[attr-defined]
    image_to_image = set(TRANSLATORS) | set(TRANSLATION_DISCRIMINATORS)
    assert set(GENERATORS) == names - image_to_image and set(DISCRIMINATORS) == names - image_to_image
    assert set(TRANSLATORS) == set(TRANSLATION_GENERATORS)


def test_tutorial_mlp_layers_and_sizes() -> None:
    generator, discriminator = nets({}, (28, 28, 1))
    dense = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [256, 512, 1024, 784]
    assert isinstance(dense[0].kernel_initializer, keras.initializers.RandomNormal)
    assert dense[0].kernel_initializer.stddev == pytest.approx(0.02)
    assert not isinstance(dense[1].kernel_initializer, keras.initializers.RandomNormal)
    assert dense[-1].activation.__name__ == "tanh"
    leaky = [layer for layer in generator.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == 3 and all(layer.negative_slope == pytest.approx(0.2) for layer in leaky)
    # the tutorial's parameter counts: G 1,486,352 and D 1,460,225
    assert generator.count_params() == 1_486_352
    assert discriminator.count_params() == 1_460_225
    dropouts = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.rate for layer in dropouts] == [0.3, 0.3, 0.3]
    assert generator.output_shape == (None, 28, 28, 1) and discriminator.output_shape == (None, 1)


@pytest.mark.parametrize("shape, widths", [((28, 28, 1), [128, 64]), ((32, 32, 3), [256, 128, 64]),
                                           ((8, 8, 1), [32, 16])])
def test_dcgan_shapes(shape: tuple[int, int, int], widths: list[int]) -> None:
    data = {"generator": {"architecture": "dcgan", "widths": widths, "batch_norm": True, "activation": "relu",
                          "kernel_stddev_layers": "all"},
            "discriminator": {"architecture": "dcgan", "widths": widths[::-1], "batch_norm": True, "dropout": 0}}
    generator, discriminator = nets(data, shape)
    assert generator.output_shape == (None, *shape)
    assert discriminator.output_shape == (None, 1)
    images = generator(np.zeros((2, 100), np.float32))
    assert discriminator(images).shape == (2, 1)
    assert not any(isinstance(layer, keras.layers.MaxPooling2D) for layer in discriminator.layers)


def test_dcgan_rejects_sizes_it_cannot_reach() -> None:
    with pytest.raises(RecipeError, match="divisible by 8"):
        nets({"generator": {"architecture": "dcgan", "widths": [64, 32, 16]}}, (28, 28, 1))


def test_explicit_layer_lists_build_and_reshape() -> None:
    data = {
        "generator": {"architecture": "layers", "latent_dim": 4, "layers": [
            {"type": "dense", "units": 32}, {"type": "activation", "name": "relu"},
            {"type": "dense", "units": 64, "activation": "tanh"}]},
        "discriminator": {"architecture": "layers", "layers": [
            {"type": "conv2d", "filters": 8, "strides": 2}, {"type": "activation", "name": "leaky_relu"},
            {"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]},
    }
    generator, discriminator = nets(data, (8, 8, 1))
    assert generator.output_shape == (None, 8, 8, 1)
    assert discriminator.output_shape == (None, 1)


def test_layer_list_with_wrong_output_is_a_recipe_error() -> None:
    data = {"discriminator": {"architecture": "layers", "layers": [{"type": "dense", "units": 3}]}}
    with pytest.raises(RecipeError, match=r"discriminator: the network outputs shape \(3,\)"):
        nets(data, (8, 8, 1))
    data = {"generator": {"architecture": "layers", "layers": [{"type": "reshape", "target_shape": [7, 7]}]}}
    with pytest.raises(RecipeError, match=r"generator.layers\[0\]"):
        nets(data, (8, 8, 1))
