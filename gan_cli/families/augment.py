"""Differentiable augmentation for training on little data: DiffAugment (Zhao et al. 2020) and ADA's adaptive
probability (Karras et al. 2020), as one Keras layer placed in front of D.

The layer sits inside D's compiled update model and inside the combined model, so every image D sees while
training passes through it — reals and fakes alike in D's update, fakes in G's update — and gradients flow
through it to G. It transforms only while training: D called for inference, G's samples, grids, evaluation and
the exported generator never meet it.

Operations, on images in [-1, 1], each drawn independently per image:

- ``color``: brightness ``x + (u - 0.5)``, then saturation ``(x - mean over channels)·2u + mean``, then contrast
  ``(x - mean over the image)·(u + 0.5) + mean``, with u ~ U[0, 1);
- ``translation``: a shift of up to 1/8 of the height and width (whole pixels), filled with 0;
- ``cutout``: a square of half the image's side set to 0, its centre anywhere in the image.

DiffAugment applies every listed operation to every image (p = 1). ADA applies each operation to each image
with probability p, and :meth:`DiffAugment.observe` steers p after D's updates: every ``interval`` updates,
``p += sign(r - target)·batch·interval / images`` clipped to [0, 1], where r is the mean over those updates of
``E[sign(D(x) - midpoint)]`` on real images (the midpoint between D's real and fake targets, or 0 for logits).

Randomness comes from the layer's SeedGenerator (a variable, checkpointed with the models, as dropout's), and
p with its running sum and count are variables too: a resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

#: Fraction of the height and width a translation moves an image at most (DiffAugment's 1/8).
TRANSLATION_RATIO = 0.125
#: Side of the cutout square as a fraction of the image's side (DiffAugment's 1/2).
CUTOUT_RATIO = 0.5


def _uniform(shape: Sequence[int] | tf.Tensor, seed: tf.Tensor, **kwargs: Any) -> tf.Tensor:
    return tf.random.stateless_uniform(shape, seed=seed, **kwargs)


def color(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random brightness, saturation and contrast per image (see the module docstring)."""
    batch = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, 3)
    shift, saturation, contrast = (_uniform(tf.stack([batch, 1, 1, 1]), seeds[k]) for k in range(3))
    images = images + (shift - 0.5)
    grey = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - grey) * (saturation * 2.0) + grey
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * (contrast + 0.5) + mean


def translation(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Shift each image by whole pixels, up to ``TRANSLATION_RATIO`` of its height and width each way; what
    moves in from outside is 0."""
    batch = tf.shape(images)[0]
    height, width = int(images.shape[1]), int(images.shape[2])
    seeds = tf.random.experimental.stateless_split(seed, 2)
    reach_y, reach_x = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    shift_y = _uniform(tf.reshape(batch, [1]), seeds[0], minval=-reach_y, maxval=reach_y + 1, dtype=tf.int32)
    shift_x = _uniform(tf.reshape(batch, [1]), seeds[1], minval=-reach_x, maxval=reach_x + 1, dtype=tf.int32)
    rows = tf.range(height)[None, :] - shift_y[:, None]  # (B, H): the source row of each output row
    cols = tf.range(width)[None, :] - shift_x[:, None]
    inside_rows = tf.cast((rows >= 0) & (rows < height), images.dtype)
    inside_cols = tf.cast((cols >= 0) & (cols < width), images.dtype)
    moved = tf.gather(images, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1)
    moved = tf.gather(moved, tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    return moved * inside_rows[:, :, None, None] * inside_cols[:, None, :, None]


def cutout(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Set a square of ``CUTOUT_RATIO`` of the image's side to 0 in each image; its centre is uniform over the
    image, so part of the square may fall outside."""
    batch = tf.shape(images)[0]
    height, width = int(images.shape[1]), int(images.shape[2])
    size_y, size_x = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    seeds = tf.random.experimental.stateless_split(seed, 2)
    centre_y = _uniform(tf.reshape(batch, [1]), seeds[0], minval=0, maxval=height + 1 - size_y % 2, dtype=tf.int32)
    centre_x = _uniform(tf.reshape(batch, [1]), seeds[1], minval=0, maxval=width + 1 - size_x % 2, dtype=tf.int32)
    rows = tf.range(height)[None, :] - (centre_y[:, None] - size_y // 2)  # position inside the square, per row
    cols = tf.range(width)[None, :] - (centre_x[:, None] - size_x // 2)
    in_rows = (rows >= 0) & (rows < size_y)
    in_cols = (cols >= 0) & (cols < size_x)
    hole = in_rows[:, :, None, None] & in_cols[:, None, :, None]
    return images * tf.cast(tf.logical_not(hole), images.dtype)


#: The operations by ``augment.policy`` name.
OPERATIONS: dict[str, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] = {
    "color": color, "translation": translation, "cutout": cutout}


@keras.saving.register_keras_serializable(package="gan_cli")
class DiffAugment(keras.layers.Layer):
    """The recipe's ``augment.policy`` applied to a batch while training (identity otherwise).

    Args:
        policy: operation names, applied in this order.
        adaptive: ADA: each operation applies to each image with probability ``probability`` (starting at 0),
            which :meth:`observe` steers; else every operation always applies.
        target, interval, step_size: ADA's target of the real-sign statistic, how many observations between
            adjustments, and how far one adjustment moves p (``batch·interval / augment.ada_images``).
        seed: the SeedGenerator's seed.
    """

    def __init__(self, policy: Sequence[str], adaptive: bool = False, target: float = 0.6, interval: int = 4,
                 step_size: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")  # augment in float32 under mixed precision; D casts after
        super().__init__(**kwargs)
        unknown = [name for name in policy if name not in OPERATIONS]
        if unknown:
            raise ValueError(f"unknown augmentation {unknown[0]!r}; valid: {', '.join(OPERATIONS)}")
        self.policy, self.adaptive = tuple(policy), adaptive
        self.target, self.interval, self.step_size = target, interval, step_size
        self.seed_generator = keras.random.SeedGenerator(seed, name="augment_seed")
        self.probability = self.add_weight(shape=(), initializer=keras.initializers.Constant(0.0 if adaptive else 1.0),
                                           trainable=False, name="probability")
        self.sign_sum = self.add_weight(shape=(), initializer="zeros", trainable=False, name="sign_sum")
        self.sign_count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="sign_count")

    def call(self, images: Any, training: bool | None = None) -> Any:
        if not training or not self.policy:
            return images
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        seeds = tf.random.experimental.stateless_split(seed, 2 * len(self.policy))
        batch = tf.shape(images)[0]
        for index, name in enumerate(self.policy):
            augmented = OPERATIONS[name](images, seeds[2 * index])
            if self.adaptive:
                chosen = _uniform(tf.stack([batch, 1, 1, 1]), seeds[2 * index + 1]) < self.probability
                augmented = tf.where(chosen, augmented, images)
            images = augmented
        return images

    def observe(self, real_sign: Any) -> None:
        """ADA: add one D update's ``E[sign(D(x) - midpoint)]`` on reals; every ``interval`` observations move p
        by ``step_size`` toward more augmentation when their mean exceeds the target, less when below. A no-op
        without ``adaptive``. Runs eagerly or inside a traced step."""
        if not self.adaptive:
            return
        total = self.sign_sum + tf.cast(real_sign, "float32")
        count = self.sign_count + 1.0
        due = count >= self.interval
        moved = tf.clip_by_value(self.probability + tf.sign(total / count - self.target) * self.step_size, 0.0, 1.0)
        self.probability.assign(tf.where(due, moved, self.probability))
        self.sign_sum.assign(tf.where(due, 0.0, total))
        self.sign_count.assign(tf.where(due, 0.0, count))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "policy": list(self.policy), "adaptive": self.adaptive,
                "target": self.target, "interval": self.interval, "step_size": self.step_size}
