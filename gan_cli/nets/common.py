"""Pieces shared by the network builders: activations, initializers, layers, output checks."""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from gan_cli.errors import RecipeError


def activation(name: str, negative_slope: float = 0.2, *, layer_name: str | None = None) -> keras.layers.Layer:
    """A Keras layer for a recipe activation name (``leaky_relu`` uses ``negative_slope``)."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=negative_slope, name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


def kernel_initializer(stddev: float | None, layer_index: int, scope: str) -> str | keras.initializers.Initializer:
    """RandomNormal(stddev) for the layers ``scope`` selects (``first`` or ``all``), else Keras' default."""
    if stddev is None or (scope == "first" and layer_index > 0):
        return "glorot_uniform"
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev)


@keras.saving.register_keras_serializable(package="gan_cli")
class SpectralNorm(keras.layers.SpectralNormalization):
    """``keras.layers.SpectralNormalization`` that, like BatchNormalization, runs in inference mode while
    frozen.

    Keras 3's layer rewrites its kernel (one power iteration, then kernel / sigma) on every training-mode
    call. Inside the frozen D of the combined model that would make the generator's update change D;
    here the iteration runs only while the layer is trainable, i.e. in D's own update.
    """

    def call(self, inputs, training=False):  # type: ignore[no-untyped-def]
        return super().call(inputs, training=bool(training) and self.trainable)


#: rows x inputs x units from which BatchMatMulDense takes its gradients from BatchMatMul: below it the
#: BatchMatMul kernel's own overhead outweighs what it saves (the float32 crossover: docs/performance.md)
BATCH_MATMUL_MIN_MACS = 1 << 23


def _input_and_kernel_gradients(x: tf.Tensor, kernel: tf.Tensor, upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``upstream @ kernelᵀ`` and ``xᵀ @ upstream`` as rank-2 BatchMatMulV2 products (differentiable again)."""
    return (tf.raw_ops.BatchMatMulV2(x=upstream, y=kernel, adj_y=True),
            tf.raw_ops.BatchMatMulV2(x=x, y=upstream, adj_x=True))


@tf.custom_gradient
def _affine(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tuple]]:
    """``x @ kernel + bias`` (rank 2) with :func:`_input_and_kernel_gradients`."""

    def gradient(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        return (*_input_and_kernel_gradients(x, kernel, upstream), tf.raw_ops.BiasAddGrad(out_backprop=upstream))

    return tf.nn.bias_add(tf.matmul(x, kernel), bias), gradient


@tf.custom_gradient
def _linear(x: tf.Tensor, kernel: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tuple]]:
    """``x @ kernel`` (rank 2) with :func:`_input_and_kernel_gradients`."""
    return tf.matmul(x, kernel), lambda upstream: _input_and_kernel_gradients(x, kernel, upstream)


@keras.saving.register_keras_serializable(package="gan_cli")
class BatchMatMulDense(keras.layers.Dense):
    """``keras.layers.Dense`` with a faster backward pass for large float32 products; every Dense gan trains.

    The forward pass is Keras' own (``inputs @ kernel + bias``, then the activation), so TensorFlow still
    fuses it into one oneDNN kernel. The gradients are the same products, ``upstream @ kernelᵀ`` and
    ``inputsᵀ @ upstream``, computed by TensorFlow's BatchMatMulV2 where TensorFlow's own MatMul gradient
    uses MatMul with a transposed operand, which oneDNN runs much slower in float32 on CPU (figures in
    docs/performance.md). That holds only for large products, so the layer keeps Keras' path (bit for bit)
    unless :meth:`takes_batch_matmul_gradients`: bfloat16 runs equally fast either way, and small products
    run faster as MatMul. Higher derivatives (WGAN-GP) go through the same differentiable ops.
    """

    def takes_batch_matmul_gradients(self, input_shape: tuple[int | None, ...]) -> bool:
        """Whether a call on ``input_shape`` uses BatchMatMul gradients: float32 compute, rank-2 inputs of a
        known batch size, at least BATCH_MATMUL_MIN_MACS multiply-adds, no LoRA or quantization."""
        if (len(input_shape) != 2 or input_shape[0] is None or input_shape[1] is None
                or self.compute_dtype != "float32" or self.lora_enabled or self.quantization_mode is not None):
            return False
        return int(input_shape[0]) * int(input_shape[1]) * self.units >= BATCH_MATMUL_MIN_MACS

    def call(self, inputs, training=None):  # type: ignore[no-untyped-def]
        if not self.takes_batch_matmul_gradients(tuple(inputs.shape)):
            return super().call(inputs, training=training)
        kernel = tf.convert_to_tensor(self.kernel)
        if self.bias is None:
            outputs = _linear(inputs, kernel)
        else:
            outputs = _affine(inputs, kernel, tf.convert_to_tensor(self.bias))
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="gan_cli")
class PackedDropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` with a cheaper mask, for every dropout gan builds.

    The same thing is computed: each unit kept with probability 1 - rate and scaled by 1 / (1 - rate), one
    seed drawn from the layer's SeedGenerator per call (so runs and resumes are as reproducible). It costs
    less in two ways: each unit's keep decision uses 16 random bits, two units per 32-bit Philox word, half
    the random numbers Keras draws (rate is then a multiple of 1/65536: 0.3 becomes 0.300003); and the mask
    is applied as one multiply forward and backward instead of Keras' scale-then-select, which is faster on
    the tutorial discriminator's masks (figures in docs/performance.md).
    """

    def call(self, inputs, training=False):  # type: ignore[no-untyped-def]
        if not training or self.rate <= 0 or self.rate >= 1 or self.noise_shape is not None:
            return super().call(inputs, training=training)
        # Keras' TensorFlow backend folds its int64 seed state into int32 the same way (XLA needs int32)
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        shape = tf.shape(inputs)
        count = tf.reduce_prod(shape)
        words = tf.random.stateless_uniform([(count + 1) // 2], seed=seed, minval=None, maxval=None, dtype=tf.uint32)
        bits = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:count]
        threshold = tf.constant(min(round(self.rate * 65536), 65535), tf.uint16)
        keep = tf.reshape(bits >= threshold, shape)
        mask = tf.cast(keep, inputs.dtype) * tf.cast(1.0 / (1.0 - self.rate), inputs.dtype)
        return inputs * tf.stop_gradient(mask)


def kernel_layer(layer: keras.layers.Layer, spectral_norm: bool) -> keras.layers.Layer:
    """``layer`` itself, or wrapped in spectral normalization (SNGAN)."""
    if not spectral_norm:
        return layer
    return SpectralNorm(layer, name=f"{layer.name}_sn")


def check_output(model: keras.Model, expected: tuple[int, ...], role: str) -> keras.Model:
    """Raise a RecipeError unless ``model`` outputs ``(batch, *expected)``."""
    got = tuple(model.output.shape[1:])
    if got != tuple(expected):
        raise RecipeError(f"{role}: the network outputs shape {got} but must output {tuple(expected)} "
                          f"(the {'image shape of the data' if role == 'generator' else 'one score per image'}); "
                          f"adjust {role}.widths / {role}.layers or data.image_size")
    return model


def norm_layer(kind: str, name: str) -> keras.layers.Layer | None:
    """The normalization a recipe's ``norm`` names, or None for ``none``.

    ``batch``: BatchNormalization with momentum 0.9 (PyTorch's 0.1, as the pix2pix code has it);
    ``instance``: GroupNormalization with one group per channel, i.e. instance normalization (CycleGAN).
    """
    if kind == "batch":
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
    if kind == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    return None


def check_divisible(size: tuple[int, ...], halvings: int, role: str, what: str) -> tuple[int, int]:
    """The (height, width) of ``size`` halved ``halvings`` times: a generator's starting map, a discriminator's
    last one.

    Raises:
        RecipeError: height or width does not halve that often exactly (``what`` names the network).
    """
    factor = 2**halvings
    if size[0] % factor or size[1] % factor:
        raise RecipeError(f"{role}.widths: {what} works at the image size halved {halvings} times, so height and "
                          f"width must be divisible by {factor}, but the images are {size[0]}x{size[1]}; use fewer "
                          "widths or set data.image_size / data.crop_size")
    return size[0] // factor, size[1] // factor
