"""The tutorial's combined-model wiring under Keras 3: which update changes which weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_cli.families import FAMILIES, TRANSLATORS
from gan_cli.families.gan import GanModels
from gan_cli.recipe.loading import parse_recipe
from gan_cli.recipe.schema import TRANSLATION_FAMILIES, FamilyName

SHAPE = (8, 8, 1)


def build(extra: dict | None = None) -> GanModels:
    keras.utils.set_random_seed(0)
    data = {"generator": {"latent_dim": 4, "widths": [16]}, "discriminator": {"widths": [16]}}
    for section, values in (extra or {}).items():
        data[section] = {**data.get(section, {}), **values}
    return FAMILIES["gan"](parse_recipe(data), SHAPE)


def snapshot(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v) for v in model.weights]


def changed(before: list[np.ndarray], model: keras.Model) -> bool:
    return any(not np.array_equal(a, np.array(b)) for a, b in zip(before, model.weights))


def batch(models: GanModels, size: int = 8) -> tuple[tf.Tensor, tf.Tensor]:
    rng = np.random.default_rng(1)
    real = tf.constant(rng.uniform(-1, 1, (size, *SHAPE)).astype("float32"))
    return real, tf.constant(rng.standard_normal((size, models.latent_dim)).astype("float32"))


def test_family_registry_matches_the_schema() -> None:
    assert set(FAMILIES) | set(TRANSLATORS) == set(FamilyName.__args__)  # type: ignore[attr-defined]
    assert set(TRANSLATORS) == set(TRANSLATION_FAMILIES)


def test_discriminator_update_changes_d_and_not_g() -> None:
    models = build()
    real, noise = batch(models)
    models.train_step([real], [noise], noise)  # trace both train functions, as training does
    g_before, d_before = snapshot(models.generator), snapshot(models.discriminator)
    models.update_discriminator(real, noise)
    assert changed(d_before, models.discriminator)
    assert not changed(g_before, models.generator)


def test_generator_update_changes_g_and_not_d() -> None:
    models = build()
    real, noise = batch(models)
    models.train_step([real], [noise], noise)
    g_before, d_before = snapshot(models.generator), snapshot(models.discriminator)
    models.update_generator(noise)
    assert changed(g_before, models.generator)
    assert not changed(d_before, models.discriminator)


def test_each_optimizer_holds_only_its_own_model_s_variables() -> None:
    models = build()
    real, noise = batch(models)
    models.train_step([real], [noise], noise)
    g_ids = {id(v) for v in models.generator.trainable_weights}
    models.discriminator.trainable = True
    d_ids = {id(v) for v in models.discriminator.trainable_weights}
    # Adam keeps two slots per variable, plus its iteration counter and learning rate
    assert len(models.g_optimizer.variables) == 2 * len(g_ids) + 2
    assert len(models.d_optimizer.variables) == 2 * len(d_ids) + 2
    assert int(models.g_optimizer.iterations.numpy()) == 1
    assert int(models.d_optimizer.iterations.numpy()) == 1


def test_frozen_discriminator_runs_batch_norm_in_inference_mode() -> None:
    models = build({"discriminator": {"batch_norm": True, "dropout": 0.0}})
    real, noise = batch(models)
    models.train_step([real], [noise], noise)
    norm = next(layer for layer in models.discriminator.layers
                if isinstance(layer, keras.layers.BatchNormalization))
    stats = [np.array(norm.moving_mean), np.array(norm.moving_variance)]
    models.update_generator(noise)
    assert np.array_equal(stats[0], np.array(norm.moving_mean))
    assert np.array_equal(stats[1], np.array(norm.moving_variance))
    # the combined model's output is D in inference mode on G's output
    fakes = models.generator(noise, training=False)
    np.testing.assert_allclose(models.combined(noise, training=True),
                               models.discriminator(fakes, training=False), rtol=1e-5, atol=1e-6)
    # while D's own update trains its batch norm
    models.update_discriminator(real, noise)
    assert not np.array_equal(stats[0], np.array(norm.moving_mean))


def test_step_reports_losses_and_scores_in_range() -> None:
    models = build()
    real, noise = batch(models)
    values = models.train_step([real], [noise], noise)
    assert set(values) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in values.values())
    assert 0.0 <= values["d_real"] <= 1.0 and 0.0 <= values["d_fake"] <= 1.0


@pytest.mark.parametrize("loss, activation", [("bce", "linear"), ("least_squares", "sigmoid")])
def test_other_losses_train(loss: str, activation: str) -> None:
    models = build({"loss": {"name": loss}, "discriminator": {"output_activation": activation}})
    real, noise = batch(models)
    values = models.train_step([real], [noise], noise)
    assert all(np.isfinite(v) for v in values.values())
    assert 0.0 <= values["d_real"] <= 1.0


OBJECTIVES = {
    "lsgan": {"loss": {"name": "least_squares"}, "discriminator": {"output_activation": "linear"}},
    "wgan": {"loss": {"name": "wasserstein"}, "discriminator": {"output_activation": "linear", "clip_value": 0.01,
                                                                "dropout": 0.0}},
    "wgan_gp": {"loss": {"name": "wasserstein", "gradient_penalty": 10.0},
                "discriminator": {"output_activation": "linear", "dropout": 0.0}},
    "hinge_sn": {"loss": {"name": "hinge"}, "discriminator": {"output_activation": "linear", "spectral_norm": True}},
}


def trainable_snapshot(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v) for v in model.trainable_weights]


def trainable_changed(before: list[np.ndarray], model: keras.Model) -> bool:
    return any(not np.array_equal(a, np.array(b)) for a, b in zip(before, model.trainable_weights))


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_keeps_the_trainable_invariants(name: str) -> None:
    models = build(OBJECTIVES[name])
    real, noise = batch(models)
    values = models.train_step([real, real], [noise, noise], noise, [tf.constant([0, i], tf.int64) for i in range(2)])
    assert all(np.isfinite(v) for v in values.values())
    models.discriminator.trainable = True
    g_before, d_before = trainable_snapshot(models.generator), trainable_snapshot(models.discriminator)
    models.update_discriminator(real, noise, tf.constant([1, 1], tf.int64))
    assert trainable_changed(d_before, models.discriminator) and not trainable_changed(g_before, models.generator)
    g_before, d_before = trainable_snapshot(models.generator), trainable_snapshot(models.discriminator)
    models.update_generator(noise)
    models.discriminator.trainable = True
    assert trainable_changed(g_before, models.generator) and not trainable_changed(d_before, models.discriminator)


def test_weight_clipping_bounds_every_discriminator_weight() -> None:
    models = build(OBJECTIVES["wgan"])
    real, noise = batch(models)
    models.update_discriminator(real, noise)
    assert max(float(np.abs(np.array(w)).max()) for w in models.discriminator.trainable_weights) <= 0.01 + 1e-7


def test_gradient_penalty_model_shares_the_discriminator_s_weights() -> None:
    models = build(OBJECTIVES["wgan_gp"])
    assert models.penalized
    models.discriminator.trainable = True
    assert {id(v) for v in models.d_update.trainable_weights} == {id(v) for v in models.discriminator.trainable_weights}
    real, noise = batch(models)
    values = models.update_discriminator(real, noise, tf.constant([0, 5], tf.int64))
    assert np.isfinite(values["d_loss"])


def test_conditional_gan_keeps_the_invariants_and_uses_the_label() -> None:
    keras.utils.set_random_seed(0)
    recipe = parse_recipe({"family": "cgan", "generator": {"latent_dim": 4, "widths": [16]},
                           "discriminator": {"widths": [16]}})
    models = FAMILIES["cgan"](recipe, SHAPE, 10)
    real, noise = batch(models)
    labels = tf.one_hot(tf.range(8) % 10, 10)
    models.train_step([real], [noise], noise, None, ([labels], [labels], labels))
    g_before, d_before = snapshot(models.generator), snapshot(models.discriminator)
    models.update_discriminator(real, noise, None, labels, labels)
    assert changed(d_before, models.discriminator) and not changed(g_before, models.generator)
    g_before, d_before = snapshot(models.generator), snapshot(models.discriminator)
    models.update_generator(noise, labels)
    assert changed(g_before, models.generator) and not changed(d_before, models.discriminator)
    ones, sevens = tf.one_hot(tf.fill((8,), 1), 10), tf.one_hot(tf.fill((8,), 7), 10)
    assert not np.allclose(models.fake_images(noise, ones), models.fake_images(noise, sevens))


def test_infogan_trains_its_q_head_with_g_and_never_with_d() -> None:
    keras.utils.set_random_seed(0)
    recipe = parse_recipe({"family": "infogan", "generator": {"latent_dim": 4, "widths": [16]},
                           "discriminator": {"widths": [16]}, "info": {"categorical": 3, "continuous": 2}})
    models = FAMILIES["infogan"](recipe, SHAPE)
    real, noise = batch(models)
    codes = (tf.one_hot(tf.range(8) % 3, 3), tf.zeros((8, 2)))
    models.train_step([real], [noise], noise, None, ([None], [codes], codes))
    q = [w for layer in models.q_layers for w in layer.weights]

    def q_changed(before: list[np.ndarray]) -> bool:
        return any(not np.array_equal(a, np.array(b)) for a, b in zip(before, q))

    g_before, d_before, q_before = snapshot(models.generator), snapshot(models.discriminator), [np.array(w) for w in q]
    models.update_discriminator(real, noise, None, None, codes)
    assert changed(d_before, models.discriminator)
    assert not changed(g_before, models.generator) and not q_changed(q_before)
    g_before, d_before, q_before = snapshot(models.generator), snapshot(models.discriminator), [np.array(w) for w in q]
    models.update_generator(noise, codes)
    assert changed(g_before, models.generator) and q_changed(q_before)
    assert not changed(d_before, models.discriminator)
    assert "q_head" in models.checkpoint_state()


@pytest.mark.parametrize("family, extra", [
    ("gan", {"discriminator": {"dropout": 0.3, "batch_norm": True}, "generator": {"batch_norm": True}}),
    ("gan", {"loss": {"name": "wasserstein"}, "discriminator": {"clip_value": 0.01}, "train": {"d_steps": 2}}),
    ("gan", {"loss": {"name": "wasserstein", "gradient_penalty": 10.0}}),
    ("gan", {"loss": {"name": "hinge"}, "discriminator": {"spectral_norm": True}}),
    ("cgan", {}),
    ("infogan", {"info": {"categorical": 3, "continuous": 2}}),
    ("gan", {"train": {"ema": {"decay": 0.9}}, "loss": {"r1": 1.0},
             "augment": {"policy": ["color", "translation", "cutout"], "ada": True, "ada_interval": 1,
                         "ada_images": 16}}),
    ("cgan", {"augment": {"policy": ["translation"]}, "train": {"ema": {"decay": 0.5}}}),
    ("cgan", {"loss": {"r1": 1.0, "r1_every": 2}}),
])
def test_fused_step_makes_exactly_the_tutorials_updates(family: str, extra: dict) -> None:
    """The fused tf.function step and the tutorial's two train_on_batch calls give the same weights, D scores,
    optimizer state and dropout RNG state, so the fused step keeps every invariant tested above."""
    data = {"family": family, "generator": {"latent_dim": 4, "widths": [16]}, "discriminator": {"widths": [16]}}
    for section, values in extra.items():
        data[section] = {**data.get(section, {}), **values}
    recipe = parse_recipe(data)
    runs = []
    for fused in (False, True):
        keras.utils.set_random_seed(0)
        models = FAMILIES[family](recipe, SHAPE, 10)
        d_steps = recipe.train.d_steps
        rng = np.random.default_rng(1)
        logs = []
        for step in range(3):
            reals = [tf.constant(rng.uniform(-1, 1, (8, *SHAPE)).astype("float32")) for _ in range(d_steps)]
            noises = [tf.constant(rng.standard_normal((8, 4)).astype("float32")) for _ in range(d_steps + 1)]
            seeds = [tf.constant([step, k], tf.int64) for k in range(d_steps)] if models.penalized else None
            labels = None
            if family == "cgan":
                one_hot = tf.one_hot(tf.range(8) % 10, 10)
                labels = ([one_hot] * d_steps, [one_hot] * d_steps, one_hot)
            elif family == "infogan":
                codes = (tf.one_hot(tf.range(8) % 3, 3), tf.fill((8, 2), 0.5))
                labels = ([None] * d_steps, [codes] * d_steps, codes)
            step_fn = models.train_step if fused else models.unfused_step
            logs.append(step_fn(reals, noises[:-1], noises[-1], seeds, labels))
        state = models.checkpoint_state()
        runs.append((logs, {k: [np.array(v) for v in vs] for k, vs in state.items()}))
    (logs_a, state_a), (logs_b, state_b) = runs
    assert state_a.keys() == state_b.keys()
    for key in state_a:  # the same arithmetic in the same order: bit for bit
        for a, b in zip(state_a[key], state_b[key]):
            np.testing.assert_array_equal(a, b, err_msg=key)
    for a, b in zip(logs_a, logs_b):
        assert a.keys() == b.keys()
        for key in a:
            if d_steps == 1:
                assert a[key] == b[key], key
            else:  # the mean over d_steps D updates: float32 inside the traced step, float64 in Python unfused
                assert a[key] == pytest.approx(b[key], rel=1e-6), key


def test_the_tutorial_step_takes_batch_matmul_gradients_and_stays_the_tutorials_update() -> None:
    """At the tutorial's sizes in float32 the fused step's large Dense layers take BatchMatMul gradients
    (BatchMatMulDense), and the step still equals the tutorial's two train_on_batch calls."""
    from gan_cli.recipe.loading import load_recipe
    from gan_cli.recipe.shipped import recipe_path

    recipe = load_recipe(recipe_path("mnist_gan"), ["train.precision=float32"])
    rng = np.random.default_rng(2)
    inputs = ([tf.constant(rng.uniform(-1, 1, (128, 28, 28, 1)).astype("float32"))],
              [tf.constant(rng.standard_normal((128, 100)).astype("float32"))],
              tf.constant(rng.standard_normal((128, 100)).astype("float32")))
    runs = []
    for fused in (False, True):
        keras.utils.set_random_seed(0)
        models = FAMILIES["gan"](recipe, (28, 28, 1))
        logs = [(models.train_step if fused else models.unfused_step)(*inputs) for _ in range(2)]
        runs.append((logs, [np.array(v) for vs in models.checkpoint_state().values() for v in vs]))
    graph = models._fused.get_concrete_function(
        [([inputs[0][0]], [inputs[1][0]], inputs[2], None, None, None, None)]).graph.as_graph_def()
    ops = [node.op for node in graph.node] + [node.op for f in graph.library.function for node in f.node_def]
    # D's update: 3 layers x (input, kernel); the generator's update: 3 D and 3 G layers x 2
    assert ops.count("BatchMatMulV2") == 18
    (logs_a, state_a), (logs_b, state_b) = runs
    for a, b in zip(logs_a, logs_b):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key
    for a, b in zip(state_a, state_b):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("image_shape, latent_dim, g_widths, d_widths, batch_size, batch_matmul", [
    ((8, 8, 1), 8, [16, 32], [32, 16], 8, False),  # every product below the MAC threshold: Keras' own MatMul
    # D's first layer (256 x 784 x 128) and G's last (128 x 128 x 784) pass BATCH_MATMUL_MIN_MACS
    ((28, 28, 1), 32, [64, 128], [128, 64], 128, True),
], ids=["matmul", "batch_matmul"])
def test_fused_step_equals_the_tutorial_built_from_stock_keras(
        image_shape: tuple[int, int, int], latent_dim: int, g_widths: list[int], d_widths: list[int],
        batch_size: int, batch_matmul: bool) -> None:
    """gan's fused step (BatchMatMulDense, FusedAdam, one tf.function) against the Keras MNIST GAN tutorial
    written with stock Keras only (Dense, LeakyReLU, Dropout, Adam) and trained with its own loop, from the same
    weights on the same batches and noise: the same losses, weights and Adam slots within float rounding.
    Dropout is off in both (rate 0), so only the arithmetic can differ, not the masks."""
    from gan_cli.nets.common import BatchMatMulDense

    recipe = parse_recipe({"generator": {"latent_dim": latent_dim, "widths": g_widths},
                           "discriminator": {"widths": d_widths, "dropout": 0.0},
                           "loss": {"name": "bce", "label_smoothing": 0.1},
                           "optimizers": {role: {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5}
                                          for role in ("generator", "discriminator")}})
    keras.utils.set_random_seed(0)
    ours = FAMILIES["gan"](recipe, image_shape)
    rows = {ours.discriminator.name: 2 * batch_size, ours.generator.name: batch_size}  # D's update sees 2B images
    paths = [layer.takes_batch_matmul_gradients((rows[model.name], layer.kernel.shape[0]))
             for model in (ours.discriminator, ours.generator) for layer in model.layers
             if isinstance(layer, BatchMatMulDense)]
    assert any(paths) == batch_matmul and (paths[0] and paths[-1]) == batch_matmul, paths

    # the tutorial, stock Keras
    layers = keras.layers
    generator = keras.Sequential(
        [keras.Input((latent_dim,))] + [layer for w in g_widths for layer in (layers.Dense(w), layers.LeakyReLU(0.2))]
        + [layers.Dense(int(np.prod(image_shape)), activation="tanh"), layers.Reshape(image_shape)])
    discriminator = keras.Sequential(
        [keras.Input(image_shape), layers.Flatten()]
        + [layer for w in d_widths for layer in (layers.Dense(w), layers.LeakyReLU(0.2), layers.Dropout(0.0))]
        + [layers.Dense(1, activation="sigmoid")])
    discriminator.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5))
    discriminator.trainable = False
    z = keras.Input((latent_dim,))
    gan = keras.Model(z, discriminator(generator(z)))
    gan.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5))
    generator.set_weights(ours.generator.get_weights())
    discriminator.set_weights(ours.discriminator.get_weights())

    rng = np.random.default_rng(1)
    for _ in range(2):
        real = rng.uniform(-1, 1, (batch_size, *image_shape)).astype("float32")
        noise, noise_g = (rng.standard_normal((batch_size, latent_dim)).astype("float32") for _ in range(2))
        x = np.concatenate([real, generator.predict(noise, verbose=0)])
        y = np.zeros(2 * batch_size, "float32")
        y[:batch_size] = 0.9  # one-sided label smoothing
        discriminator.trainable = True
        d_loss = discriminator.train_on_batch(x, y)
        discriminator.trainable = False
        g_loss = gan.train_on_batch(noise_g, np.ones(batch_size, "float32"))
        values = ours.train_step([tf.constant(real)], [tf.constant(noise)], tf.constant(noise_g))
        # measured: equal, or 1 ulp apart (6e-8)
        assert values["d_loss"] == pytest.approx(d_loss, rel=0, abs=5e-7)
        assert values["g_loss"] == pytest.approx(g_loss, rel=0, abs=5e-7)

    # Weights: measured at most 6e-8 apart (1-2 ulps; 3e-4 of one Adam step of 2e-4) at both sizes, 8 seeds: the
    # gradients' rounding (BatchMatMul vs MatMul, one fused kernel vs Keras' ops), which Adam's m / sqrt(v) amplifies
    # for near-zero gradients. A wrong update (bias correction, learning rate, a frozen D trained) moves weights by
    # a good part of 2e-4. Not compared over more steps: a last-bit difference can flip one LeakyReLU and then a
    # whole column differs by ~4e-5 (seen at the third step).
    for theirs, mine in ((generator, ours.generator), (discriminator, ours.discriminator)):
        for a, b in zip(theirs.weights, mine.weights, strict=True):
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=0, atol=2.5e-7, err_msg=b.path)
    for theirs, mine in ((gan.optimizer, ours.g_optimizer), (discriminator.optimizer, ours.d_optimizer)):
        assert len(theirs.variables) == len(mine.variables)
        assert int(theirs.iterations) == int(mine.iterations) == 2
        for slot_a, slot_b in zip(theirs.variables[2:], mine.variables[2:]):
            assert slot_a.path.rsplit("_", 1)[1] == slot_b.path.rsplit("_", 1)[1]  # momentum / velocity
            a, b = np.array(slot_a), np.array(slot_b)
            # m: measured within 1e-6 of each slot's largest value. v: 1.3e-5 apart systematically, because
            # ResourceApplyAdam forms 1 - beta_2 from float32 beta_2 (0.00099998713) where Keras' Adam uses
            # the Python float (0.001); the bias correction cancels it in the weights
            scale = 5e-5 if slot_b.path.endswith("velocity") else 5e-6
            assert np.abs(a - b).max() <= scale * np.abs(b).max(), (slot_b.path, np.abs(a - b).max() / np.abs(b).max())
