"""StyleGAN-mini: a style-based generator (Karras et al. 2019) small enough for 28x28 to 64x64 images on a CPU.

One functional Keras model ``G(z) -> image`` built from stock Keras layers only — no Lambda, no custom layer
class, not even ``keras.ops`` nodes (``runs/export.py``'s ``portable_model`` clones every node of the graph
as a layer), so ``model.save(...)`` gives a ``.keras`` file that loads with Keras alone and
``gan export`` makes it portable unchanged. What StyleGAN computes, and the stock layers that compute it here:

- **mapping network** ``z -> w``: pixel norm of z (``UnitNormalization`` times ``sqrt(latent_dim)``), then
  ``mapping_layers`` Dense + leaky ReLU(0.2). StyleGAN trains these layers at 0.01 times the learning rate;
  here the multiplier is built in the way StyleGAN builds it (equalized learning rate): each mapping Dense
  holds its weights divided by ``mapping_lr_multiplier`` and a ``Rescaling(mapping_lr_multiplier)`` follows
  it, so with Adam or RMSprop (whose steps do not depend on the gradient's scale) every mapping weight moves
  ``mapping_lr_multiplier`` times as fast as the others under ONE optimizer. Nothing on the optimizer side.
- **truncation** ``w' = psi * w + (1 - psi) * w_avg`` on every style, at inference and in training alike:
  ``w_avg`` is the kernel (1, w_dim) of a non-trainable Dense named ``w_avg`` applied to a column of ones,
  ``psi`` the kernel (1, 1) of a non-trainable Dense named ``truncation_psi`` (1 = no truncation, the
  default; keep it 1 while training). :func:`update_w_avg` tracks w_avg; :func:`set_truncation` sets psi.
- **learned constant** (H0, W0, widths[0]) with H0 = H / 2^(len(widths) - 1): a Dense without bias, named
  ``const``, on the column of ones, reshaped.
- **synthesis**: one block per width, at H0, 2·H0, 4·H0, ... (bilinear up-sampling x2 before every block
  but the first), each block two *style layers*: 3x3 conv (with bias) -> + noise -> leaky ReLU(0.2) ->
  instance normalization -> AdaIN style ``x * scale(w) + shift(w)`` (StyleGAN v1's order; ``scale`` and
  ``shift`` are Dense layers of the style's w, ``scale``'s bias starting at 1). A 1x1 conv ``to_rgb`` and
  tanh (float32) make the image in [-1, 1]. Style layer i (0-based) sits in block i // 2, at resolution
  H0 · 2^(i // 2): small i are the coarse styles (pose, shape), large i the fine ones (texture, stroke).
- **noise**: each style layer adds one (H, W, 1) image of N(0, 1) noise times a learned per-channel strength
  (a Dense(C, use_bias=False) initialised to zeros, on that noise image). The noise is drawn by a
  ``GaussianNoise(1.0)`` layer on zeros, so it exists **only in training mode**: in inference mode
  (``training=False``, ``predict``, every exported form) the noise is zero — StyleGAN's ``noise_mode='none'``
  — and the generator is deterministic.
- **style mixing regularization**: in training mode only, each sample, with probability
  ``mixing_probability``, takes the styles of layers ``c .. L-1`` from ``w2 = mapping(z2)`` of a second latent
  ``z2 ~ N(0, 1)``, with the crossover ``c`` uniform in 1 .. L-1 (L = 2 · len(widths) style layers). z2 comes
  from a ``GaussianNoise`` layer on zeros; the mixing decision and the crossover from ``Dropout`` layers on a
  column of ones (a kept unit, clipped to 1 by ``ReLU(max_value=1)``, is a Bernoulli draw in training and
  always 1 in inference), so inference never mixes.

The layers have fixed names (``mapping_dense_k``, ``const``, ``conv_i``, ``noise_strength_i``,
``style_scale_i``, ``style_shift_i``, ``w_avg``, ``truncation_psi``, ...): the helpers below rebuild the
mapping and the synthesis network from a generator's layers by those names, so they work on the model as
built, as checkpointed, as loaded from ``generator.keras`` and as exported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from gan_cli.errors import RecipeError
from gan_cli.nets.common import check_divisible

#: Prefix of every mapping-network layer's name (see :func:`mapping_variables`).
MAPPING_PREFIX = "mapping"
#: Name of the non-trainable Dense whose kernel (1, w_dim) is the tracked average w.
W_AVG = "w_avg"
#: Name of the non-trainable Dense whose kernel (1, 1) is the truncation psi.
TRUNCATION_PSI = "truncation_psi"
#: Style layers (convolutions, each with its own noise and AdaIN) per resolution block.
LAYERS_PER_BLOCK = 2
#: Slope for x < 0 of every leaky ReLU (StyleGAN's).
NEGATIVE_SLOPE = 0.2

_L = keras.layers


def _base_size(image_shape: tuple[int, int, int], blocks: int, role: str = "generator") -> tuple[int, int]:
    """(H0, W0): the image size halved ``blocks - 1`` times (the generator's learned constant, the
    discriminator's last feature map).

    Raises:
        RecipeError: the image size does not halve that often exactly, or to less than 2x2.
    """
    base_h, base_w = check_divisible(image_shape, blocks - 1, role, f"stylegan with {blocks} widths")
    if base_h < 2 or base_w < 2:
        raise RecipeError(f"{role}.widths: stylegan with {blocks} widths would start from {base_h}x{base_w} "
                          f"features for {image_shape[0]}x{image_shape[1]} images; instance normalization needs "
                          "at least 2x2: use fewer widths")
    return base_h, base_w


def _new_layers(latent_dim: int, image_shape: tuple[int, int, int], widths: Sequence[int], mapping_layers: int,
                w_dim: int, mapping_lr_multiplier: float) -> dict[str, keras.layers.Layer]:
    """Every named layer that :func:`_mapping`, :func:`_truncate` and :func:`_synthesis` wire, new and unbuilt."""
    base_h, base_w = _base_size(image_shape, len(widths))
    layers: dict[str, keras.layers.Layer] = {}

    def add(layer: keras.layers.Layer) -> None:
        """Register ``layer`` under its (unique) name."""
        layers[layer.name] = layer

    # a (B, 1) column of zeros and one of ones, derived from z so that they have its batch size
    add(_L.Rescaling(0.0, name="zeros"))
    add(_L.Reshape((latent_dim, 1), name="zeros_reshape"))
    add(_L.GlobalAveragePooling1D(name="zeros_column"))
    add(_L.Rescaling(0.0, offset=1.0, name="ones_column"))

    add(_L.UnitNormalization(axis=-1, name=f"{MAPPING_PREFIX}_pixel_norm"))
    add(_L.Rescaling(math.sqrt(latent_dim), name=f"{MAPPING_PREFIX}_pixel_norm_scale"))
    fan_in = latent_dim
    for k in range(mapping_layers):
        # He initialisation of the effective weights lr_mul * kernel
        init = keras.initializers.RandomNormal(stddev=math.sqrt(2.0 / fan_in) / mapping_lr_multiplier)
        add(_L.Dense(w_dim, kernel_initializer=init, name=f"{MAPPING_PREFIX}_dense_{k}"))
        add(_L.Rescaling(mapping_lr_multiplier, name=f"{MAPPING_PREFIX}_lr_multiplier_{k}"))
        add(_L.LeakyReLU(NEGATIVE_SLOPE, name=f"{MAPPING_PREFIX}_lrelu_{k}"))
        fan_in = w_dim

    add(_L.Dense(w_dim, use_bias=False, kernel_initializer="zeros", trainable=False, name=W_AVG))
    add(_L.Dense(1, use_bias=False, kernel_initializer="ones", trainable=False, name=TRUNCATION_PSI))
    add(_L.Rescaling(-1.0, offset=1.0, name="truncation_complement"))
    add(_L.Multiply(name="truncation_w"))
    add(_L.Multiply(name="truncation_w_avg"))
    add(_L.Add(name="truncated_w"))

    add(_L.Dense(base_h * base_w * widths[0], use_bias=False,
                 kernel_initializer=keras.initializers.RandomNormal(stddev=1.0), name="const"))
    add(_L.Reshape((base_h, base_w, widths[0]), name="const_reshape"))
    add(_L.Reshape((1, 1, 1), name="noise_zeros_reshape"))
    for block, width in enumerate(widths):
        size = (base_h * 2**block, base_w * 2**block)
        if block:
            add(_L.UpSampling2D(2, interpolation="bilinear", name=f"upsample_{block}"))
        add(_L.UpSampling2D(size, name=f"noise_zeros_{block}"))
        for index in range(block * LAYERS_PER_BLOCK, (block + 1) * LAYERS_PER_BLOCK):
            add(_L.Conv2D(width, 3, padding="same", kernel_initializer="he_normal", name=f"conv_{index}"))
            add(_L.GaussianNoise(1.0, name=f"noise_{index}"))
            add(_L.Dense(width, use_bias=False, kernel_initializer="zeros", name=f"noise_strength_{index}"))
            add(_L.Add(name=f"add_noise_{index}"))
            add(_L.LeakyReLU(NEGATIVE_SLOPE, name=f"lrelu_{index}"))
            add(_L.GroupNormalization(groups=-1, center=False, scale=False, epsilon=1e-5,
                                      name=f"instance_norm_{index}"))
            add(_L.Dense(width, kernel_initializer="lecun_normal", bias_initializer="ones",
                         name=f"style_scale_{index}"))
            add(_L.Dense(width, kernel_initializer="lecun_normal", name=f"style_shift_{index}"))
            add(_L.Reshape((1, 1, width), name=f"style_scale_reshape_{index}"))
            add(_L.Reshape((1, 1, width), name=f"style_shift_reshape_{index}"))
            add(_L.Multiply(name=f"modulate_{index}"))
            add(_L.Add(name=f"style_{index}"))
    add(_L.Conv2D(image_shape[2], 1, kernel_initializer="lecun_normal", name="to_rgb"))
    add(_L.Activation("tanh", dtype="float32", name="image"))
    return layers


def _count(layers: Mapping[str, Any], pattern: str) -> int:
    """How many layer names match ``pattern`` with ``{}`` standing for an index 0, 1, 2, ..."""
    regex = re.compile(re.escape(pattern).replace(r"\{\}", r"\d+"))
    return sum(1 for name in layers if regex.fullmatch(name))


def _zeros_column(layers: Mapping[str, keras.layers.Layer], z: Any) -> Any:
    """A (B, 1) column of zeros with the batch size of the latents ``z`` (B, latent_dim)."""
    return layers["zeros_column"](layers["zeros_reshape"](layers["zeros"](z)))


def _mapping(layers: Mapping[str, keras.layers.Layer], z: Any) -> Any:
    """The mapping network: latents (B, latent_dim) -> w (B, w_dim), untruncated."""
    x = layers[f"{MAPPING_PREFIX}_pixel_norm_scale"](layers[f"{MAPPING_PREFIX}_pixel_norm"](z))
    for k in range(_count(layers, f"{MAPPING_PREFIX}_dense_{{}}")):
        x = layers[f"{MAPPING_PREFIX}_dense_{k}"](x)
        x = layers[f"{MAPPING_PREFIX}_lrelu_{k}"](layers[f"{MAPPING_PREFIX}_lr_multiplier_{k}"](x))
    return x


def _truncate(layers: Mapping[str, keras.layers.Layer], w: Any, zeros: Any) -> Any:
    """``psi * w + (1 - psi) * w_avg`` (exactly w at psi = 1, exactly w_avg at psi = 0)."""
    ones = layers["ones_column"](zeros)
    psi = layers[TRUNCATION_PSI](ones)
    average = layers[W_AVG](ones)
    return layers["truncated_w"]([layers["truncation_w"]([psi, w]),
                                  layers["truncation_w_avg"]([layers["truncation_complement"](psi), average])])


def _synthesis(layers: Mapping[str, keras.layers.Layer], styles: Sequence[Any], zeros: Any) -> Any:
    """The synthesis network: one w (B, w_dim) per style layer, and a (B, 1) column of zeros -> image."""
    ones = layers["ones_column"](zeros)
    x = layers["const_reshape"](layers["const"](ones))
    noise_zeros = layers["noise_zeros_reshape"](zeros)
    zero_maps = None
    for index, style in enumerate(styles):
        block = index // LAYERS_PER_BLOCK
        if index % LAYERS_PER_BLOCK == 0:
            if block:
                x = layers[f"upsample_{block}"](x)
            zero_maps = layers[f"noise_zeros_{block}"](noise_zeros)
        x = layers[f"conv_{index}"](x)
        noise = layers[f"noise_strength_{index}"](layers[f"noise_{index}"](zero_maps))
        x = layers[f"instance_norm_{index}"](layers[f"lrelu_{index}"](layers[f"add_noise_{index}"]([x, noise])))
        scale = layers[f"style_scale_reshape_{index}"](layers[f"style_scale_{index}"](style))
        shift = layers[f"style_shift_reshape_{index}"](layers[f"style_shift_{index}"](style))
        x = layers[f"style_{index}"]([layers[f"modulate_{index}"]([x, scale]), shift])
    return layers["image"](layers["to_rgb"](x))


def _mixed_styles(w: Any, w2: Any, zeros: Any, ones_layer: keras.layers.Layer, count: int,
                  probability: float) -> list[Any]:
    """The ``count`` per-layer styles with style mixing: w for all in inference mode; in training mode, per
    sample, with ``probability``, w before a crossover uniform in 1 .. count-1 and w2 from it on."""
    ones = ones_layer(zeros)

    def keep(rate: float, name: str) -> Any:
        """(B, 1): per sample 1 with probability 1 - rate, else 0, in training mode; always 1 in inference."""
        return _L.ReLU(max_value=1.0, name=f"{name}_keep")(_L.Dropout(rate, name=name)(ones))

    if probability >= 1.0:
        # Dropout(0.5) gives 0 or 2 in training and 1 in inference: (d - 1)² is 1 in training, 0 in inference
        flag = _L.Dropout(0.5, name="mixing_flag")(ones)
        centered = _L.Rescaling(1.0, offset=-1.0, name="mixing_flag_centered")(flag)
        mix = _L.Multiply(name="mixing_decision")([centered, centered])
    else:
        mix = _L.Rescaling(-1.0, offset=1.0, name="mixing_decision")(keep(probability, "mixing_draw"))
    difference = _L.Subtract(name="mixing_difference")([w2, w])
    styles = [w]
    before = None  # 1 while the crossover lies after the current layer
    for index in range(1, count):
        if index == count - 1:
            use = mix
        else:
            # P(crossover = index | crossover >= index) = 1 / (count - index) makes it uniform in 1 .. count-1
            stays = keep(1.0 / (count - index), f"mixing_crossover_{index}")
            before = stays if before is None else _L.Multiply(name=f"mixing_before_{index}")([before, stays])
            use = _L.Multiply(name=f"mixing_use_{index}")(
                [mix, _L.Rescaling(-1.0, offset=1.0, name=f"mixing_after_{index}")(before)])
        delta = _L.Multiply(name=f"mixing_delta_{index}")([use, difference])
        styles.append(_L.Add(name=f"mixed_w_{index}")([w, delta]))
    return styles


def generator(latent_dim: int, image_shape: tuple[int, int, int], widths: Sequence[int], mapping_layers: int = 4,
              w_dim: int | None = None, mixing_probability: float = 0.9, mapping_lr_multiplier: float = 0.01,
              name: str = "generator") -> keras.Model:
    """StyleGAN-mini: ``z (latent_dim,) -> image image_shape`` in [-1, 1] (tanh, float32), stock layers only.

    Args:
        latent_dim: size of z ~ N(0, 1).
        image_shape: (H, W, C); H and W divisible by 2^(len(widths) - 1) (28x28 with 3 widths starts at 7x7,
            32x32 with 4 widths at 4x4).
        widths: channels of each resolution block, coarsest first; the first is also the learned constant's
            depth. 2 · len(widths) style layers.
        mapping_layers: Dense layers of the mapping network (at least 1).
        w_dim: size of w and of the mapping network's layers; None = ``latent_dim``.
        mixing_probability: per sample, in training mode, the probability of style mixing (0 = never).
        mapping_lr_multiplier: learning-rate multiplier of the mapping network, built into its weights (see
            the module docstring: for Adam and RMSprop up to their epsilon; with plain SGD the factor is its
            square). 1 = none (then scale :func:`mapping_variables`' learning rate on the optimizer side).
        name: the model's name.

    Returns:
        An uncompiled functional model. In inference mode it is deterministic (no noise, no mixing); in
        training mode it adds per-layer noise and mixes styles. ``w_avg`` starts at 0 and ``psi`` at 1.

    Training it: noise and style mixing exist only in training mode, so every image D sees from G (its own
    update's fakes too) should come from ``G(z, training=True)`` (G has no BatchNorm: nothing else changes).
    Call :func:`update_w_avg` after each step. Never set ``model.trainable = True``: Keras would pass it on to
    every layer, making ``w_avg`` and ``truncation_psi`` trainable (they are frozen from the start).

    Raises:
        RecipeError: the image size does not fit the number of blocks.
        ValueError: an argument is out of range.
    """
    if not widths or min(widths) < 1:
        raise ValueError(f"widths must be at least one positive channel count, got {list(widths)}")
    if latent_dim < 1 or mapping_layers < 1 or (w_dim is not None and w_dim < 1):
        raise ValueError(f"latent_dim, mapping_layers and w_dim must be positive, got {latent_dim}, "
                         f"{mapping_layers}, {w_dim}")
    if not 0.0 <= mixing_probability <= 1.0:
        raise ValueError(f"mixing_probability must lie in [0, 1], got {mixing_probability}")
    if not mapping_lr_multiplier > 0.0:
        raise ValueError(f"mapping_lr_multiplier must be positive, got {mapping_lr_multiplier}")
    w_dim = w_dim or latent_dim
    widths = [int(width) for width in widths]
    layers = _new_layers(latent_dim, image_shape, widths, mapping_layers, w_dim, mapping_lr_multiplier)
    count = LAYERS_PER_BLOCK * len(widths)

    z = keras.Input((latent_dim,), name="z")
    zeros = _zeros_column(layers, z)
    w = _truncate(layers, _mapping(layers, z), zeros)
    styles = [w] * count
    if mixing_probability > 0.0:
        z2 = _L.GaussianNoise(1.0, name="mixing_latent")(layers["zeros"](z))  # N(0, 1) in training, else 0
        w2 = _truncate(layers, _mapping(layers, z2), zeros)
        styles = _mixed_styles(w, w2, zeros, layers["ones_column"], count, mixing_probability)
    return keras.Model(z, _synthesis(layers, styles, zeros), name=name)


# ------------------------------------------------------------------------------------------------------------
# What a trainer and a sampler call on a built (or loaded) generator


def _layer_table(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """The generator's layers by name.

    Raises:
        ValueError: ``model`` is not a StyleGAN-mini generator.
    """
    if not is_stylegan(model):
        raise ValueError(f"model {model.name} is not a StyleGAN-mini generator (no {W_AVG}/{TRUNCATION_PSI} layers)")
    return {layer.name: layer for layer in model.layers}


def is_stylegan(model: keras.Model) -> bool:
    """Whether ``model`` is a StyleGAN-mini generator (as built, checkpointed, loaded or exported)."""
    names = {layer.name for layer in getattr(model, "layers", [])}
    return {W_AVG, TRUNCATION_PSI, "const", "conv_0"} <= names


def num_styles(model: keras.Model) -> int:
    """L, the number of style layers (2 per resolution block); styles 0 .. L-1 run from coarse to fine."""
    return _count(_layer_table(model), "conv_{}")


def mapping_variables(model: keras.Model) -> list[Any]:
    """The mapping network's trainable variables: those of the layers named ``mapping*``.

    The model already trains them at ``mapping_lr_multiplier`` times the learning rate (built into the weights,
    see :func:`generator`); do NOT scale their learning rate again. With ``mapping_lr_multiplier=1`` a trainer
    that wants the multiplier on the optimizer side would give these variables their own optimizer (or
    ``learning_rate * 0.01``) and exclude them from the generator's main optimizer.
    """
    layers = _layer_table(model)
    return [variable for name, layer in layers.items() if name.startswith(MAPPING_PREFIX)
            for variable in layer.trainable_variables]


def mapping_model(model: keras.Model, truncated: bool = False) -> keras.Model:
    """A functional model ``z (latent_dim,) -> w (w_dim,)`` that shares ``model``'s weights.

    Args:
        model: a StyleGAN-mini generator.
        truncated: apply the truncation (``psi * w + (1 - psi) * w_avg``, with the generator's current and future
            w_avg and psi), as the generator does to every style; False = the raw mapping output.
    """
    layers = _layer_table(model)
    z = keras.Input(tuple(model.inputs[0].shape[1:]), name="z")
    w = _mapping(layers, z)
    if truncated:
        w = _truncate(layers, w, _zeros_column(layers, z))
    return keras.Model(z, w, name=f"{model.name}_mapping")


def synthesis_model(model: keras.Model) -> keras.Model:
    """A functional model ``styles (L, w_dim) -> image`` that shares ``model``'s weights: row i of ``styles`` is
    the (already truncated) w of style layer i. With every row equal to the generator's truncated w it gives
    the generator's image; noise only in training mode, as the generator."""
    layers = _layer_table(model)
    count = num_styles(model)
    w_dim = int(layers[W_AVG].units)
    styles_in = keras.Input((count, w_dim), name="styles")
    styles = [_L.Reshape((w_dim,))(_L.Cropping1D((index, count - 1 - index))(styles_in)) for index in range(count)]
    zeros = _L.GlobalAveragePooling1D()(_L.Reshape((w_dim, 1))(_L.Rescaling(0.0)(styles[0])))
    return keras.Model(styles_in, _synthesis(layers, styles, zeros), name=f"{model.name}_synthesis")


def mix_styles(model: keras.Model, z_coarse: Any, z_fine: Any, crossover: int) -> np.ndarray:
    """Images whose styles 0 .. crossover-1 come from ``z_coarse`` and styles crossover .. L-1 from ``z_fine``
    (each truncated as the generator truncates), in inference mode (no noise).

    Args:
        model: a StyleGAN-mini generator.
        z_coarse, z_fine: latents (N, latent_dim) of the same N.
        crossover: 0 .. L (:func:`num_styles`): 0 = all from ``z_fine``, L = all from ``z_coarse``.

    Returns:
        float32 images (N, H, W, C) in [-1, 1]; with ``z_coarse`` equal to ``z_fine`` exactly
        ``model(z, training=False)``.

    Raises:
        ValueError: ``crossover`` out of range or the latents' shapes differ.
    """
    layers = _layer_table(model)
    count = num_styles(model)
    if not 0 <= crossover <= count:
        raise ValueError(f"crossover must lie in 0..{count} (the generator's style layers), got {crossover}")
    coarse = keras.ops.convert_to_tensor(np.asarray(z_coarse, dtype="float32"))
    fine = keras.ops.convert_to_tensor(np.asarray(z_fine, dtype="float32"))
    if tuple(coarse.shape) != tuple(fine.shape):
        raise ValueError(f"z_coarse {tuple(coarse.shape)} and z_fine {tuple(fine.shape)} must have the same shape")
    zeros = _zeros_column(layers, coarse)
    w_coarse = _truncate(layers, _mapping(layers, coarse), zeros)
    w_fine = _truncate(layers, _mapping(layers, fine), zeros)
    styles = [w_coarse if index < crossover else w_fine for index in range(count)]
    return np.asarray(keras.ops.convert_to_numpy(_synthesis(layers, styles, zeros)), dtype="float32")


def update_w_avg(model: keras.Model, z_batch: Any, beta: float = 0.995) -> None:
    """Track the average w: ``w_avg <- beta * w_avg + (1 - beta) * mean over the batch of mapping(z_batch)``.

    The trainer calls it after each step (any latents of that step will do; StyleGAN uses the step's own).
    The mapping runs in float32 or the model's compute dtype; the average is kept in float32. Works eagerly
    and inside a ``tf.function``.

    Raises:
        ValueError: ``beta`` outside [0, 1].
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must lie in [0, 1], got {beta}")
    layers = _layer_table(model)
    w = _mapping(layers, keras.ops.convert_to_tensor(z_batch, dtype="float32"))
    mean = keras.ops.mean(keras.ops.cast(w, "float32"), axis=0, keepdims=True)
    kernel = layers[W_AVG].kernel
    kernel.assign(beta * keras.ops.convert_to_tensor(kernel) + (1.0 - beta) * mean)


def set_truncation(model: keras.Model, psi: float) -> None:
    """Set the truncation psi every style uses from now on: 1 = none (training), 0 = every image from w_avg,
    StyleGAN's usual 0.5 .. 0.7 for samples. The value is a weight: it is saved with the model and checkpoints.

    Raises:
        ValueError: ``psi`` is not finite.
    """
    if not math.isfinite(psi):
        raise ValueError(f"psi must be a finite number, got {psi}")
    _layer_table(model)[TRUNCATION_PSI].kernel.assign(np.full((1, 1), psi, dtype="float32"))


def truncation(model: keras.Model) -> float:
    """The truncation psi ``model`` uses now."""
    return float(np.asarray(_layer_table(model)[TRUNCATION_PSI].kernel).reshape(()))


# ------------------------------------------------------------------------------------------------------------
# A matching discriminator (optional: any D that scores images works with the generator)


def _minibatch_stddev(x: Any, group_size: int) -> Any:
    """x (B, H, W, C) with one more channel: per group of ``group_size`` consecutive images, the standard deviation
    of each feature over the group, averaged over the features (ProGAN/StyleGAN's minibatch standard deviation).
    Groups are consecutive images, so a batch of reals followed by fakes (as D's update concatenates them) never
    mixes the two when each half is a multiple of ``group_size``; B must be one."""
    height, width, channels = (int(size) for size in x.shape[1:])
    groups = keras.ops.reshape(x, (-1, group_size, height, width, channels))
    spread = keras.ops.sqrt(keras.ops.var(groups, axis=1) + 1e-8)  # (B / G, H, W, C)
    spread = keras.ops.mean(spread, axis=(1, 2, 3), keepdims=True)  # (B / G, 1, 1, 1)
    spread = keras.ops.tile(keras.ops.repeat(spread, group_size, axis=0), (1, height, width, 1))
    return _L.Concatenate(name="minibatch_stddev")([x, keras.ops.cast(spread, x.dtype)])


def discriminator(image_shape: tuple[int, int, int], widths: Sequence[int], group_size: int = 4,
                  output_activation: str = "linear", name: str = "discriminator") -> keras.Model:
    """A StyleGAN2-style residual discriminator: ``image (H, W, C) -> one score (1,)``.

    A 1x1 ``from_rgb`` conv to ``widths[0]`` channels; then one residual block per further width, each halving
    the size: ``(conv 3x3 -> lrelu -> conv 3x3 -> lrelu -> 2x2 average pooling) + (2x2 average pooling -> 1x1
    conv)``, the sum scaled by sqrt(1/2); then the minibatch standard deviation (``group_size`` consecutive
    images), a 3x3 conv, a Dense of ``widths[-1]`` units and the score Dense (float32). Leaky ReLU(0.2) throughout;
    no normalization, so it suits R1 and gradient penalties. The mirror of :func:`generator`'s widths: D's
    ``widths`` run fine to coarse (e.g. [32, 64, 128] for a generator of [128, 64, 32]).

    Stock layers plus ``keras.ops`` for the minibatch standard deviation (D is never exported). Every batch it
    scores must be a multiple of ``group_size`` (1 = the feature off): the recipe's batch size, and per replica
    under ``tf.distribute``.

    Raises:
        RecipeError: the image size does not halve ``len(widths) - 1`` times exactly.
        ValueError: an argument is out of range.
    """
    if not widths or min(widths) < 1 or group_size < 1:
        raise ValueError(f"widths must be positive channel counts and group_size >= 1, got {list(widths)}, "
                         f"{group_size}")
    _base_size(image_shape, len(widths), "discriminator")
    image = keras.Input(image_shape, name="image")
    x = _L.LeakyReLU(NEGATIVE_SLOPE, name="from_rgb_lrelu")(
        _L.Conv2D(widths[0], 1, kernel_initializer="he_normal", name="from_rgb")(image))
    for index, (channels_in, channels_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        skip = _L.Conv2D(channels_out, 1, use_bias=False, kernel_initializer="lecun_normal", name=f"skip_{index}")(
            _L.AveragePooling2D(2, name=f"skip_pool_{index}")(x))
        x = _L.LeakyReLU(NEGATIVE_SLOPE, name=f"lrelu_{index}a")(
            _L.Conv2D(channels_in, 3, padding="same", kernel_initializer="he_normal", name=f"conv_{index}a")(x))
        x = _L.LeakyReLU(NEGATIVE_SLOPE, name=f"lrelu_{index}b")(
            _L.Conv2D(channels_out, 3, padding="same", kernel_initializer="he_normal", name=f"conv_{index}b")(x))
        x = _L.AveragePooling2D(2, name=f"pool_{index}")(x)
        x = _L.Rescaling(math.sqrt(0.5), name=f"residual_{index}")(_L.Add(name=f"residual_add_{index}")([x, skip]))
    if group_size > 1:
        x = _minibatch_stddev(x, group_size)
    x = _L.LeakyReLU(NEGATIVE_SLOPE, name="epilogue_lrelu")(
        _L.Conv2D(widths[-1], 3, padding="same", kernel_initializer="he_normal", name="epilogue_conv")(x))
    x = _L.Flatten(name="score_flatten")(x)
    x = _L.LeakyReLU(NEGATIVE_SLOPE, name="score_hidden_lrelu")(
        _L.Dense(widths[-1], kernel_initializer="he_normal", name="score_hidden")(x))
    score = _L.Dense(1, activation=output_activation, dtype="float32", name="score")(x)
    return keras.Model(image, score, name=name)
