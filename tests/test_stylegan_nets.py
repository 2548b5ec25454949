"""StyleGAN-mini (gan_cli/nets/stylegan.py): shapes, inference vs training mode (noise, style mixing), the tracked
w_avg and truncation, style mixing at sampling time, gradients, and a saved generator that loads without gan_cli."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_cli.errors import RecipeError
from gan_cli.nets import stylegan

LATENT = 16
WIDTHS = (32, 16, 8)
STYLES = 2 * len(WIDTHS)


def latents(n: int, seed: int = 0) -> np.ndarray:
    """``n`` latents (n, LATENT) ~ N(0, 1), float32, reproducible by ``seed``."""
    return np.random.default_rng(seed).standard_normal((n, LATENT)).astype("float32")


def build(image_shape: tuple[int, int, int] = (28, 28, 1), **kwargs: object) -> keras.Model:
    """A tiny StyleGAN-mini generator (latent 16, widths 32/16/8) with reproducible initial weights."""
    keras.utils.set_random_seed(7)
    return stylegan.generator(LATENT, image_shape, WIDTHS, **kwargs)  # type: ignore[arg-type]


def set_noise_strengths(model: keras.Model, value: float) -> None:
    """Set every per-channel noise strength of ``model`` to ``value`` (they start at zero)."""
    for index in range(stylegan.num_styles(model)):
        kernel = model.get_layer(f"noise_strength_{index}").kernel
        kernel.assign(np.full(kernel.shape, value, "float32"))


@pytest.mark.parametrize("image_shape, base", [((28, 28, 1), (7, 7)), ((32, 32, 3), (8, 8))])
def test_output_shape_range_and_constant_size(image_shape: tuple[int, int, int], base: tuple[int, int]) -> None:
    """Images of the data's shape in [-1, 1], float32, different per latent; the constant at H / 4 x W / 4."""
    model = build(image_shape)
    assert model.output.shape[1:] == image_shape and model.inputs[0].shape[1:] == (LATENT,)
    assert model.get_layer("const_reshape").output.shape[1:] == (*base, WIDTHS[0])
    assert stylegan.is_stylegan(model) and stylegan.num_styles(model) == STYLES
    for training in (False, True):
        images = keras.ops.convert_to_numpy(model(latents(8), training=training))
        assert images.dtype == np.float32 and images.shape == (8, *image_shape)
        assert np.all(np.abs(images) <= 1.0) and images.std(axis=0).mean() > 0.01  # samples differ


def test_image_size_that_does_not_halve_is_a_recipe_error() -> None:
    """Widths that do not fit the image size name the recipe key; impossible arguments are ValueErrors."""
    with pytest.raises(RecipeError, match="divisible by 8"):
        stylegan.generator(LATENT, (28, 28, 1), (32, 16, 8, 4))
    with pytest.raises(RecipeError, match="at least 2x2"):
        stylegan.generator(LATENT, (8, 8, 1), (32, 16, 8, 4))
    with pytest.raises(ValueError, match="mixing_probability"):
        stylegan.generator(LATENT, (28, 28, 1), WIDTHS, mixing_probability=1.5)


def test_inference_is_deterministic_and_training_adds_noise() -> None:
    """Inference mode (call, predict) is deterministic and noise-free; training mode adds fresh noise per call."""
    model = build(mixing_probability=0.0)
    z = latents(4)
    plain = keras.ops.convert_to_numpy(model(z, training=False))
    # the noise strengths start at zero: then training mode changes nothing (no mixing here)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(z, training=True)), plain)
    set_noise_strengths(model, 0.5)
    first = keras.ops.convert_to_numpy(model(z, training=False))
    np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(model(z, training=False)))
    np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(model.predict(z, verbose=0)))
    np.testing.assert_array_equal(first, plain)  # in inference mode the noise is zero
    noisy_a = keras.ops.convert_to_numpy(model(z, training=True))
    noisy_b = keras.ops.convert_to_numpy(model(z, training=True))
    assert np.abs(noisy_a - first).max() > 1e-3 and np.abs(noisy_a - noisy_b).max() > 1e-3


def mixing_weights(model: keras.Model, z: np.ndarray, training: bool) -> np.ndarray:
    """Per sample and style layer 1..L-1: 1 where the layer takes w2 (the mixing latent's w), else 0."""
    probe = keras.Model(model.inputs[0], [model.get_layer(f"mixing_delta_{i}").input[0] for i in range(1, STYLES)])
    return np.concatenate([keras.ops.convert_to_numpy(x) for x in probe(z, training=training)], axis=1)


def test_style_mixing_only_in_training() -> None:
    """With mixing_probability 1 every sample mixes in training mode and none in inference mode."""
    model = build(mixing_probability=1.0)  # noise strengths are zero: training mode differs by mixing alone
    z = latents(6)
    plain = keras.ops.convert_to_numpy(model(z, training=False))
    np.testing.assert_array_equal(plain, keras.ops.convert_to_numpy(model(z, training=False)))
    mixed = keras.ops.convert_to_numpy(model(z, training=True))
    assert np.all(np.abs(mixed - plain).reshape(6, -1).max(axis=1) > 1e-4)  # every sample mixed
    assert not mixing_weights(model, z, training=False).any()
    weights = mixing_weights(model, latents(256), training=True)
    assert set(np.unique(weights)) <= {0.0, 1.0} and weights[:, -1].all()


def test_mixing_probability_and_uniform_crossover() -> None:
    """Samples mix with the given probability, at a crossover uniform in 1 .. L-1, w2 from there on."""
    model = build(mixing_probability=0.5)
    weights = mixing_weights(model, latents(6000, seed=3), training=True)
    assert set(np.unique(weights)) <= {0.0, 1.0}
    assert np.all(np.diff(weights, axis=1) >= 0)  # once a layer takes w2, every later one does
    mixed = weights[:, -1] == 1
    assert abs(mixed.mean() - 0.5) < 0.03
    crossover = STYLES - weights[mixed].sum(axis=1)  # the first layer that takes w2: 1 .. L-1
    counts = np.bincount(crossover.astype(int), minlength=STYLES)[1:] / mixed.sum()
    np.testing.assert_allclose(counts, 1 / (STYLES - 1), atol=0.03)
    assert not mixing_weights(model, latents(64), training=False).any()


def test_update_w_avg_follows_the_formula() -> None:
    """w_avg <- beta * w_avg + (1 - beta) * mean(mapping(z)), kept in a float32 non-trainable weight."""
    model = build()
    mapping = stylegan.mapping_model(model)
    kernel = model.get_layer(stylegan.W_AVG).kernel
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(kernel), 0.0)
    for seed, beta in ((1, 0.995), (2, 0.9)):
        z = latents(32, seed)
        before = keras.ops.convert_to_numpy(kernel).copy()
        stylegan.update_w_avg(model, z, beta=beta)
        expected = beta * before + (1 - beta) * keras.ops.convert_to_numpy(mapping(z)).mean(axis=0, keepdims=True)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(kernel), expected, rtol=1e-5, atol=1e-7)
    assert kernel.dtype == "float32" and id(kernel) not in {id(v) for v in model.trainable_variables}


def test_truncation() -> None:
    """psi 1 leaves images as they are, psi 0 makes them all the image of w_avg, psi 0.5 halves w - w_avg."""
    model = build()
    for seed in range(3):
        stylegan.update_w_avg(model, latents(64, seed), beta=0.5)
    z = latents(5, seed=9)
    plain = keras.ops.convert_to_numpy(model(z, training=False))
    w = keras.ops.convert_to_numpy(stylegan.mapping_model(model)(z))
    average = keras.ops.convert_to_numpy(model.get_layer(stylegan.W_AVG).kernel)
    truncated = stylegan.mapping_model(model, truncated=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(truncated(z)), w)  # psi 1: untouched

    stylegan.set_truncation(model, 0.5)
    assert stylegan.truncation(model) == 0.5
    np.testing.assert_allclose(keras.ops.convert_to_numpy(truncated(z)), 0.5 * w + 0.5 * average, rtol=1e-5,
                               atol=1e-6)
    half = keras.ops.convert_to_numpy(model(z, training=False))
    assert np.abs(half - plain).max() > 1e-4

    stylegan.set_truncation(model, 0.0)  # every image is the one of w_avg
    same = keras.ops.convert_to_numpy(model(z, training=False))
    np.testing.assert_allclose(same, np.broadcast_to(same[:1], same.shape), atol=1e-6)

    stylegan.set_truncation(model, 1.0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(z, training=False)), plain)
    with pytest.raises(ValueError, match="finite"):
        stylegan.set_truncation(model, float("nan"))


def test_mix_styles() -> None:
    """Coarse styles from one latent and fine from another; the same latent twice is the plain image."""
    model = build()
    stylegan.update_w_avg(model, latents(64, 5), beta=0.0)
    stylegan.set_truncation(model, 0.8)
    a, b = latents(4, 1), latents(4, 2)
    plain_a = keras.ops.convert_to_numpy(model(a, training=False))
    plain_b = keras.ops.convert_to_numpy(model(b, training=False))
    for crossover in (0, 3, STYLES):
        np.testing.assert_array_equal(stylegan.mix_styles(model, a, a, crossover), plain_a)
    np.testing.assert_array_equal(stylegan.mix_styles(model, a, b, STYLES), plain_a)
    np.testing.assert_array_equal(stylegan.mix_styles(model, a, b, 0), plain_b)
    mixed = stylegan.mix_styles(model, a, b, 2)
    assert mixed.dtype == np.float32 and np.abs(mixed - plain_a).max() > 1e-4 and np.abs(mixed - plain_b).max() > 1e-4
    # the synthesis model renders from per-layer styles: the truncated w of each latent, in one row per layer
    w = keras.ops.convert_to_numpy(stylegan.mapping_model(model, truncated=True)(a))
    synthesis = stylegan.synthesis_model(model)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(synthesis(np.repeat(w[:, None], STYLES, axis=1))),
                               plain_a, atol=1e-6)
    with pytest.raises(ValueError, match="crossover"):
        stylegan.mix_styles(model, a, b, STYLES + 1)


def test_every_part_of_the_generator_gets_gradients() -> None:
    """Constant, convolutions, noise strengths, AdaIN Dense layers and mapping get gradients; w_avg and psi
    are not trainable."""
    model = build(mixing_probability=0.9)
    stylegan.update_w_avg(model, latents(16), beta=0.0)
    target = tf.constant(np.random.default_rng(0).standard_normal((8, 28, 28, 1)), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(latents(8), training=True) * target)
    variables = model.trainable_variables
    gradients = dict(zip((v.path for v in variables), tape.gradient(loss, variables)))
    names = {"const", "to_rgb", "mapping_dense_0", "mapping_dense_3"} | {
        f"{kind}_{i}" for i in range(STYLES) for kind in ("conv", "noise_strength", "style_scale", "style_shift")}
    for name in names:
        for variable in model.get_layer(name).trainable_variables:
            gradient = gradients[variable.path]
            assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0, variable.path
    frozen = {id(model.get_layer(n).kernel) for n in (stylegan.W_AVG, stylegan.TRUNCATION_PSI)}
    assert not frozen & {id(v) for v in variables}
    mapping = stylegan.mapping_variables(model)
    assert len(mapping) == 8 and all(v.path.split("/")[0].startswith("mapping") for v in mapping)


def test_mixed_precision_outputs_float32() -> None:
    """Under mixed bfloat16 the generator computes in bfloat16, outputs float32 and keeps w_avg in float32."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = build((32, 32, 3))
    images = model(latents(4), training=True)
    assert images.dtype == "float32" and model.get_layer("conv_0").compute_dtype == "bfloat16"
    stylegan.update_w_avg(model, latents(8))
    assert model.get_layer(stylegan.W_AVG).kernel.dtype == "float32"
    assert np.isfinite(stylegan.mix_styles(model, latents(2), latents(2, 1), 3)).all()


LOAD_WITHOUT_GAN_CLI = """
import sys
import numpy as np
import keras
z = np.load(sys.argv[1])
for path in sys.argv[2:]:
    model = keras.models.load_model(path)
    np.save(path + ".npy", keras.ops.convert_to_numpy(model(z, training=False)))
assert "gan_cli" not in sys.modules, "gan_cli was imported"
print("ok")
"""


def test_saved_generator_loads_without_gan_cli(tmp_path: Path) -> None:
    """model.save and gan export's portable file load in a Python that never imports gan_cli and give the same
    images in inference mode, w_avg and truncation included."""
    from gan_cli.runs.export import save_portable

    model = build()
    set_noise_strengths(model, 0.3)
    stylegan.update_w_avg(model, latents(64, 4), beta=0.0)
    stylegan.set_truncation(model, 0.7)
    z = latents(5, 6)
    expected = keras.ops.convert_to_numpy(model(z, training=False))
    np.save(tmp_path / "z.npy", z)
    model.save(tmp_path / "generator.keras")
    save_portable(model, tmp_path / "portable.keras")  # what gan export writes
    child = subprocess.Popen([sys.executable, "-c", LOAD_WITHOUT_GAN_CLI, str(tmp_path / "z.npy"),
                              str(tmp_path / "generator.keras"), str(tmp_path / "portable.keras")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:  # while the child starts, the helpers on the loaded file (as gan sample would use them)
        loaded = keras.models.load_model(tmp_path / "generator.keras")
        assert stylegan.is_stylegan(loaded) and stylegan.truncation(loaded) == pytest.approx(0.7)
        np.testing.assert_array_equal(stylegan.mix_styles(loaded, z, z, 2), expected)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 0 and "ok" in stdout, stderr[-3000:]
    for name in ("generator.keras", "portable.keras"):
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), expected, err_msg=name)


def test_generator_clones_for_the_moving_average() -> None:
    """train.ema keeps G's average in keras.models.clone_model(G): the clone is a StyleGAN-mini generator too."""
    model = build()
    clone = keras.models.clone_model(model)
    for copy, original in zip(clone.variables, model.variables, strict=True):
        copy.assign(original)
    z = latents(3)
    assert stylegan.is_stylegan(clone)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(clone(z)), keras.ops.convert_to_numpy(model(z)))


def test_discriminator_scores_groups_separately_and_has_second_derivatives() -> None:
    """The residual D scores each image; minibatch std-dev groups are consecutive images (reals and fakes of a
    D update stay apart); R1's double gradient reaches its weights; widths that do not fit are recipe errors."""
    keras.utils.set_random_seed(3)
    critic = stylegan.discriminator((28, 28, 1), (8, 16, 32), group_size=4)
    assert critic.output.shape[1:] == (1,)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    scores = keras.ops.convert_to_numpy(critic(images))
    assert scores.dtype == np.float32 and scores.shape == (8, 1) and np.isfinite(scores).all()
    changed = images.copy()
    changed[4:] = 0.0  # the second group of 4 (the fakes after 4 reals) leaves the first group's scores alone
    rescored = keras.ops.convert_to_numpy(critic(changed))
    np.testing.assert_allclose(rescored[:4], scores[:4], rtol=1e-5, atol=1e-6)
    assert np.abs(rescored[4:] - scores[4:]).max() > 1e-4
    x = tf.constant(images)
    with tf.GradientTape() as outer:  # R1: the gradient of ||∇D(x)||² with respect to D's weights
        with tf.GradientTape() as inner:
            inner.watch(x)
            total = tf.reduce_sum(critic(x, training=True))
        penalty = tf.reduce_mean(tf.reduce_sum(tf.square(inner.gradient(total, x)), axis=[1, 2, 3]))
    gradients = outer.gradient(penalty, critic.trainable_variables)
    assert all(g is not None for g in gradients[:-1])  # all but the score's bias, which R1 does not see
    with pytest.raises(RecipeError, match="discriminator.widths"):
        stylegan.discriminator((28, 28, 1), (8, 16, 32, 64))


def test_one_optimizer_moves_the_mapping_at_its_learning_rate_multiplier() -> None:
    """With one Adam for all of G, the mapping's effective weights (multiplier x kernel) move about multiplier x
    as far per step as the synthesis weights: StyleGAN's reduced mapping learning rate, built in."""
    model = build(mixing_probability=0.0, mapping_lr_multiplier=0.01)
    variables = model.trainable_variables
    before = [keras.ops.convert_to_numpy(v).copy() for v in variables]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(latents(16), training=True) - 0.5))
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.apply(tape.gradient(loss, variables), variables)
    moved = {v.path: np.abs(keras.ops.convert_to_numpy(v) - b).max() for v, b in zip(variables, before)}
    effective = 0.01 * moved["mapping_dense_1/kernel"]
    assert 0.5e-5 < effective <= 1.01e-5 and 0.5e-3 < moved["conv_2/kernel"] <= 1.01e-3
