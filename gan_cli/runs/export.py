"""Generators users take away: stock Keras layers computing in float32, as ``.keras``, SavedModel or TFLite.

Training builds its networks from a few layers of its own (``BatchMatMulDense``'s faster gradients,
``PackedDropout``'s cheaper masks, ``SpectralNorm``'s frozen-aware power iteration) and may compute in mixed
bfloat16. None of that matters once a generator only generates, and all of it would tie the file to
``gan_cli``. So every model a run exports is first made portable: each training-only layer becomes its stock
equivalent with the same weights, every layer computes in float32, and the file loads with Keras alone.

The SavedModel and TFLite forms carry one serving signature, ``serving_default``:

- z-space generators take ``latent`` (float32, (N, latent_dim)); a conditional generator also takes
  ``label`` (int32 class indices, (N,)); an InfoGAN generator takes ``category`` (int32, (N,)) and
  ``codes`` (float32, (N, continuous codes), nominally in [-1, 1]).
- translators (pix2pix, CycleGAN) take ``input_images`` (uint8, (N, H, W, C)).
- every signature returns ``images`` (uint8, (N, H, W, C), 0..255) and ``images_float`` (float32 in [-1, 1],
  the generator's own output).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from gan_cli.errors import GanError, UsageError
from gan_cli.files import atomic_path, replace_directory, write_atomic
from gan_cli.nets.common import BatchMatMulDense, PackedDropout

#: ``gan export --format`` choices, and the file suffix each is recognised by in ``--out``
FORMATS = {"keras": ".keras", "savedmodel": "", "tflite": ".tflite"}


def _stock_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A new, unbuilt stock Keras layer computing in float32 that does what ``layer`` does at inference."""
    if isinstance(layer, keras.Model):
        return portable_model(layer)
    source = layer.layer if isinstance(layer, keras.layers.SpectralNormalization) else layer
    config = {**source.get_config(), "dtype": "float32", "name": layer.name}
    if isinstance(source, BatchMatMulDense):
        return keras.layers.Dense.from_config(config)
    if isinstance(source, PackedDropout):
        return keras.layers.Dropout.from_config(config)
    return type(source).from_config(config)


def _inference_weights(layer: keras.layers.Layer) -> list[Any]:
    """The weights ``_stock_layer(layer)`` needs: a spectral-normalized layer's kernel is already divided by
    its largest singular value (the last training call stored it so), so its wrapped layer's weights are it."""
    if isinstance(layer, keras.layers.SpectralNormalization):
        return layer.layer.get_weights()
    return layer.get_weights()


def portable_model(model: keras.Model) -> keras.Model:
    """A copy of ``model`` built only from stock Keras layers that compute in float32, with the same weights.

    Its outputs equal ``model``'s in inference mode: bit for bit for a float32 model (the forward passes are
    the same computation), and to bfloat16 rounding for a mixed-precision one (the copy computes in float32).
    The copy shares no variables with ``model``.
    """
    copy = keras.models.clone_model(model, clone_function=_stock_layer)
    if not copy.built:  # clone_model builds functional models; a subclassed one would not get here
        raise GanError(f"model {model.name}: cannot be exported (not a functional Keras model)")
    originals = {layer.name: layer for layer in model.layers}
    for layer in copy.layers:
        if layer.name in originals and layer.weights:
            layer.set_weights(_inference_weights(originals[layer.name]))
    return copy


def save_portable(model: keras.Model, path: Path) -> None:
    """Save :func:`portable_model` of ``model`` as ``.keras`` through a temporary file (never half-written)."""
    portable = portable_model(model)
    with atomic_path(path, suffix=".keras") as tmp:
        portable.save(tmp)


def _to_uint8(images: tf.Tensor) -> tf.Tensor:
    """[-1, 1] to uint8 exactly as ``gan_cli.runs.images.to_uint8`` does it (round half to even, clip)."""
    return tf.cast(tf.clip_by_value(tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def serving_signature(model: keras.Model, translator: bool) -> tuple[Any, list[tf.TensorSpec]]:
    """The serving function of a portable generator and its input signature (see the module docstring)."""
    inputs = model.inputs if isinstance(model.inputs, list) else [model.inputs]

    def outputs(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"images": _to_uint8(images), "images_float": tf.cast(images, tf.float32)}

    if translator:
        shape = [None, *inputs[0].shape[1:]]

        def translate(input_images: tf.Tensor) -> dict[str, tf.Tensor]:
            return outputs(model(tf.cast(input_images, tf.float32) / 127.5 - 1.0, training=False))

        return translate, [tf.TensorSpec(shape, tf.uint8, name="input_images")]
    latent = tf.TensorSpec([None, inputs[0].shape[-1]], tf.float32, name="latent")
    if len(inputs) == 1:
        return (lambda latent: outputs(model(latent, training=False))), [latent]
    classes = int(inputs[1].shape[-1])
    if len(inputs) == 2:

        def conditional(latent: tf.Tensor, label: tf.Tensor) -> dict[str, tf.Tensor]:
            return outputs(model([latent, tf.one_hot(label, classes)], training=False))

        return conditional, [latent, tf.TensorSpec([None], tf.int32, name="label")]

    def info(latent: tf.Tensor, category: tf.Tensor, codes: tf.Tensor) -> dict[str, tf.Tensor]:
        return outputs(model([latent, tf.one_hot(category, classes), codes], training=False))

    return info, [latent, tf.TensorSpec([None], tf.int32, name="category"),
                  tf.TensorSpec([None, inputs[2].shape[-1]], tf.float32, name="codes")]


def _write_saved_model(model: keras.Model, translator: bool, directory: Path) -> None:
    archive = keras.export.ExportArchive()
    archive.track(model)
    function, signature = serving_signature(model, translator)
    archive.add_endpoint(name="serving_default", fn=function, input_signature=signature)
    archive.write_out(str(directory), verbose=False)


def export_generator(model: keras.Model, out: Path, fmt: str, *, translator: bool = False) -> Path:
    """Write ``model`` (a generator as trained or as exported) to ``out`` in format ``fmt`` (a FORMATS key),
    made portable first; ``out`` appears only once complete. Returns ``out``.

    Raises:
        WriteError: ``out`` cannot be written.
    """
    if fmt == "keras":
        save_portable(model, out)
        return out
    portable = portable_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_saved_model(portable, translator, staging / "savedmodel")
        if fmt == "savedmodel":
            replace_directory(staging / "savedmodel", out)
        else:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(staging / "savedmodel"))
            write_atomic(out, converter.convert())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def format_for(out: Path, fmt: str | None) -> str:
    """The export format: ``fmt`` when given, else the one ``out``'s suffix names (``.keras``, ``.tflite``;
    anything else is a SavedModel folder).

    Raises:
        UsageError: ``fmt`` and ``out``'s suffix disagree.
    """
    by_suffix = {suffix: name for name, suffix in FORMATS.items() if suffix}
    implied = by_suffix.get(out.suffix.lower(), "savedmodel")
    if fmt is None:
        return implied
    if implied != fmt and out.suffix.lower() in by_suffix:
        raise UsageError(f"--out {out}: a {out.suffix} file is format {implied}, not --format {fmt}; change one")
    return fmt


def describe_signature(model: keras.Model, translator: bool) -> str:
    """One line naming the serving signature's inputs and outputs (dtype and shape)."""
    _, inputs = serving_signature(model, translator)
    shape = tuple(model.outputs[0].shape[1:])

    def spec(tensor: tf.TensorSpec) -> str:
        return f"{tensor.name} {tensor.dtype.name} {('N', *tensor.shape[1:])}".replace("'", "")

    outputs = f"images uint8 {('N', *shape)}, images_float float32 in [-1, 1]".replace("'", "")
    return f"serving_default: {', '.join(spec(t) for t in inputs)} -> {outputs}"
