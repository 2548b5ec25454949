"""Projection discriminators (Miyato & Koyama 2018, as BigGAN's D): the class label enters as an inner product.

D(x, y) = psi(phi(x)) + <embed(y), phi(x)>, where phi(x) = h is the discriminator's feature vector, psi the
Dense(1) that scores it unconditionally, and embed(y) a learned vector per class (a bias-free Dense of the
one-hot label). The label reaches the score through that one term only, and the score stays linear in it.
"""

from __future__ import annotations

import keras

from gan_cli.errors import RecipeError
from gan_cli.nets.common import kernel_layer


def _score_layer(inner: keras.Model) -> tuple[keras.layers.Layer, keras.layers.Dense]:
    """The layer that makes ``inner``'s score and the Dense inside it (itself, or the one a spectral
    normalization wraps).

    Raises:
        RecipeError: ``inner``'s output is not made by a linear Dense(1) on a feature vector.
    """
    score = inner.outputs[0]
    last = next((op for op in inner.operations if any(out is score for out in _outputs(op))), None)
    core = last.layer if isinstance(last, keras.layers.SpectralNormalization) else last
    if not isinstance(core, keras.layers.Dense) or core.units != 1:
        kind = type(core).__name__ if core is not None else "nothing"
        raise RecipeError(f"discriminator: a projection discriminator needs a network that ends in Dense(1) on a "
                          f"feature vector, but {inner.name} ends in {kind}; use architecture mlp, dcgan or biggan")
    if core.get_config()["activation"] != "linear":
        raise RecipeError(f"discriminator.output_activation: a projection discriminator adds the class term to a "
                          f"linear score, but {inner.name}'s score has activation "
                          f"{core.get_config()['activation']}; set discriminator.output_activation: linear "
                          "(bce then reads the scores as logits)")
    return last, core


def _outputs(op: keras.Operation) -> list[keras.KerasTensor]:
    """The symbolic outputs of ``op``'s first call (the only one in the builders' networks)."""
    output = op.output
    return list(output) if isinstance(output, list | tuple) else [output]


def projection_discriminator(inner: keras.Model, num_classes: int) -> keras.Model:
    """[image, one-hot label (num_classes,)] -> Dense(1)(h) + <embed(label), h>, around ``inner``.

    ``inner`` is an unconditional discriminator, image -> score (1,), whose score is a linear Dense(1) (plain,
    ``BatchMatMulDense`` or spectral-normalized) on a feature vector h (N, F): the mlp, dcgan and biggan
    builders' discriminators with ``output_activation: linear``. The result is one flat functional model over
    ``inner``'s own layers, so it shares their weights (training one trains the other), plus one layer of its
    own, ``label_embedding``: Dense(F, use_bias=False) of the one-hot label, orthogonally initialised and
    spectral-normalized when ``inner``'s score layer is (BigGAN's SN embedding), whose output meets h only in
    ``projection`` (a Dot over the features). With that embedding all zero the score is ``inner``'s, for every
    label. The inputs are named ``image`` (``inner``'s own input) and ``label``, as the conditional GAN's.

    Raises:
        RecipeError: ``inner`` does not take one image or does not end in a linear Dense(1) on a feature vector.
    """
    if not isinstance(inner, keras.Model) or len(inner.inputs) != 1 or len(inner.outputs) != 1:
        raise RecipeError(f"discriminator: a projection discriminator wraps a network with one image input and "
                          f"one score, but {getattr(inner, 'name', inner)!r} is not one")
    last, core = _score_layer(inner)
    features = last.input
    if isinstance(features, list | tuple) or len(features.shape) != 2 or features.shape[-1] is None:
        raise RecipeError(f"discriminator: a projection discriminator needs the score's Dense(1) to read a feature "
                          f"vector (N, F), but in {inner.name} it reads shape {getattr(features, 'shape', '?')}")
    spectral = isinstance(last, keras.layers.SpectralNormalization)
    label = keras.Input((num_classes,), name="label")
    embedding = kernel_layer(keras.layers.Dense(int(features.shape[-1]), use_bias=False,
                                                kernel_initializer="orthogonal", name="label_embedding"),
                             spectral)(label)
    projection = keras.layers.Dot(axes=1, name="projection")([embedding, features])
    score = keras.layers.Add(name="projected_score")([inner.outputs[0], projection])
    return keras.Model([inner.inputs[0], label], score, name=inner.name)
