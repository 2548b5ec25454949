"""The conditional GAN's dcgan generator with ``condition.generator: batch_norm``: z alone enters the first
layer, and the label reaches G only through conditional batch norms reading one shared class embedding (BigGAN's
``conditional_batch_norm``); it trains and samples from the CLI, exports without gan_cli, and the recipes that
cannot work are refused."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import layer_inputs

from gan_cli.cli import cli
from gan_cli.errors import RecipeError
from gan_cli.families import FAMILIES
from gan_cli.recipe.loading import parse_recipe

REPO = Path(__file__).resolve().parents[1]
SHAPE, CLASSES, LATENT = (8, 8, 1), 10, 6
CBN = {"family": "cgan",
       "generator": {"architecture": "dcgan", "latent_dim": LATENT, "widths": [16, 8], "kernel_size": 4,
                     "batch_norm": True, "activation": "relu"},
       "discriminator": {"widths": [16], "dropout": 0.0},
       "condition": {"generator": "batch_norm", "embedding_dim": 4}}
#: the layers allowed to read the label: the shared embedding, each norm's gain and bias Dense and their
#: (1, 1, C) reshapes
NORMS = ("batch_norm_0", "batch_norm_1")
LABEL_ONLY = {"label", "label_embedding"} | {f"{norm}_{part}{suffix}" for norm in NORMS
                                             for part in ("gain", "bias") for suffix in ("", "_map")}


def generator(data: dict[str, Any] = CBN) -> keras.Model:
    keras.utils.set_random_seed(0)
    return FAMILIES["cgan"](parse_recipe(data), SHAPE, CLASSES).generator


def ancestors(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each layer -> every layer it depends on, itself included."""
    found: dict[str, set[str]] = {}

    def visit(name: str) -> set[str]:
        if name not in found:
            found[name] = {name}.union(*(visit(parent) for parent in graph[name]))
        return found[name]

    for name in graph:
        visit(name)
    return found


def one_hot(labels: list[int]) -> np.ndarray:
    return np.eye(CLASSES, dtype="float32")[labels]


def test_the_label_enters_g_only_through_the_conditional_batch_norms() -> None:
    model = generator()
    assert [tensor.name for tensor in model.inputs] == ["z", "label"]
    graph = layer_inputs(model)
    depends = ancestors(graph)
    reads = {name: {child for child, inputs in graph.items() if name in inputs} for name in graph}
    assert reads["z"] == {"project"}  # z alone enters the first layer
    assert reads["label"] == {"label_embedding"}  # one shared embedding ...
    assert reads["label_embedding"] == {f"{norm}_{part}" for norm in NORMS for part in ("gain", "bias")}
    # ... read by every norm's gain and bias Dense only, and no other layer depends on the label without z
    assert {name for name in graph if "label" in depends[name] and "z" not in depends[name]} == LABEL_ONLY
    # the label's side joins z's only inside the conditional norms (normed * gain, normed + scaled + bias), and
    # z meets the label nowhere before them
    merges = {name for name, inputs in graph.items() if name not in LABEL_ONLY and inputs & LABEL_ONLY}
    assert merges == {f"{norm}_scaled" for norm in NORMS} | set(NORMS)
    mixed = {name for name in graph if {"z", "label"} <= depends[name]}
    assert all(depends[name] & merges for name in mixed)
    assert {name for name in mixed if not any(parent in mixed for parent in graph[name])} == {"batch_norm_0_scaled"}
    assert depends["batch_norm_0_norm"] == {"z", "project", "project_map", "batch_norm_0_norm"}
    for norm in NORMS:  # the normalizations have no gain or bias of their own
        layer = model.get_layer(f"{norm}_norm")
        assert isinstance(layer, keras.layers.BatchNormalization) and not layer.center and not layer.scale
    assert not [layer.name for layer in model.layers if type(layer) is keras.layers.BatchNormalization
                and not layer.name.endswith("_norm")]  # every batch norm of G is a conditional one


def test_the_label_changes_the_image_and_nothing_else_carries_it() -> None:
    model = generator()
    z = np.repeat(np.random.default_rng(1).standard_normal((1, LATENT)).astype("float32"), 3, axis=0)
    labels = one_hot([0, 4, 9])
    model([z, labels], training=True)  # one training call: the moving statistics leave their start
    images = keras.ops.convert_to_numpy(model([z, labels], training=False))
    assert np.abs(images[0] - images[1]).max() > 1e-4 and np.abs(images[0] - images[2]).max() > 1e-4
    for norm in NORMS:
        for part in ("gain", "bias"):
            dense = model.get_layer(f"{norm}_{part}")
            dense.kernel.assign(np.zeros(dense.kernel.shape, "float32"))
    images = keras.ops.convert_to_numpy(model([z, labels], training=False))
    np.testing.assert_array_equal(images[0], images[1])
    np.testing.assert_array_equal(images[0], images[2])


LOADER = """
import sys
import numpy as np
import keras
data = np.load(sys.argv[1])
model = keras.saving.load_model(sys.argv[2], compile=False)
np.save(sys.argv[3], np.asarray(model([data["z"], data["y"]], training=False)))
assert not any(m == "gan_cli" or m.startswith("gan_cli.") for m in sys.modules), "gan_cli was imported"
"""


def test_the_exported_generator_loads_and_runs_without_gan_cli(tmp_path: Path) -> None:
    from gan_cli.runs.export import save_portable

    model = generator({**CBN, "generator": {**CBN["generator"], "spectral_norm": True}})
    z = np.random.default_rng(2).standard_normal((4, LATENT)).astype("float32")
    y = one_hot([1, 2, 3, 4])
    model([z, y], training=True)  # spectral norms store their normalized kernels, batch norms move
    expected = keras.ops.convert_to_numpy(model([z, y], training=False))
    save_portable(model, tmp_path / "g.keras")
    with zipfile.ZipFile(tmp_path / "g.keras") as archive:
        config = archive.read("config.json")
    assert b"gan_cli" not in config and b"Lambda" not in config
    np.savez(tmp_path / "inputs.npz", z=z, y=y)
    result = subprocess.run([sys.executable, "-c", LOADER, str(tmp_path / "inputs.npz"), str(tmp_path / "g.keras"),
                             str(tmp_path / "out.npy")], cwd=tmp_path, capture_output=True, text=True, timeout=180,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_cli_trains_a_cgan_with_conditional_batch_norms_and_samples_per_class(tmp_path: Path) -> None:
    run = tmp_path / "run"
    settings = ["generator.architecture=dcgan", "generator.batch_norm=true", "generator.widths=[16,8]",
                "generator.kernel_size=4", "generator.activation=relu", "condition.generator=batch_norm",
                "condition.embedding_dim=8", "train.steps=3", "data.limit=256"]
    result = CliRunner().invoke(cli, ["train", str(REPO / "recipes" / "cgan_digits.yaml"), "--out", str(run),
                                      "--no-progress", *[arg for s in settings for arg in ("--set", s)]])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["sample", str(run), "--per-class", "2", "--out", str(tmp_path / "s.npz")])
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npz")["x"].shape == (20, *SHAPE)
    trained = keras.saving.load_model(run / "generator.keras", compile=False)
    assert [tensor.name for tensor in trained.inputs] == ["z", "label"]
    assert trained.get_layer("label_embedding").kernel.shape == (CLASSES, 8)


@pytest.mark.parametrize("change, needs", [
    ({"family": "gan"}, "family cgan only"),
    ({"family": "infogan"}, "family cgan only"),
    ({"generator": {**CBN["generator"], "architecture": "mlp", "widths": [32]}}, "generator.architecture: dcgan"),
    ({"generator": {"architecture": "biggan", "widths": [16], "latent_dim": 4}}, "biggan's G always"),
    ({"generator": {**CBN["generator"], "batch_norm": False}}, "generator.batch_norm: true"),
])
def test_recipes_where_it_cannot_work_are_refused_in_one_line(change: dict[str, Any], needs: str) -> None:
    with pytest.raises(RecipeError, match="condition.generator") as caught:
        parse_recipe({**CBN, **change})
    message = str(caught.value)
    assert needs in message and "remove condition.generator" in message and "\n" not in message


def test_the_default_is_the_input_path_unchanged() -> None:
    assert parse_recipe({"family": "cgan"}).condition.generator == "input"
    model = generator({**CBN, "condition": {"embedding_dim": 4}})  # dcgan G fed z ++ one-hot(y), plain norms
    names = {layer.name for layer in model.layers}
    assert "z_and_label" in names and not any(name.endswith("_gain") for name in names)
