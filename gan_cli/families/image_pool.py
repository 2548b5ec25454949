"""CycleGAN's history of generated images (Shrivastava et al. 2017): each discriminator update sees a mix
of the newest fakes and older ones, which damps oscillation between the generators and discriminators."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


class ImagePool:
    """Up to ``size`` generated images, kept in variables so a checkpoint holds them.

    ``query`` follows the CycleGAN code: while the pool is not full each new image is stored and returned;
    then each new image is, with probability 1/2, swapped for a random stored one (which is returned
    instead), else returned as it is. The coin flips and picks come from a stateless seed, so a resumed
    run draws what a straight run would.
    """

    def __init__(self, size: int, image_shape: tuple[int, int, int], name: str) -> None:
        self.size = size
        self.images = tf.Variable(tf.zeros((max(size, 1), *image_shape)), trainable=False, name=f"{name}_images")
        self.count = tf.Variable(0, dtype=tf.int64, trainable=False, name=f"{name}_count")

    @property
    def variables(self) -> list[tf.Variable]:
        return [self.images, self.count]

    def query(self, fakes: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """The images D should see for this batch of ``fakes`` (same shape); updates the pool."""
        if self.size == 0:
            return fakes
        batch = int(fakes.shape[0])
        coins = tf.random.stateless_uniform((batch,), seed=seed).numpy()
        picks = tf.random.stateless_uniform((batch,), seed=seed + tf.constant([0, 1], seed.dtype), minval=0,
                                            maxval=self.size, dtype=tf.int32).numpy()
        pool, count = self.images.numpy(), int(self.count.numpy())
        new = fakes.numpy() if hasattr(fakes, "numpy") else np.asarray(fakes)
        out = new.copy()
        for i in range(batch):
            if count < self.size:
                pool[count] = new[i]
                count += 1
            elif coins[i] > 0.5:
                out[i] = pool[picks[i]]
                pool[picks[i]] = new[i]
        self.images.assign(pool)
        self.count.assign(count)
        return tf.constant(out)
