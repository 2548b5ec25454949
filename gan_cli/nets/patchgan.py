"""The PatchGAN discriminator (Isola et al. 2017), optionally at several image scales (pix2pixHD,
Wang et al. 2018): it scores every overlapping patch of the image as real or fake, not the whole image."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from gan_cli.nets.common import PackedDropout, activation, kernel_initializer, kernel_layer, norm_layer
from gan_cli.recipe.schema import DiscriminatorSpec


@dataclass
class PatchDiscriminator:
    """Two views of one set of layers.

    Attributes:
        scores: inputs -> one patch-score map (h, w, 1) per scale, finest first; compiled for D's update.
        features: inputs -> every hidden block's activations at every scale (feature matching).
        conditional: True when the inputs are [image A, image B] (pix2pix), False for image B alone.
    """

    scores: keras.Model
    features: keras.Model
    conditional: bool


def discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int],
                  condition_shape: tuple[int, int, int] | None = None, name: str = "discriminator"
                  ) -> PatchDiscriminator:
    """(image A,) image B -> patch scores at ``spec.scales`` scales.

    At scale s the (concatenated) input is average-pooled s times (3x3, stride 2); then one 4x4-style
    Conv2D (``kernel_size``) per width, stride 2 except the last (stride 1), each followed by ``norm``
    (not the first) and ``activation``; a last stride-1 Conv2D gives one score per patch, with
    ``output_activation``. With widths (64, 128, 256, 512) and kernel 4 that is the 70x70 PatchGAN.
    """
    image_b = keras.Input(image_shape, name="image_b")
    inputs = [image_b]
    x = image_b
    if condition_shape is not None:
        image_a = keras.Input(condition_shape, name="image_a")
        inputs = [image_a, image_b]
        x = keras.layers.Concatenate(name="pair")([image_a, image_b])
    scores, features = [], []
    for scale in range(spec.scales):
        if scale:
            x = keras.layers.AveragePooling2D(3, strides=2, padding="same", name=f"downscale_{scale}")(x)
        y = x
        last = len(spec.widths) - 1
        for index, width in enumerate(spec.widths):
            init = kernel_initializer(spec.kernel_stddev, index, spec.kernel_stddev_layers)
            norm = norm_layer(spec.norm, f"s{scale}_norm_{index}") if index > 0 else None
            y = kernel_layer(keras.layers.Conv2D(width, spec.kernel_size, strides=1 if index == last else 2,
                                                 padding="same", use_bias=norm is None, kernel_initializer=init,
                                                 name=f"s{scale}_conv_{index}"), spec.spectral_norm)(y)
            if norm is not None:
                y = norm(y)
            y = activation(spec.activation, spec.negative_slope, layer_name=f"s{scale}_act_{index}")(y)
            if spec.dropout > 0:
                y = PackedDropout(spec.dropout, name=f"s{scale}_dropout_{index}")(y)
            features.append(y)
        init = kernel_initializer(spec.kernel_stddev, len(spec.widths), spec.kernel_stddev_layers)
        scores.append(kernel_layer(keras.layers.Conv2D(1, spec.kernel_size, padding="same",
                                                       activation=spec.output_activation, kernel_initializer=init,
                                                       name=f"s{scale}_score"), spec.spectral_norm)(y))
    return PatchDiscriminator(keras.Model(inputs, scores, name=name),
                              keras.Model(inputs, features, name=f"{name}_features"),
                              condition_shape is not None)
