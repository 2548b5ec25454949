"""Network builders: shapes, the tutorial's layers, explicit layer lists, and clear shape errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from gan_cli.errors import RecipeError
from gan_cli.nets import DISCRIMINATORS, GENERATORS, TRANSLATORS, build_discriminator, build_generator
from gan_cli.recipe.loading import parse_recipe
from gan_cli.recipe.schema import TRANSLATION_DISCRIMINATORS, TRANSLATION_GENERATORS, Architecture


def nets(data: dict, shape: tuple[int, int, int]) -> tuple[keras.Model, keras.Model]:
    recipe = parse_recipe(data)
    return build_generator(recipe.generator, shape), build_discriminator(recipe.discriminator, shape)


def test_registries_cover_every_architecture_name() -> None:
    names = set(Architecture.__args__)  # type: ignore[attr-defined]
    image_to_image = set(TRANSLATORS) | set(TRANSLATION_DISCRIMINATORS)
    assert set(GENERATORS) == names - image_to_image and set(DISCRIMINATORS) == names - image_to_image
    assert set(TRANSLATORS) == set(TRANSLATION_GENERATORS)


def test_tutorial_mlp_layers_and_sizes() -> None:
    generator, discriminator = nets({}, (28, 28, 1))
    dense = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [256, 512, 1024, 784]
    assert isinstance(dense[0].kernel_initializer, keras.initializers.RandomNormal)
    assert dense[0].kernel_initializer.stddev == pytest.approx(0.02)
    assert not isinstance(dense[1].kernel_initializer, keras.initializers.RandomNormal)
    assert dense[-1].activation.__name__ == "tanh"
    leaky = [layer for layer in generator.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == 3 and all(layer.negative_slope == pytest.approx(0.2) for layer in leaky)
    # the tutorial's parameter counts: G 1,486,352 and D 1,460,225
    assert generator.count_params() == 1_486_352
    assert discriminator.count_params() == 1_460_225
    dropouts = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.rate for layer in dropouts] == [0.3, 0.3, 0.3]
    assert generator.output_shape == (None, 28, 28, 1) and discriminator.output_shape == (None, 1)


@pytest.mark.parametrize("shape, widths", [((28, 28, 1), [128, 64]), ((32, 32, 3), [256, 128, 64]),
                                           ((8, 8, 1), [32, 16])])
def test_dcgan_shapes(shape: tuple[int, int, int], widths: list[int]) -> None:
    data = {"generator": {"architecture": "dcgan", "widths": widths, "batch_norm": True, "activation": "relu",
                          "kernel_stddev_layers": "all"},
            "discriminator": {"architecture": "dcgan", "widths": widths[::-1], "batch_norm": True, "dropout": 0}}
    generator, discriminator = nets(data, shape)
    assert generator.output_shape == (None, *shape)
    assert discriminator.output_shape == (None, 1)
    images = generator(np.zeros((2, 100), np.float32))
    assert discriminator(images).shape == (2, 1)
    assert not any(isinstance(layer, keras.layers.MaxPooling2D) for layer in discriminator.layers)


def test_dcgan_rejects_sizes_it_cannot_reach() -> None:
    with pytest.raises(RecipeError, match="divisible by 8"):
        nets({"generator": {"architecture": "dcgan", "widths": [64, 32, 16]}}, (28, 28, 1))


def test_explicit_layer_lists_build_and_reshape() -> None:
    data = {
        "generator": {"architecture": "layers", "latent_dim": 4, "layers": [
            {"type": "dense", "units": 32}, {"type": "activation", "name": "relu"},
            {"type": "dense", "units": 64, "activation": "tanh"}]},
        "discriminator": {"architecture": "layers", "layers": [
            {"type": "conv2d", "filters": 8, "strides": 2}, {"type": "activation", "name": "leaky_relu"},
            {"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]},
    }
    generator, discriminator = nets(data, (8, 8, 1))
    assert generator.output_shape == (None, 8, 8, 1)
    assert discriminator.output_shape == (None, 1)


def test_layer_list_with_wrong_output_is_a_recipe_error() -> None:
    data = {"discriminator": {"architecture": "layers", "layers": [{"type": "dense", "units": 3}]}}
    with pytest.raises(RecipeError, match=r"discriminator: the network outputs shape \(3,\)"):
        nets(data, (8, 8, 1))
    data = {"generator": {"architecture": "layers", "layers": [{"type": "reshape", "target_shape": [7, 7]}]}}
    with pytest.raises(RecipeError, match=r"generator.layers\[0\]"):
        nets(data, (8, 8, 1))


def test_packed_dropout_keeps_each_unit_with_probability_one_minus_rate_and_scales_it() -> None:
    from gan_cli.nets.common import PackedDropout

    layer = PackedDropout(0.3, seed=5)
    x = np.random.default_rng(0).uniform(0.5, 1.5, (1000, 1001)).astype("float32")  # odd count: a half word left
    y = np.asarray(layer(x, training=True))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.002  # 1,001,000 units: the standard error is 0.00046
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-6)
    # neighbours (the two halves of one random word) and rows decide independently
    assert abs(np.corrcoef(kept[:, 0:1000:2].ravel(), kept[:, 1:1001:2].ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(kept[:-1].ravel(), kept[1:].ravel())[0, 1]) < 0.01
    # each call draws a new mask; inference changes nothing
    assert not np.array_equal(np.asarray(layer(x, training=True)) != 0, kept)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_packed_dropout_is_reproducible_and_passes_gradients_through_its_mask() -> None:
    import tensorflow as tf

    from gan_cli.nets.common import PackedDropout

    x = tf.constant(np.random.default_rng(1).normal(size=(64, 300)).astype("float32"))
    first, second = PackedDropout(0.5, seed=9), PackedDropout(0.5, seed=9)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = first(x, training=True)
        loss = tf.reduce_sum(y * 3.0)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(second(x, training=True)))
    gradient = np.asarray(tape.gradient(loss, x))
    np.testing.assert_allclose(gradient, np.where(np.asarray(y) != 0, 3.0 / 0.5, 0.0), rtol=1e-6)
    half = PackedDropout(0.5, seed=9, dtype="mixed_bfloat16")(tf.cast(x, "bfloat16"), training=True)
    assert half.dtype == tf.bfloat16 and 0.45 < float(tf.reduce_mean(tf.cast(half != 0, "float32"))) < 0.55


def test_models_with_dropout_save_and_load_safely(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, discriminator = nets({"discriminator": {"dropout": 0.3}}, (8, 8, 1))
    path = tmp_path / "d.keras"
    discriminator.save(path)
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(discriminator(x)), rtol=1e-6)
    assert any(type(layer).__name__ == "PackedDropout" for layer in loaded.layers)


def _dense_pair(units: int, inputs: int, **options):  # type: ignore[no-untyped-def]
    """Keras' Dense and gan's BatchMatMulDense with the same weights."""
    from gan_cli.nets.common import BatchMatMulDense

    keras_dense, ours = keras.layers.Dense(units, **options), BatchMatMulDense(units, **options)
    keras_dense.build((None, inputs))
    ours.build((None, inputs))
    ours.set_weights(keras_dense.get_weights())
    return keras_dense, ours


def _normal(*shape: int, seed: int):  # type: ignore[no-untyped-def]
    import tensorflow as tf

    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype("float32"))


@pytest.mark.parametrize("use_bias, activation", [(True, "tanh"), (False, None)])
def test_batch_matmul_dense_computes_keras_dense_and_its_gradients(use_bias: bool, activation: str | None) -> None:
    import tensorflow as tf

    x, upstream = _normal(128, 320, seed=3), _normal(128, 256, seed=4)
    pair = _dense_pair(256, 320, use_bias=use_bias, activation=activation)
    assert pair[1].takes_batch_matmul_gradients((128, 320))  # 10.5 M multiply-adds: BatchMatMul gradients
    results = []
    for layer in pair:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * upstream)
        results.append([y, *tape.gradient(loss, [x, *layer.trainable_variables])])
    assert len(results[1]) == (4 if use_bias else 3)
    for theirs, ours in zip(*results):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-4)


def test_batch_matmul_dense_second_derivatives_match_keras_for_the_gradient_penalty() -> None:
    import tensorflow as tf

    x = _normal(128, 320, seed=5)
    penalties = []
    for first, second in zip(_dense_pair(256, 320, activation="tanh"), _dense_pair(1, 256)):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                score = second(first(x))
            norm = tf.norm(inner.gradient(score, x), axis=1)
            penalty = tf.reduce_mean((norm - 1.0) ** 2)  # WGAN-GP's term: it needs d(dD/dx)/dθ
        penalties.append([penalty, *outer.gradient(penalty, [*first.trainable_variables, *second.trainable_variables])])
    assert [g is None for g in penalties[1]] == [g is None for g in penalties[0]]  # D's last bias: no gradient
    for theirs, ours in zip(*penalties):
        if theirs is not None:
            np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-3, atol=1e-5)


def test_batch_matmul_dense_keeps_keras_path_where_batch_matmul_would_not_be_faster() -> None:
    from gan_cli.nets.common import BATCH_MATMUL_MIN_MACS, BatchMatMulDense

    layer = BatchMatMulDense(256)
    layer.build((None, 256))
    assert layer.takes_batch_matmul_gradients((128, 256)) and BATCH_MATMUL_MIN_MACS == 128 * 256 * 256
    assert not layer.takes_batch_matmul_gradients((127, 256))  # small products: MatMul is faster
    assert not layer.takes_batch_matmul_gradients((None, 256))  # batch unknown while tracing
    assert not layer.takes_batch_matmul_gradients((2, 128, 256))  # rank 3: Keras' own path
    half = BatchMatMulDense(256, dtype="mixed_bfloat16")
    half.build((None, 256))
    assert not half.takes_batch_matmul_gradients((4096, 256))  # bfloat16: as fast either way
    keras_dense, ours = _dense_pair(5, 16)
    sequence = np.random.default_rng(7).normal(size=(2, 3, 16)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(sequence)), np.asarray(keras_dense(sequence)), rtol=1e-6)


def test_the_tutorial_networks_take_batch_matmul_gradients_on_their_large_layers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gan_cli.nets.common import BatchMatMulDense

    generator, discriminator = nets({}, (28, 28, 1))
    dense = [layer for model in (generator, discriminator) for layer in model.layers
             if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 8 and all(isinstance(layer, BatchMatMulDense) for layer in dense)
    fast = {f"{model.name}/{layer.name}" for model, rows in ((generator, 128), (discriminator, 256))
            for layer in model.layers if isinstance(layer, BatchMatMulDense)
            and layer.takes_batch_matmul_gradients((rows, layer.kernel.shape[0]))}
    # all but G's 100x256 input layer and D's 256x1 score (3.3 M and 65 k multiply-adds: MatMul is faster)
    assert fast == {"generator/dense_1", "generator/dense_2", "generator/dense_out",
                    "discriminator/dense_0", "discriminator/dense_1", "discriminator/dense_2"}
    generator.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras", compile=False, safe_mode=True)
    z = np.random.default_rng(8).normal(size=(3, 100)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(z)), np.asarray(generator(z)), rtol=1e-6)
