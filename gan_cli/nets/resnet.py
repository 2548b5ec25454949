"""The CycleGAN ResNet generator (Johnson et al. 2016, as used by Zhu et al. 2017): down-sample, residual
blocks at the bottleneck, up-sample."""

from __future__ import annotations

import keras

from gan_cli.nets.common import check_divisible, kernel_initializer, norm_layer
from gan_cli.recipe.schema import GeneratorSpec


def _conv_norm(x: keras.KerasTensor, width: int, kernel: int, strides: int, spec: GeneratorSpec, name: str,
               index: int, relu: bool = True, transpose: bool = False) -> keras.KerasTensor:
    init = kernel_initializer(spec.kernel_stddev, index, spec.kernel_stddev_layers)
    layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    norm = norm_layer(spec.norm, f"{name}_norm")
    x = layer(width, kernel, strides=strides, padding="same", use_bias=norm is None, kernel_initializer=init,
              name=name)(x)
    if norm is not None:
        x = norm(x)
    return keras.layers.ReLU(name=f"{name}_act")(x) if relu else x


def generator(spec: GeneratorSpec, input_shape: tuple[int, int, int], output_channels: int,
              name: str = "generator") -> keras.Model:
    """image A (H, W, Ca) -> image B (H, W, ``output_channels``).

    A 7x7 Conv2D to ``widths[0]``; one 3x3 stride-2 Conv2D per later width; ``res_blocks`` residual
    blocks (3x3 conv, norm, ReLU, 3x3 conv, norm, plus the input) at ``widths[-1]``; one 3x3 stride-2
    Conv2DTranspose back per down-sampling; a 7x7 Conv2D to the image with ``output_activation``. Each
    convolution but the last is followed by ``norm`` (instance, for CycleGAN) and ReLU. Zero padding
    ("same") stands in for the paper's reflection padding.

    Raises:
        RecipeError: the image size is not divisible by 2^(len(widths) - 1).
    """
    halvings = len(spec.widths) - 1
    check_divisible(input_shape[:2], halvings, "generator", f"resnet with {len(spec.widths)} widths")
    image = keras.Input(input_shape, name="image_a")
    x = _conv_norm(image, spec.widths[0], 7, 1, spec, "in_conv", 0)
    for index, width in enumerate(spec.widths[1:], start=1):
        x = _conv_norm(x, width, 3, 2, spec, f"down_{index}", index)
    for block in range(spec.res_blocks):
        y = _conv_norm(x, spec.widths[-1], 3, 1, spec, f"res_{block}_a", len(spec.widths) + block)
        y = _conv_norm(y, spec.widths[-1], 3, 1, spec, f"res_{block}_b", len(spec.widths) + block, relu=False)
        x = keras.layers.Add(name=f"res_{block}_add")([x, y])
    for index in range(halvings - 1, -1, -1):
        x = _conv_norm(x, spec.widths[index], 3, 2, spec, f"up_{index}", 99, transpose=True)
    init = kernel_initializer(spec.kernel_stddev, 99, spec.kernel_stddev_layers)
    out = keras.layers.Conv2D(output_channels, 7, padding="same", activation=spec.output_activation,
                              kernel_initializer=init, name="image_b")(x)
    return keras.Model(image, out, name=name)
