"""Network builders: plain functional Keras models from a recipe's generator/discriminator section."""

from __future__ import annotations

from collections.abc import Callable

import keras

from gan_cli.errors import RecipeError
from gan_cli.nets import biggan, dcgan, layer_list, mlp, patchgan, resnet, stylegan, unet
from gan_cli.nets.common import check_output
from gan_cli.nets.conditional import conditional_discriminator, conditional_generator
from gan_cli.nets.projection import projection_discriminator
from gan_cli.recipe.schema import ConditionSpec, DiscriminatorSpec, GeneratorSpec


def _biggan_generator(spec: GeneratorSpec, latent_dim: int, image_shape: tuple[int, int, int],
                      num_classes: int | None = None, embedding_dim: int = 16) -> keras.Model:
    return biggan.generator(latent_dim, image_shape, spec.widths, num_classes, embedding_dim=embedding_dim,
                            hierarchical_z=spec.hierarchical_z, spectral_norm=spec.spectral_norm,
                            orthogonal=spec.orthogonal)


def _biggan_discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int],
                          num_classes: int | None = None) -> keras.Model:
    return biggan.discriminator(image_shape, spec.widths, num_classes, spectral_norm=spec.spectral_norm)


def _stylegan_generator(spec: GeneratorSpec, latent_dim: int, image_shape: tuple[int, int, int]) -> keras.Model:
    return stylegan.generator(latent_dim, image_shape, spec.widths, mapping_layers=spec.mapping_layers,
                              mixing_probability=spec.style_mixing, mapping_lr_multiplier=spec.mapping_lr)


def _stylegan_discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int]) -> keras.Model:
    return stylegan.discriminator(image_shape, spec.widths, group_size=spec.minibatch_group,
                                  output_activation=spec.output_activation)


#: ``GENERATORS[architecture](spec, latent_dim, image_shape)``: z -> image.
GENERATORS: dict[str, Callable[..., keras.Model]] = {
    "mlp": mlp.generator, "dcgan": dcgan.generator, "layers": layer_list.generator, "biggan": _biggan_generator,
    "stylegan": _stylegan_generator}
#: ``DISCRIMINATORS[architecture](spec, image_shape)``: image -> one score.
DISCRIMINATORS: dict[str, Callable[..., keras.Model]] = {
    "mlp": mlp.discriminator, "dcgan": dcgan.discriminator, "layers": layer_list.discriminator,
    "biggan": _biggan_discriminator, "stylegan": _stylegan_discriminator}
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
    """[z (latent_dim,), one-hot label (K,)] -> image: biggan's own (the label through its conditional batch
    norms), dcgan's with ``condition.generator: batch_norm`` (likewise: every batch norm conditional on one
    shared class embedding, z alone into the first layer), or the spec's generator fed z ++ code(label)."""
    if spec.architecture == "biggan":
        model = _biggan_generator(spec, spec.latent_dim, image_shape, num_classes, condition.embedding_dim)
        return check_output(model, image_shape, "generator")
    if condition.generator == "batch_norm":
        if spec.architecture != "dcgan":  # validation refuses it first; a spec built in code gets here
            raise RecipeError(f"condition.generator: batch_norm needs generator.architecture: dcgan, not "
                              f"{spec.architecture}")
        model = dcgan.generator(spec, spec.latent_dim, image_shape, num_classes=num_classes,
                                embedding_dim=condition.embedding_dim)
        return check_output(model, image_shape, "generator")
    return conditional_generator(spec, image_shape, num_classes, condition, build_generator)


def build_conditional_discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int], num_classes: int,
                                    condition: ConditionSpec) -> keras.Model:
    """[image, one-hot label (K,)] -> score: biggan's own projection D, the spec's D with a projection head
    (``condition.discriminator: projection``), or the spec's D on the image with label channels."""
    if spec.architecture == "biggan":
        return check_output(_biggan_discriminator(spec, image_shape, num_classes), (1,), "discriminator")
    if condition.discriminator == "projection":
        return projection_discriminator(build_discriminator(spec, image_shape), num_classes)
    return conditional_discriminator(spec, image_shape, num_classes, condition, build_discriminator)
