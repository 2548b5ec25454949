"""The Keras MNIST GAN tutorial's training loop, as written (Keras 3), timed per step.

The baseline that `gan train recipes/mnist_gan.yaml` is compared against: MLP G and D, binary
cross-entropy, Adam(2e-4, beta_1 0.5) per model, batch 128, random indices with replacement,
``generator.predict`` for the fakes, real label 0.9, and ``discriminator.trainable`` toggled around
the two ``train_on_batch`` calls.

    python bench/tutorial_loop.py --source fashion_mnist --steps 200
    python bench/tutorial_loop.py --steps 2340 --save tutorial.keras   # then: gan eval tutorial.keras --source ...
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from gan_cli.data import load_images  # noqa: E402
from gan_cli.recipe.schema import DataSpec  # noqa: E402


def build(latent_dim: int = 100) -> tuple[keras.Model, keras.Model, keras.Model]:
    """The tutorial's generator, discriminator and combined model, compiled as it compiles them."""
    init = keras.initializers.RandomNormal(stddev=0.02)
    generator = keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(256, kernel_initializer=init), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(512), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(1024), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(784, activation="tanh"),
    ])
    discriminator = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(1024, kernel_initializer=init), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(512), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(256), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    discriminator.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    discriminator.trainable = False
    z = keras.Input((latent_dim,))
    gan = keras.Model(z, discriminator(generator(z)))
    gan.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    return generator, discriminator, gan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="fashion_mnist")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--save", help="write the trained generator here (.keras, images 28x28x1) for gan eval")
    args = parser.parse_args()
    images = load_images(DataSpec(source=args.source)).images.reshape(-1, 784)
    keras.utils.set_random_seed(0)
    generator, discriminator, gan = build()
    batch, seconds = args.batch_size, []
    for _ in range(args.steps):
        start = time.perf_counter()
        noise = np.random.normal(0, 1, size=[batch, 100])
        real = images[np.random.randint(0, images.shape[0], size=batch)]
        fake = generator.predict(noise, verbose=0)
        x = np.concatenate([real, fake])
        y = np.zeros(2 * batch)
        y[:batch] = 0.9
        discriminator.trainable = True
        discriminator.train_on_batch(x, y)
        noise = np.random.normal(0, 1, size=[batch, 100])
        discriminator.trainable = False
        gan.train_on_batch(noise, np.ones(batch))
        seconds.append(time.perf_counter() - start)
    if args.save:
        z = keras.Input((100,))
        keras.Model(z, keras.layers.Reshape((28, 28, 1))(generator(z))).save(args.save)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"tutorial loop: {args.steps} steps, median {1000 * statistics.median(seconds[10:]):.1f} ms/step "
          f"(after the first 10), peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
