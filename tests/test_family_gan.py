"""The tutorial's combined-model wiring under Keras 3: which update changes which weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_cli.families import FAMILIES, TRANSLATORS
from gan_cli.families.gan import GanModels
from gan_cli.recipe import TRANSLATION_FAMILIES, FamilyName, parse_recipe

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
    for a, b in zip(logs_a, logs_b):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6), key
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        for a, b in zip(state_a[key], state_b[key]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=key)


def test_the_tutorial_step_takes_batch_matmul_gradients_and_stays_the_tutorials_update() -> None:
    """At the tutorial's sizes in float32 the fused step's large Dense layers take BatchMatMul gradients
    (BatchMatMulDense), and the step still equals the tutorial's two train_on_batch calls."""
    from gan_cli.recipe import load_recipe
    from gan_cli.shipped_recipes import recipe_path

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
