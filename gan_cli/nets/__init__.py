"""Network builders: plain functional Keras models from a recipe's generator/discriminator section."""

from __future__ import annotations

import keras

from gan_cli.nets import dcgan, layer_list, mlp, patchgan, resnet, unet
from gan_cli.nets.common import check_output
from gan_cli.nets.conditional import conditional_discriminator, conditional_generator
from gan_cli.recipe.schema import ConditionSpec, DiscriminatorSpec, GeneratorSpec

GENERATORS = {"mlp": mlp.generator, "dcgan": dcgan.generator, "layers": layer_list.generator}
DISCRIMINATORS = {"mlp": mlp.discriminator, "dcgan": dcgan.discriminator,
                  "layers": layer_list.discriminator}
#: Image-to-image generators (``family: pix2pix``, ``cyclegan``): image A -> image B.
TRANSLATORS = {"unet": unet.generator, "resnet": resnet.generator}


def build_translator(spec: GeneratorSpec, input_shape: tuple[int, int, int], output_channels: int,
                     name: str = "generator") -> keras.Model:
    """The image-to-image generator the spec describes: image (H, W, Ca) -> image (H, W, output_channels).

    Raises:
        RecipeError: the image size does not fit the network's down-sampling.
    """
    model = TRANSLATORS[spec.architecture](spec, input_shape, output_channels, name)
    return check_output(model, (*input_shape[:2], output_channels), "generator")


def build_patch_discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int],
                              condition_shape: tuple[int, int, int] | None = None,
                              name: str = "discriminator") -> patchgan.PatchDiscriminator:
    """The (multi-scale) PatchGAN of the spec, on image B alone or on the pair [A, B]."""
    return patchgan.discriminator(spec, image_shape, condition_shape, name)


def build_generator(spec: GeneratorSpec, image_shape: tuple[int, int, int]) -> keras.Model:
    """The generator the spec describes: z (latent_dim,) -> image (H, W, C).

    Raises:
        RecipeError: the described network cannot produce images of ``image_shape``.
    """
    model = GENERATORS[spec.architecture](spec, spec.latent_dim, image_shape)
    return check_output(model, image_shape, "generator")


def build_discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int]) -> keras.Model:
    """The discriminator the spec describes: image (H, W, C) -> one score (1,).

    Raises:
        RecipeError: the described network does not end in one score per image.
    """
    model = DISCRIMINATORS[spec.architecture](spec, image_shape)
    return check_output(model, (1,), "discriminator")


def build_conditional_generator(spec: GeneratorSpec, image_shape: tuple[int, int, int], num_classes: int,
                                condition: ConditionSpec) -> keras.Model:
    """[z (latent_dim,), one-hot label (K,)] -> image, around the spec's generator."""
    return conditional_generator(spec, image_shape, num_classes, condition, build_generator)


def build_conditional_discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int], num_classes: int,
                                    condition: ConditionSpec) -> keras.Model:
    """[image, one-hot label (K,)] -> score, around the spec's discriminator."""
    return conditional_discriminator(spec, image_shape, num_classes, condition, build_discriminator)
