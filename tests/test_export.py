"""Generators users take away: stock Keras layers in float32, and `gan export` to .keras, SavedModel and TFLite,
each loaded in a Python process that never imports gan_cli."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO, TINY_RECIPE

from gan_cli.cli import cli
from gan_cli.families import FAMILIES
from gan_cli.recipe.loading import load_recipe
from gan_cli.runs.export import export_generator, format_for, portable_model
from gan_cli.sampling import generate, latent_batch


def invoke(*args: object) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def build_generator(name: str, *overrides: str) -> keras.Model:
    recipe = load_recipe(REPO / "recipes" / f"{name}.yaml", list(overrides))
    if recipe.family in ("pix2pix", "cyclegan"):
        from gan_cli.families import TRANSLATORS

        return TRANSLATORS[recipe.family](recipe, (16, 16, 1), (16, 16, 1), 10).generators["a2b"]
    return FAMILIES[recipe.family](recipe, (8, 8, 1), 10).generator


def inputs_for(model: keras.Model) -> np.ndarray | list[np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, (5, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    return arrays if len(arrays) > 1 else arrays[0]


#: one of each kind of training-only layer: BatchMatMulDense (every Dense), SpectralNorm around G's kernels,
#: PackedDropout (the U-Net), and the conditional and InfoGAN inputs; cgan_digits_cbn: the dcgan G whose batch
#: norms take the label (condition.generator: batch_norm)
GENERATORS = [("digits_gan",), ("dcgan_digits", "generator.spectral_norm=true"), ("pix2pix_digits",),
              ("cgan_digits",), ("infogan_digits",),
              pytest.param(("cgan_digits", "generator.architecture=dcgan", "generator.batch_norm=true",
                            "generator.widths=[16,8]", "generator.kernel_size=4", "generator.spectral_norm=true",
                            "condition.generator=batch_norm"), id="cgan_digits_cbn")]


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("recipe", GENERATORS, ids=lambda r: r[0])
def test_exported_generators_hold_only_stock_float32_layers_and_compute_the_same(recipe: tuple[str, ...],
                                                                                  policy: str) -> None:
    keras.mixed_precision.set_global_policy(policy)
    model = build_generator(*recipe)
    keras.mixed_precision.set_global_policy("float32")
    x = inputs_for(model)
    model(x, training=True)  # a training call: SpectralNorm stores its normalized kernel, as training leaves it
    portable = portable_model(model)
    config = json.dumps(portable.get_config())
    assert "gan_cli" not in config and "bfloat16" not in config
    assert all(layer.dtype_policy.name == "float32" for layer in portable.layers)
    expected = np.asarray(keras.ops.cast(model(x, training=False), "float32"))
    got = np.asarray(portable(x, training=False))
    if policy == "float32":
        np.testing.assert_array_equal(got, expected)  # the same computation, bit for bit
    else:
        np.testing.assert_allclose(got, expected, atol=0.03)  # bfloat16 rounding of the original only


def test_the_format_follows_out_unless_given_and_contradictions_are_refused() -> None:
    assert format_for(Path("g.keras"), None) == "keras"
    assert format_for(Path("g.tflite"), None) == "tflite"
    assert format_for(Path("g_savedmodel"), None) == "savedmodel"
    assert format_for(Path("folder.v2"), "savedmodel") == "savedmodel"
    with pytest.raises(Exception, match="format keras, not --format tflite"):
        format_for(Path("g.keras"), "tflite")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    (folder / "tiny.yaml").write_text(TINY_RECIPE)
    invoke("train", folder / "tiny.yaml", "--out", folder / "run", "--no-progress")
    return folder / "run"


def test_gan_export_refuses_to_overwrite_without_force(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.keras"
    out.write_text("mine")
    result = CliRunner().invoke(cli, ["export", str(tiny_run), "--out", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output and out.read_text() == "mine"
    invoke("export", tiny_run, "--out", out, "--force")
    assert zipfile.is_zipfile(out)


#: Runs in a fresh interpreter: loads every exported form with Keras / TensorFlow alone and prints what it got.
CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    import tensorflow as tf
    folder = sys.argv[1]
    data = np.load(f"{folder}/inputs.npz")
    got = {}
    for name in ("run_generator", "exported"):
        model = keras.saving.load_model(f"{folder}/{name}.keras", compile=False)
        got[name] = np.asarray(model(data["latents"], training=False))
        got[name + "_dtype"] = str(got[name].dtype)
    serve = tf.saved_model.load(f"{folder}/savedmodel").signatures["serving_default"]
    got["savedmodel"] = serve(latent=tf.constant(data["latents"]))["images"].numpy()
    interpreter = tf.lite.Interpreter(model_path=f"{folder}/g.tflite")
    got["tflite"] = interpreter.get_signature_runner("serving_default")(latent=data["latents"])["images"]
    conditional = tf.saved_model.load(f"{folder}/cgan").signatures["serving_default"]
    got["cgan"] = conditional(latent=tf.constant(data["cgan_latents"]),
                              label=tf.constant(data["cgan_labels"]))["images"].numpy()
    translator = tf.lite.Interpreter(model_path=f"{folder}/unet.tflite").get_signature_runner("serving_default")
    got["unet"] = translator(input_images=data["unet_inputs"])["images"]
    assert not any(m == "gan_cli" or m.startswith("gan_cli.") for m in sys.modules), "gan_cli was imported"
    np.savez(f"{folder}/got.npz", **{k: v for k, v in got.items() if not k.endswith("_dtype")})
    print(json.dumps({k: v for k, v in got.items() if k.endswith("_dtype")}))
""")


def test_every_exported_form_works_without_gan_cli_and_matches_gan_sample(tiny_run: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copy(tiny_run / "generator.keras", tmp_path / "run_generator.keras")
    invoke("export", tiny_run, "--out", tmp_path / "exported.keras")
    output = invoke("export", tiny_run, "--out", tmp_path / "savedmodel")
    assert "serving_default: latent float32 (N, 8) -> images uint8 (N, 8, 8, 1)" in output
    invoke("export", tiny_run, "--format", "tflite", "--out", tmp_path / "g.tflite")
    invoke("sample", tiny_run, "--n", "16", "--seed", "5", "--out", tmp_path / "sampled.npz")
    sampled = np.load(tmp_path / "sampled.npz")["x"]
    cgan = build_generator("cgan_digits")
    export_generator(cgan, tmp_path / "cgan", "savedmodel")
    unet = build_generator("pix2pix_digits")
    export_generator(unet, tmp_path / "unet.tflite", "tflite", translator=True)
    cgan_latents, cgan_labels = latent_batch(10, int(cgan.inputs[0].shape[-1]), 1), np.arange(10, dtype=np.int32)
    unet_inputs = np.random.default_rng(2).integers(0, 256, (3, 16, 16, 1), dtype=np.uint8)
    np.savez(tmp_path / "inputs.npz", latents=latent_batch(16, 8, 5), cgan_latents=cgan_latents,
             cgan_labels=cgan_labels, unet_inputs=unet_inputs)

    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
    assert child.returncode == 0, child.stderr[-3000:]
    dtypes = json.loads(child.stdout.strip().splitlines()[-1])
    assert dtypes == {"run_generator_dtype": "float32", "exported_dtype": "float32"}
    got = np.load(tmp_path / "got.npz")
    from gan_cli.runs.images import to_uint8

    np.testing.assert_array_equal(to_uint8(got["run_generator"]), sampled)  # what training wrote
    np.testing.assert_array_equal(to_uint8(got["exported"]), sampled)
    np.testing.assert_array_equal(got["savedmodel"], sampled)
    assert np.abs(got["tflite"].astype(int) - sampled).max() <= 1  # TFLite's own kernels: last-bit rounding
    np.testing.assert_array_equal(got["cgan"], generate(cgan, cgan_latents, cgan_labels))
    expected = to_uint8(np.asarray(unet(unet_inputs.astype(np.float32) / 127.5 - 1.0, training=False)))
    assert np.abs(got["unet"].astype(int) - expected).max() <= 1
