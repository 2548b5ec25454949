"""The pix2pix U-Net generator (Isola et al. 2017): an encoder-decoder with a skip connection from each
encoder stage to the decoder stage of the same size, so fine detail of the input reaches the output."""

from __future__ import annotations

import keras

from gan_cli.nets.common import PackedDropout, check_divisible, kernel_initializer, norm_layer
from gan_cli.recipe.schema import GeneratorSpec


def generator(spec: GeneratorSpec, input_shape: tuple[int, int, int], output_channels: int,
              name: str = "generator") -> keras.Model:
    """image A (H, W, Ca) -> image B (H, W, ``output_channels``).

    Encoder: one stride-2 Conv2D per ``widths`` entry (kernel ``kernel_size``), each followed by
    ``norm`` (not the first, nor the innermost, which is 1x1 at full depth) and LeakyReLU(0.2). Decoder,
    innermost first: Conv2DTranspose stride 2 to the mirrored width, ``norm``, ``dropout`` on the first
    three decoder stages (pix2pix's 0.5), ReLU, then concatenation with the encoder's output of that
    size; a last Conv2DTranspose makes the image, with ``output_activation`` (tanh).

    Raises:
        RecipeError: the image size is not divisible by 2^len(widths).
    """
    depth = len(spec.widths)
    check_divisible(input_shape[:2], depth, "generator", f"unet with {depth} widths")
    image = keras.Input(input_shape, name="image_a")
    x = image
    skips = []
    for index, width in enumerate(spec.widths):
        init = kernel_initializer(spec.kernel_stddev, index, spec.kernel_stddev_layers)
        norm = norm_layer(spec.norm, f"down_norm_{index}") if 0 < index < depth - 1 else None
        x = keras.layers.Conv2D(width, spec.kernel_size, strides=2, padding="same", use_bias=norm is None,
                                kernel_initializer=init, name=f"down_{index}")(x)
        if norm is not None:
            x = norm(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"down_act_{index}")(x)
        skips.append(x)
    for step, index in enumerate(range(depth - 2, -1, -1)):
        init = kernel_initializer(spec.kernel_stddev, depth + step, spec.kernel_stddev_layers)
        norm = norm_layer(spec.norm, f"up_norm_{index}")
        x = keras.layers.Conv2DTranspose(spec.widths[index], spec.kernel_size, strides=2, padding="same",
                                         use_bias=norm is None, kernel_initializer=init, name=f"up_{index}")(x)
        if norm is not None:
            x = norm(x)
        if spec.dropout > 0 and step < 3:
            x = PackedDropout(spec.dropout, name=f"up_dropout_{index}")(x)
        x = keras.layers.ReLU(name=f"up_act_{index}")(x)
        x = keras.layers.Concatenate(name=f"skip_{index}")([x, skips[index]])
    init = kernel_initializer(spec.kernel_stddev, 2 * depth, spec.kernel_stddev_layers)
    out = keras.layers.Conv2DTranspose(output_channels, spec.kernel_size, strides=2, padding="same",
                                       activation=spec.output_activation, kernel_initializer=init,
                                       name="image_b")(x)
    return keras.Model(image, out, name=name)
