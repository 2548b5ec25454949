"""BigGAN-mini networks (gan_cli.nets.biggan) and projection discriminators (gan_cli.nets.projection): shapes,
where the label and each z chunk enter, the orthogonal regularizer, and a generator that loads without gan_cli."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import layer_inputs

from gan_cli.errors import RecipeError
from gan_cli.nets import biggan, build_discriminator
from gan_cli.nets.projection import projection_discriminator
from gan_cli.recipe.schema import DiscriminatorSpec

LATENT, CLASSES = 20, 10
RNG = np.random.default_rng(0)


def consumers(model: keras.Model, name: str) -> set[str]:
    """The layers of ``model`` that take the output of layer ``name`` as an input (from the model's config)."""
    return {layer for layer, inputs in layer_inputs(model).items() if name in inputs}


def one_hot(labels: list[int]) -> np.ndarray:
    """One-hot rows (float32) for class indices."""
    return np.eye(CLASSES, dtype="float32")[labels]


def latent(n: int) -> np.ndarray:
    """``n`` standard normal latent vectors (float32, (n, LATENT))."""
    return RNG.standard_normal((n, LATENT)).astype("float32")


@pytest.fixture(scope="module")
def cond_g() -> keras.Model:
    """A conditional, hierarchical, spectral-normalized, orthogonally regularized G for 28x28x1."""
    return biggan.generator(LATENT, (28, 28, 1), [16, 8], CLASSES, embedding_dim=8, orthogonal=1e-3)


@pytest.fixture(scope="module")
def cond_d() -> keras.Model:
    """A conditional (projection), spectral-normalized D for 32x32x3."""
    return biggan.discriminator((32, 32, 3), [16, 8], CLASSES)


def test_shapes_ranges_and_inputs(cond_g: keras.Model, cond_d: keras.Model) -> None:
    """G: [z, label] or z -> float32 images in [-1, 1] of stock layers; D: [image, label] or image -> (N, 1)."""
    z, y = latent(4), one_hot([0, 1, 2, 3])
    assert [t.name for t in cond_g.inputs] == ["z", "label"]
    for training in (True, False):
        images = keras.ops.convert_to_numpy(cond_g([z, y], training=training))
        assert images.shape == (4, 28, 28, 1) and images.dtype == np.float32
        assert np.all(np.abs(images) <= 1.0) and images.std() > 0
    plain = biggan.generator(LATENT, (32, 32, 3), [16, 8, 8], None, hierarchical_z=False, spectral_norm=False)
    assert [t.name for t in plain.inputs] == ["z"] and tuple(plain.output.shape) == (None, 32, 32, 3)
    assert biggan.base_size((64, 64, 3), 4) == (4, 4) and biggan.base_size((28, 28, 1), 2) == (7, 7)
    assert [t.name for t in cond_d.inputs] == ["image", "label"]
    scores = cond_d([RNG.uniform(-1, 1, (4, 32, 32, 3)).astype("float32"), one_hot([0, 1, 2, 3])])
    assert tuple(scores.shape) == (4, 1)
    uncond = biggan.discriminator((28, 28, 1), [16, 8], None, spectral_norm=False)
    assert tuple(uncond.output.shape) == (None, 1) and uncond.layers[-1].name == "score"
    assert not any(type(layer).__module__.startswith("gan_cli") for layer in cond_g.layers)  # stock layers only


def test_sizes_that_do_not_fit_are_one_line_errors() -> None:
    """Sizes the blocks cannot make, too small a latent, no widths, a negative beta: one RecipeError line."""
    for build in (lambda: biggan.generator(LATENT, (28, 28, 1), [16, 8, 8], None),
                  lambda: biggan.discriminator((28, 28, 1), [16, 8, 8], None),
                  lambda: biggan.generator(2, (28, 28, 1), [16, 8], None),
                  lambda: biggan.generator(LATENT, (28, 28, 1), [], None),
                  lambda: biggan.generator(LATENT, (28, 28, 1), [16, 8], None, orthogonal=-1.0)):
        with pytest.raises(RecipeError) as error:
            build()
        assert "\n" not in str(error.value)
    with pytest.raises(RecipeError, match="divisible by 8"):
        biggan.generator(LATENT, (28, 28, 1), [16, 8, 8], None)


def test_label_reaches_the_generator_only_through_conditional_batch_norms() -> None:
    """label -> shared embedding -> cond_k -> the CBN gain/bias layers, nothing else; zero embedding: no effect."""
    g = biggan.generator(LATENT, (28, 28, 1), [16, 8], CLASSES, embedding_dim=8)
    assert consumers(g, "label") == {"label_embedding"}
    assert consumers(g, "label_embedding") == {"cond_1", "cond_2"}
    for k in (1, 2):
        cbn_layers = {f"block_{k}_cbn_{i}_{part}_sn" for i in (1, 2) for part in ("gain", "bias")}
        assert consumers(g, f"cond_{k}") == cbn_layers
    flat = biggan.generator(LATENT, (28, 28, 1), [16, 8], CLASSES, embedding_dim=8, hierarchical_z=False,
                            spectral_norm=False)
    assert consumers(flat, "label_embedding") == {f"block_{k}_cbn_{i}_{part}" for k in (1, 2) for i in (1, 2)
                                                  for part in ("gain", "bias")}
    assert consumers(flat, "z") == {"project"}
    z = np.repeat(latent(1), 3, axis=0)
    labels = one_hot([0, 4, 9])
    images = keras.ops.convert_to_numpy(g([z, labels], training=False))
    assert np.abs(images[0] - images[1]).max() > 1e-4 and np.abs(images[0] - images[2]).max() > 1e-4
    embedding = g.get_layer("label_embedding")
    embedding.kernel.assign(np.zeros(embedding.kernel.shape, "float32"))
    images = keras.ops.convert_to_numpy(g([z, labels], training=False))
    np.testing.assert_array_equal(images[0], images[1])
    np.testing.assert_array_equal(images[0], images[2])


def test_each_block_reads_its_own_z_chunk(cond_g: keras.Model) -> None:
    """Chunk 0 feeds project, chunk k block k only: moving chunk k leaves the blocks before k unchanged."""
    sizes = biggan.latent_chunks(LATENT, 3)
    assert sizes == [7, 7, 6] and biggan.latent_chunks(9, 3) == [3, 3, 3]
    assert consumers(cond_g, "z") == {"z_column"}
    assert consumers(cond_g, "z_chunk_0") == {"project_sn"}
    assert consumers(cond_g, "z_chunk_1") == {"cond_1"} and consumers(cond_g, "z_chunk_2") == {"cond_2"}
    uncond = biggan.generator(LATENT, (28, 28, 1), [16, 8], None, spectral_norm=False)
    assert consumers(uncond, "z_chunk_2") == {f"block_2_cbn_{i}_{part}" for i in (1, 2) for part in ("gain", "bias")}
    stages = keras.Model(cond_g.inputs, [cond_g.get_layer(f"block_{k}").output for k in (1, 2)] + [cond_g.output])
    z, y = latent(2), one_hot([3, 5])
    before = [keras.ops.convert_to_numpy(t) for t in stages([z, y], training=False)]
    starts = np.cumsum([0, *sizes])
    for chunk in range(3):
        moved = z.copy()
        moved[:, starts[chunk]:starts[chunk + 1]] += 1.0
        after = [keras.ops.convert_to_numpy(t) for t in stages([moved, y], training=False)]
        for stage, (old, new) in enumerate(zip(before, after)):  # stage 0, 1: blocks 1, 2; stage 2: image
            if stage + 1 < chunk:
                np.testing.assert_array_equal(old, new)
            else:
                assert np.abs(old - new).max() > 1e-5, (chunk, stage)


def test_label_reaches_the_discriminator_only_through_the_projection(cond_d: keras.Model) -> None:
    """label -> embedding -> projection -> score only; a zero embedding leaves the unconditional score."""
    assert consumers(cond_d, "label") == {"label_embedding_sn"}
    assert consumers(cond_d, "label_embedding_sn") == {"projection"}
    assert consumers(cond_d, "projection") == {"projected_score"}
    images = np.repeat(RNG.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"), 3, axis=0)
    labels = one_hot([0, 4, 9])
    scores = keras.ops.convert_to_numpy(cond_d([images, labels], training=False))[:, 0]
    assert np.ptp(scores) > 1e-6
    embedding = cond_d.get_layer("label_embedding_sn").layer
    embedding.kernel.assign(np.zeros(embedding.kernel.shape, "float32"))
    scores = keras.ops.convert_to_numpy(cond_d([images, labels], training=False))[:, 0]
    unconditional = keras.Model(cond_d.inputs[0], cond_d.get_layer("score_sn").output)
    np.testing.assert_allclose(scores, keras.ops.convert_to_numpy(unconditional(images))[:, 0], rtol=1e-6)
    assert np.ptp(scores) == 0


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_projection_around_the_recipe_discriminators(architecture: str) -> None:
    """projection_discriminator on mlp/dcgan D: [image, label] -> (N, 1), sharing inner's layers and weights."""
    spec = DiscriminatorSpec(architecture=architecture, widths=(16, 8), output_activation="linear",
                             spectral_norm=architecture == "dcgan", dropout=0.3)
    inner = build_discriminator(spec, (28, 28, 1))
    model = projection_discriminator(inner, CLASSES)
    assert [t.name for t in model.inputs] == ["image", "label"] and tuple(model.output.shape) == (None, 1)
    shared = {id(w) for w in model.weights}
    assert all(id(w) in shared for w in inner.weights)
    assert len(model.trainable_weights) == len(inner.trainable_weights) + 1  # the embedding's kernel
    images = RNG.uniform(-1, 1, (3, 28, 28, 1)).astype("float32")
    labels = one_hot([1, 2, 3])
    scores = keras.ops.convert_to_numpy(model([images, labels], training=False))
    inner_scores = keras.ops.convert_to_numpy(inner(images, training=False))
    assert np.abs(scores - inner_scores).max() > 1e-6
    core = model.get_layer("label_embedding_sn" if spec.spectral_norm else "label_embedding")
    kernel = core.layer.kernel if spec.spectral_norm else core.kernel
    kernel.assign(np.zeros(kernel.shape, "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model([images, labels], training=False)), inner_scores,
                               rtol=1e-6)
    bias = inner.get_layer("score_sn").layer.bias if spec.spectral_norm else inner.get_layer("score").bias
    bias.assign(bias + 1.0)  # a change to inner's weights is a change to the projection discriminator's
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model([images, labels], training=False)),
                               inner_scores + 1.0, rtol=1e-5)


def test_projection_refuses_what_does_not_end_in_a_linear_score() -> None:
    """A sigmoid score, an Activation after Dense(1), a Dense(2): one RecipeError line each."""
    sigmoid = build_discriminator(DiscriminatorSpec(architecture="mlp", widths=(8,)), (28, 28, 1))
    with pytest.raises(RecipeError, match="output_activation: linear"):
        projection_discriminator(sigmoid, CLASSES)
    image = keras.Input((28, 28, 1))
    features = keras.layers.Dense(4)(keras.layers.Flatten()(image))
    for ending in (keras.layers.Activation("linear")(keras.layers.Dense(1)(features)), keras.layers.Dense(2)(features)):
        with pytest.raises(RecipeError, match="ends in") as error:
            projection_discriminator(keras.Model(image, ending), CLASSES)
        assert "\n" not in str(error.value)


def _penalty(kernel: np.ndarray, beta: float) -> float:
    """beta * ||Wᵀ W ⊙ (1 - I)||_F² in float64 NumPy, W the kernel as (fan_in, out)."""
    w = kernel.reshape(-1, kernel.shape[-1]).astype("float64")
    gram = w.T @ w
    return float(beta * np.sum((gram * (1.0 - np.eye(gram.shape[0]))) ** 2))


def test_orthogonal_regularizer(cond_g: keras.Model) -> None:
    """The penalty matches NumPy, is 0 for orthogonal columns, serializes, and sums into G's losses once per kernel."""
    regularizer = biggan.orthogonal_regularizer(0.01)
    kernel = RNG.standard_normal((3, 3, 4, 6)).astype("float32")
    assert float(regularizer(keras.ops.convert_to_tensor(kernel))) == pytest.approx(_penalty(kernel, 0.01), rel=1e-5)
    orthogonal = np.linalg.qr(RNG.standard_normal((8, 5)))[0] * np.array([1.0, 2.0, 0.5, 3.0, 1.0])
    assert float(regularizer(keras.ops.convert_to_tensor(orthogonal.astype("float32")))) == pytest.approx(0, abs=1e-6)
    restored = keras.regularizers.deserialize(keras.regularizers.serialize(regularizer))
    assert isinstance(restored, biggan.OrthogonalPenalty) and restored.get_config() == {"beta": 0.01}
    kernels = biggan.regularized_kernels(cond_g)
    assert len(kernels) == 1 + 2 * 7 + 1 and not any("label_embedding" in k.path for k in kernels)
    expected = sum(_penalty(keras.ops.convert_to_numpy(k), 1e-3) for k in kernels)
    assert len(cond_g.losses) == len(kernels)
    assert float(sum(cond_g.losses)) == pytest.approx(expected, rel=1e-4)
    wrapper = keras.Model(cond_g.inputs, cond_g(cond_g.inputs))  # as inside the combined model
    assert float(sum(wrapper.losses)) == pytest.approx(expected, rel=1e-4)
    assert not biggan.generator(LATENT, (28, 28, 1), [16, 8], CLASSES).losses


LOADER = """
import sys, numpy as np, keras
assert 'gan_cli' not in sys.modules
data = np.load(sys.argv[1])
out = {}
for name in ('raw', 'portable'):
    model = keras.saving.load_model(sys.argv[1].replace('inputs.npz', name + '.keras'), safe_mode=True)
    out[name] = keras.ops.convert_to_numpy(model([data['z'], data['y']], training=False))
assert 'gan_cli' not in sys.modules
np.savez(sys.argv[2], **out)
"""


def test_generator_loads_and_runs_without_gan_cli(cond_g: keras.Model, tmp_path: Path) -> None:
    """G as saved, and its runs.export portable copy, load in a Python without gan_cli and give G's outputs."""
    from gan_cli.runs.export import portable_model

    z, y = latent(3), one_hot([7, 8, 9])
    cond_g([z, y], training=True)  # one training call: spectral norms rewrite kernels, batch norms move stats
    expected = keras.ops.convert_to_numpy(cond_g([z, y], training=False))
    cond_g.save(tmp_path / "raw.keras")  # as is: the regularizer sits on the variables, not in the config
    portable_model(cond_g).save(tmp_path / "portable.keras")
    for name in ("raw", "portable"):
        with zipfile.ZipFile(tmp_path / f"{name}.keras") as archive:
            assert b"gan_cli" not in archive.read("config.json")
    np.savez(tmp_path / "inputs.npz", z=z, y=y)
    result = subprocess.run([sys.executable, "-c", LOADER, str(tmp_path / "inputs.npz"), str(tmp_path / "out.npz")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    outputs = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(outputs["raw"], expected, atol=1e-6)
    np.testing.assert_allclose(outputs["portable"], expected, atol=1e-6)
