"""BigGAN-mini (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image Synthesis"), small
enough for 28x28 to 64x64 images on a CPU.

Generator: z is split into one chunk for the first linear layer and one per residual up-block (hierarchical
latents); every block's batch norms are conditional, their gain and bias linear in cond = [z chunk, shared class
embedding], the embedding one bias-free Dense of the one-hot label shared by all blocks. Discriminator: residual
down-blocks, ReLU, sum pooling, Dense(1), and with classes a projection term (:mod:`gan_cli.nets.projection`).
Both are spectral-normalized on every convolution and linear layer by default, and optionally the generator's
kernels carry BigGAN's orthogonal regularization.

The generator is made of stock Keras layers only (no Lambda, no layer of gan's own, no keras.ops calls in the
graph: the z split is Reshape + Cropping1D + Flatten), so ``model.save`` of it, and ``runs.export``'s portable
copy, load with Keras alone. Its orthogonal regularizer is attached to the kernel *variables*, not to the layers'
configs, so it counts in ``model.losses`` while training and never reaches a saved file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from gan_cli.errors import RecipeError
from gan_cli.nets.common import check_divisible, kernel_layer
from gan_cli.nets.projection import projection_discriminator

#: BatchNormalization settings of both networks: PyTorch's momentum 0.1 and epsilon 1e-5, as BigGAN's
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
#: kernel initializer of every convolution and linear layer (BigGAN's ``init: ortho``)
KERNEL_INIT = "orthogonal"


@keras.saving.register_keras_serializable(package="gan_cli")
class OrthogonalPenalty(keras.regularizers.Regularizer):
    """BigGAN's orthogonal regularization: ``beta * ||Wᵀ W ⊙ (1 - I)||_F²``.

    The kernel is reshaped to W = (fan_in, out) (a Dense kernel as it is, a Conv2D kernel (kh, kw, in, out) to
    (kh·kw·in, out)), so ``Wᵀ W`` is the (out x out) Gram matrix of the output filters, the one BigGAN-PyTorch
    uses (its ``W Wᵀ`` on PyTorch's (out, fan_in) layout). Only the off-diagonal products are penalised: the
    filters are pushed towards mutual orthogonality, their norms left free. A layer with one output (the image
    convolution of a grey image) has no off-diagonal entries and no penalty.

    The gradient of this penalty is ``4 beta (Wᵀ W ⊙ (1 - I))`` per filter, twice the update BigGAN-PyTorch's
    ``utils.ortho(strength)`` adds; ``beta = strength / 2`` (5e-5 for its 1e-4) gives the same training.
    """

    def __init__(self, beta: float) -> None:
        """A penalty of weight ``beta`` (>= 0; RecipeError otherwise)."""
        if beta < 0:
            raise RecipeError(f"generator.orthogonal: the orthogonal regularization weight must be >= 0, not {beta}")
        self.beta = float(beta)

    def __call__(self, kernel: Any) -> Any:
        """The penalty of one kernel, a float32 scalar."""
        matrix = keras.ops.reshape(keras.ops.cast(kernel, "float32"), (-1, kernel.shape[-1]))
        gram = keras.ops.matmul(keras.ops.transpose(matrix), matrix)
        off_diagonal = gram * (1.0 - keras.ops.eye(int(kernel.shape[-1]), dtype="float32"))
        return self.beta * keras.ops.sum(keras.ops.square(off_diagonal))

    def get_config(self) -> dict[str, Any]:
        """``{"beta": beta}``: the constructor's arguments."""
        return {"beta": self.beta}


def orthogonal_regularizer(beta: float) -> OrthogonalPenalty:
    """BigGAN's orthogonal regularizer ``beta * ||Wᵀ W ⊙ (1 - I)||_F²`` on (fan_in, out) kernels (see
    :class:`OrthogonalPenalty`), a ``keras.regularizers.Regularizer`` serializable with ``get_config``.

    Raises:
        RecipeError: ``beta`` is negative.
    """
    return OrthogonalPenalty(beta)


def _spectral(layer: keras.layers.Layer, on: bool) -> keras.layers.Layer:
    """``layer``, or ``layer`` in Keras' own SpectralNormalization (the generator: stock layers only)."""
    return keras.layers.SpectralNormalization(layer, name=f"{layer.name}_sn") if on else layer


def _widths(widths: Sequence[int], role: str) -> tuple[int, ...]:
    """``widths`` as a tuple of positive ints.

    Raises:
        RecipeError: no widths, or one below 1.
    """
    result = tuple(int(width) for width in widths)
    if not result or min(result) < 1:
        raise RecipeError(f"{role}.widths: biggan needs at least one width (one residual block each), all >= 1, "
                          f"not {list(widths)}")
    return result


def base_size(image_shape: tuple[int, int, int], blocks: int) -> tuple[int, int]:
    """The generator's starting feature map (height, width): the image size halved once per up-block
    (28x28 with 2 blocks: 7x7; 32x32 with 3: 4x4; 64x64 with 4: 4x4).

    Raises:
        RecipeError: the image height or width is not divisible by 2**blocks.
    """
    return check_divisible(image_shape, blocks, "generator",
                           f"biggan with {blocks} residual up-blocks (28x28 takes 2, 32x32 3, 64x64 4)")


def latent_chunks(latent_dim: int, parts: int) -> list[int]:
    """The sizes of the ``parts`` consecutive chunks z is split into: as equal as can be, the first ones one
    larger when ``latent_dim`` is not a multiple (20 into 3: [7, 7, 6]).

    Raises:
        RecipeError: ``latent_dim`` is smaller than ``parts`` (a chunk would be empty).
    """
    if latent_dim < parts:
        raise RecipeError(f"generator.latent_dim: biggan's hierarchical z gives one chunk to the first layer and one "
                          f"to each of its {parts - 1} blocks, so latent_dim must be at least {parts}, not "
                          f"{latent_dim}")
    size, extra = divmod(latent_dim, parts)
    return [size + (1 if index < extra else 0) for index in range(parts)]


def _split_latent(z: keras.KerasTensor, sizes: list[int]) -> list[keras.KerasTensor]:
    """The chunks of z, ``z_chunk_0`` ... ``z_chunk_n``, each (N, size), cut with stock layers only.

    Reshape to (latent_dim, 1), Cropping1D to the chunk's rows, Flatten: exact slicing that ``clone_model`` and
    hence ``runs.export.portable_model`` can copy (a keras.ops slice in the graph is an Operation without a
    layer config, which that copy cannot rebuild).
    """
    latent_dim = sum(sizes)
    column = keras.layers.Reshape((latent_dim, 1), name="z_column")(z)
    chunks, start = [], 0
    for index, size in enumerate(sizes):
        cropped = keras.layers.Cropping1D((start, latent_dim - start - size), name=f"z_chunk_{index}_crop")(column)
        chunks.append(keras.layers.Flatten(name=f"z_chunk_{index}")(cropped))
        start += size
    return chunks


def conditional_batch_norm(x: keras.KerasTensor, cond: keras.KerasTensor | None, name: str,
                            spectral_norm: bool) -> keras.KerasTensor:
    """BatchNorm(x) * (1 + Dense(C)(cond)) + Dense(C)(cond), or plain BatchNormalization without ``cond``.

    The normalization has no gain or bias of its own (``center=False, scale=False``); the gain and bias Dense
    layers (``{name}_gain``, ``{name}_bias``: bias-free as BigGAN's, spectral-normalized with ``spectral_norm``)
    are the only layers that read ``cond``. The output is ``normed + normed * gain + bias``, i.e. the gain is
    1 + Dense(C)(cond) without a layer to add the 1.
    """
    if cond is None:
        return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)(x)
    channels = int(x.shape[-1])
    normed = keras.layers.BatchNormalization(center=False, scale=False, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                             name=f"{name}_norm")(x)
    gain = _spectral(keras.layers.Dense(channels, use_bias=False, kernel_initializer=KERNEL_INIT,
                                        name=f"{name}_gain"), spectral_norm)(cond)
    bias = _spectral(keras.layers.Dense(channels, use_bias=False, kernel_initializer=KERNEL_INIT,
                                        name=f"{name}_bias"), spectral_norm)(cond)
    gain = keras.layers.Reshape((1, 1, channels), name=f"{name}_gain_map")(gain)
    bias = keras.layers.Reshape((1, 1, channels), name=f"{name}_bias_map")(bias)
    scaled = keras.layers.Multiply(name=f"{name}_scaled")([normed, gain])
    return keras.layers.Add(name=name)([normed, scaled, bias])


def class_embedding(label: keras.KerasTensor, embedding_dim: int) -> keras.KerasTensor:
    """``label_embedding``: the shared class embedding of G's conditional batch norms, one bias-free
    Dense(embedding_dim) of the one-hot label, orthogonally initialised (never spectral-normalized)."""
    return keras.layers.Dense(embedding_dim, use_bias=False, kernel_initializer=KERNEL_INIT,
                              name="label_embedding")(label)


def _conv(width: int, size: int, name: str, spectral_norm: bool) -> keras.layers.Layer:
    """A stride-1 'same' Conv2D with BigGAN's orthogonal initialization, spectral-normalized (stock) or not."""
    return _spectral(keras.layers.Conv2D(width, size, padding="same", kernel_initializer=KERNEL_INIT, name=name),
                     spectral_norm)


def _up_block(x: keras.KerasTensor, width: int, cond: keras.KerasTensor | None, index: int,
              spectral_norm: bool) -> keras.KerasTensor:
    """BigGAN's generator block ``block_{index}``: CBN -> ReLU -> upsample x2 -> conv3x3 -> CBN -> ReLU ->
    conv3x3, plus the shortcut conv1x1 -> upsample x2 (the same as upsample -> conv1x1, at a quarter of the
    cost: a 1x1 convolution commutes with nearest-neighbour upsampling)."""
    prefix = f"block_{index}"
    h = conditional_batch_norm(x, cond, f"{prefix}_cbn_1", spectral_norm)
    h = keras.layers.Activation("relu", name=f"{prefix}_relu_1")(h)
    h = keras.layers.UpSampling2D(2, name=f"{prefix}_upsample")(h)
    h = _conv(width, 3, f"{prefix}_conv_1", spectral_norm)(h)
    h = conditional_batch_norm(h, cond, f"{prefix}_cbn_2", spectral_norm)
    h = keras.layers.Activation("relu", name=f"{prefix}_relu_2")(h)
    h = _conv(width, 3, f"{prefix}_conv_2", spectral_norm)(h)
    shortcut = _conv(width, 1, f"{prefix}_shortcut", spectral_norm)(x)
    shortcut = keras.layers.UpSampling2D(2, name=f"{prefix}_shortcut_upsample")(shortcut)
    return keras.layers.Add(name=prefix)([h, shortcut])


def regularized_kernels(model: keras.Model) -> list[keras.Variable]:
    """The kernels :func:`generator`'s ``orthogonal`` regularizes: every Dense and Conv2D kernel of ``model``
    (the wrapped layer's, under spectral normalization) except the shared class embedding's (``label_embedding``,
    which BigGAN leaves out too)."""
    kernels = []
    for layer in model.layers:
        core = layer.layer if isinstance(layer, keras.layers.SpectralNormalization) else layer
        if isinstance(core, keras.layers.Dense | keras.layers.Conv2D) and core.name != "label_embedding":
            kernels.append(core.kernel)
    return kernels


def generator(latent_dim: int, image_shape: tuple[int, int, int], widths: Sequence[int], num_classes: int | None,
              embedding_dim: int = 128, hierarchical_z: bool = True, spectral_norm: bool = True,
              orthogonal: float = 0.0, name: str = "generator") -> keras.Model:
    """BigGAN's generator: z (latent_dim,) [and a one-hot label (num_classes,)] -> image (H, W, C) in [-1, 1].

    Inputs ``z``, and ``label`` when ``num_classes`` is set (then the model is called on [z, label], as the
    conditional GAN's generator). With n = len(widths): a linear layer ``project`` makes a (H/2^n, W/2^n,
    widths[0]) map; residual up-blocks ``block_1`` ... ``block_n``, block k making widths[k-1] channels at twice
    the size; then BatchNormalization -> ReLU -> conv3x3 to C -> tanh (``image``, float32 whatever the dtype
    policy).

    Conditioning: with ``hierarchical_z`` z is cut into n + 1 chunks (:func:`latent_chunks`): ``z_chunk_0`` feeds
    ``project``, ``z_chunk_k`` the conditional batch norms of block k only. With classes, ``label_embedding`` (one
    Dense(embedding_dim, use_bias=False) of the label) is shared by every block, and block k's batch norms read
    cond_k = [z_chunk_k, embedding] (``cond_k``); these norms' gain and bias layers are the only layers that read
    the embedding. Without ``hierarchical_z`` all of z feeds ``project`` and the blocks read the embedding
    alone, or, unconditional, use plain BatchNormalization. ``embedding_dim`` is ignored without classes.

    ``spectral_norm``: every Conv2D and Dense but the shared embedding is in keras.layers.SpectralNormalization.
    ``orthogonal`` > 0: :func:`orthogonal_regularizer` of that weight on the same kernels
    (:func:`regularized_kernels`), set on the kernel variables so that it is in ``model.losses`` (and so in the
    loss of any compiled model this one trains in) but not in the model's config: saved files need no gan_cli.
    It lasts as long as the model object; rebuild from the recipe to have it again (a checkpoint restore does).

    Raises:
        RecipeError: the image size is not divisible by 2**len(widths), latent_dim is smaller than the number of
            chunks, a width is not positive, or ``orthogonal`` is negative.
    """
    widths = _widths(widths, "generator")
    base_h, base_w = base_size(image_shape, len(widths))
    penalty = orthogonal_regularizer(orthogonal) if orthogonal else None
    z = keras.Input((latent_dim,), name="z")
    inputs = [z]
    embedding = None
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        inputs.append(label)
        embedding = class_embedding(label, embedding_dim)
    chunks = _split_latent(z, latent_chunks(latent_dim, len(widths) + 1)) if hierarchical_z else None
    x = _spectral(keras.layers.Dense(base_h * base_w * widths[0], kernel_initializer=KERNEL_INIT, name="project"),
                  spectral_norm)(chunks[0] if chunks else z)
    x = keras.layers.Reshape((base_h, base_w, widths[0]), name="feature_map")(x)
    for index, width in enumerate(widths, start=1):
        cond = embedding
        if chunks is not None:
            cond = (chunks[index] if embedding is None
                    else keras.layers.Concatenate(name=f"cond_{index}")([chunks[index], embedding]))
        x = _up_block(x, width, cond, index, spectral_norm)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name="output_norm")(x)
    x = keras.layers.Activation("relu", name="output_relu")(x)
    x = _conv(image_shape[2], 3, "to_image", spectral_norm)(x)
    image = keras.layers.Activation("tanh", dtype="float32", name="image")(x)
    model = keras.Model(inputs if num_classes else z, image, name=name)
    if penalty is not None:
        for kernel in regularized_kernels(model):
            kernel.regularizer = penalty
    return model


def _down_block(x: keras.KerasTensor, width: int, index: int, spectral_norm: bool) -> keras.KerasTensor:
    """BigGAN's discriminator block ``block_{index}``: [ReLU ->] conv3x3 -> ReLU -> conv3x3 -> avgpool x2 (no
    leading ReLU in block 1, which reads the image), plus the shortcut avgpool x2 -> conv1x1 (the same as
    conv1x1 -> avgpool, at a quarter of the cost)."""
    prefix = f"block_{index}"
    h = x if index == 1 else keras.layers.Activation("relu", name=f"{prefix}_relu_1")(x)
    h = kernel_layer(keras.layers.Conv2D(width, 3, padding="same", kernel_initializer=KERNEL_INIT,
                                         name=f"{prefix}_conv_1"), spectral_norm)(h)
    h = keras.layers.Activation("relu", name=f"{prefix}_relu_2")(h)
    h = kernel_layer(keras.layers.Conv2D(width, 3, padding="same", kernel_initializer=KERNEL_INIT,
                                         name=f"{prefix}_conv_2"), spectral_norm)(h)
    h = keras.layers.AveragePooling2D(2, name=f"{prefix}_pool")(h)
    shortcut = keras.layers.AveragePooling2D(2, name=f"{prefix}_shortcut_pool")(x)
    shortcut = kernel_layer(keras.layers.Conv2D(width, 1, kernel_initializer=KERNEL_INIT,
                                                name=f"{prefix}_shortcut"), spectral_norm)(shortcut)
    return keras.layers.Add(name=prefix)([h, shortcut])


def discriminator(image_shape: tuple[int, int, int], widths: Sequence[int], num_classes: int | None,
                  spectral_norm: bool = True, name: str = "discriminator") -> keras.Model:
    """BigGAN's discriminator: image (H, W, C) [and a one-hot label (num_classes,)] -> one linear score (1,).

    Residual down-blocks ``block_1`` ... ``block_n`` (block k makes widths[k-1] channels at half the size), then
    ReLU and sum pooling over height and width (``sum_pool``: the features h, (N, widths[-1])), and ``score``,
    Dense(1) on h with a linear output (for the hinge loss, or bce read as logits). With ``num_classes``: inputs
    [image, label] and the projection term <label_embedding(label), h> added to the score
    (:func:`gan_cli.nets.projection.projection_discriminator`); the label enters nowhere else.

    ``spectral_norm`` wraps every Conv2D and Dense, the projection embedding included, in gan's ``SpectralNorm``
    (``nets.common``: Keras' layer, but without its power iteration while D is frozen inside the combined model,
    so the generator's update leaves D as it is). The discriminator is never exported.

    Raises:
        RecipeError: the image height or width is not divisible by 2**len(widths), or a width is not positive.
    """
    widths = _widths(widths, "discriminator")
    check_divisible(image_shape, len(widths), "discriminator",
                    f"biggan with {len(widths)} residual down-blocks (one per width)")
    image = keras.Input(image_shape, name="image")
    x = image
    for index, width in enumerate(widths, start=1):
        x = _down_block(x, width, index, spectral_norm)
    x = keras.layers.Activation("relu", name="features_relu")(x)
    area = int(x.shape[1]) * int(x.shape[2])
    x = keras.layers.GlobalAveragePooling2D(name="mean_pool")(x)
    features = keras.layers.Rescaling(float(area), name="sum_pool")(x)
    score = kernel_layer(keras.layers.Dense(1, kernel_initializer=KERNEL_INIT, name="score"),
                         spectral_norm)(features)
    model = keras.Model(image, score, name=name)
    return projection_discriminator(model, num_classes) if num_classes else model
