"""Evaluator networks: a small CNN classifier per data set (an autoencoder for unlabelled data), cached.

Inception weights cannot be downloaded here and Inception FIDs from different frameworks disagree, so
samples are measured with a network trained on the data set itself (docs/evaluation.md). A classifier has a
128-unit layer named ``features`` before its logits; an unlabelled source gets an MLP autoencoder whose
128-unit bottleneck is named ``features``. Evaluators are trained once with a fixed seed, checked on a
held-out split, and cached under the user's cache directory, keyed by the data set and the evaluator's
definition.

Every result carries the evaluator's identity (``evaluator_id``, :func:`evaluator_identity`): a sha256 of what
it computes (its definition, its data and its weights), not of its ``.keras`` file, whose bytes change with every
save. Training is seeded, so two builds of one evaluator on one machine (fresh cache folders) have the same
identity. The file's own sha256 is kept in ``evaluator.json`` only to detect a damaged cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
from tqdm import tqdm

from gan_cli.data import ImageSet, load_images
from gan_cli.data.tasks import TASKS
from gan_cli.device.precision import float32_policy
from gan_cli.errors import DataError, GanError
from gan_cli.evaluation.metrics import frechet_distance
from gan_cli.files import atomic_path, cache_root, read_json, write_atomic
from gan_cli.recipe.schema import DataSpec

#: Bump when the training procedure changes in a way the definition below does not capture.
EVALUATOR_VERSION = 1
#: Real-vs-real floors are computed on at most this many images per side.
MAX_FLOOR_N = 10_000
#: Held out for accuracy when a source has no test split.
HOLDOUT_FRACTION = 0.1
TRAIN_STEPS = 2400
BATCH_SIZE = 128


def data_identity(spec: DataSpec) -> dict[str, Any]:
    """The data-section fields that decide which images an evaluator learns (not split or limit), with
    ``path`` made absolute."""
    path = str(Path(spec.path).expanduser().resolve()) if spec.path else None
    identity = {"source": spec.source, "path": path, "x_key": spec.x_key, "y_key": spec.y_key,
                "image_size": list(spec.image_size) if spec.image_size else None, "channels": spec.channels}
    # translation data: the evaluator learns the target domain; a task whose B is the source's own images
    # shares the source's evaluator
    same_images = spec.task is None or (TASKS[spec.task].b_is_source and spec.direction == "a2b")
    if not same_images or (spec.task is None and spec.direction == "b2a"):
        identity.update(task=spec.task, direction=spec.direction)
    return identity


def _fingerprint(path: str | None) -> list[Any] | None:
    """Size and modification time of a data file, or of every file under a data folder, so an evaluator
    is rebuilt when the data behind the same path changes."""
    if not path:
        return None
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    return [[str(f.relative_to(root)) if f != root else f.name, f.stat().st_size, f.stat().st_mtime_ns]
            for f in files]


def evaluator_definition(image_shape: tuple[int, int, int], num_classes: int | None, num_train: int) -> dict[str, Any]:
    """Everything that decides the evaluator's weights, as plain data (part of its cache key)."""
    steps_per_epoch = max(1, num_train // BATCH_SIZE)
    return {
        "version": EVALUATOR_VERSION,
        "kind": "classifier" if num_classes else "autoencoder",
        "image_shape": list(image_shape),
        "num_classes": num_classes,
        "conv_widths": [32, 64] if num_classes else [],
        "padding": "valid" if min(image_shape[:2]) >= 16 else "same",
        "feature_units": 128,
        "epochs": int(min(100, max(5, math.ceil(TRAIN_STEPS / steps_per_epoch)))),
        "batch_size": BATCH_SIZE,
        "optimizer": {"name": "adam", "learning_rate": 1e-3},
        "seed": 0,
    }


def build_network(definition: dict[str, Any]) -> keras.Model:
    """The untrained evaluator a definition describes.

    Classifier (the Keras ``mnist_cnn`` layout): Conv 32 and 64 (3x3, ReLU), max-pool, dropout 0.25,
    Dense 128 ReLU named ``features``, dropout 0.5, Dense(classes) logits. Autoencoder: Dense 256 ReLU,
    Dense 128 named ``features``, Dense 256 ReLU, Dense(H*W*C, tanh), reshaped to the image.
    """
    shape = tuple(definition["image_shape"])
    image = keras.Input(shape, name="image")
    units = definition["feature_units"]
    if definition["kind"] == "classifier":
        x = image
        for width in definition["conv_widths"]:
            x = keras.layers.Conv2D(width, 3, activation="relu", padding=definition["padding"])(x)
        x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.Dropout(0.25)(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(units, activation="relu", name="features")(x)
        x = keras.layers.Dropout(0.5)(x)
        logits = keras.layers.Dense(definition["num_classes"], name="logits")(x)
        return keras.Model(image, logits, name="evaluator_classifier")
    x = keras.layers.Flatten()(image)
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dense(units, name="features")(x)
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dense(int(np.prod(shape)), activation="tanh")(x)
    return keras.Model(image, keras.layers.Reshape(shape)(x), name="evaluator_autoencoder")


@dataclass
class Evaluator:
    """A trained evaluator and what it says about itself (``info``, saved as ``evaluator.json``)."""

    model: keras.Model
    info: dict[str, Any]
    directory: Path
    _features: Any = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return str(self.info["definition"]["kind"])

    @property
    def id(self) -> str:
        """What the evaluator computes, as a sha256 (:func:`evaluator_identity`): equal ids, equal features."""
        return str(self.info["id"])

    @property
    def sha256(self) -> str:
        """The sha256 of the cached ``.keras`` file (it changes with every save: not an identity)."""
        return str(self.info["sha256"])

    @property
    def num_classes(self) -> int | None:
        return self.info["definition"]["num_classes"]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        height, width, channels = self.info["definition"]["image_shape"]
        return int(height), int(width), int(channels)

    @property
    def data_spec(self) -> DataSpec:
        identity = dict(self.info["data"])
        if identity.get("image_size"):
            identity["image_size"] = tuple(identity["image_size"])
        return DataSpec(**identity)

    def features(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """The ``features`` layer's activations for images in [-1, 1], float64 (N, 128)."""
        if self._features is None:
            self._features = keras.Model(self.model.input, self.model.get_layer("features").output)
        return _batched(self._features, images, batch_size)

    def logits(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray | None:
        """Class logits (N, classes) for a classifier; None for an autoencoder."""
        return None if self.kind != "classifier" else _batched(self.model, images, batch_size)

    def floor(self, n_fake: int, n_real: int, against: str = "test") -> dict[str, Any]:
        """Real-vs-real Fréchet distance on the features, made like an evaluation of ``n_fake`` samples
        against ``n_real`` images of the ``against`` split: real images of the *other* split stand in
        for the samples (as many as there are samples, or all of them).

        Computed once per (evaluator, sizes, split) and cached in ``evaluator.json``.
        """
        floors = self.info.setdefault("floors", {})
        key = f"{n_fake}:{n_real}:{against}"
        if key not in floors:
            train, test = data_splits(self.data_spec)
            stand_in, reference = (train, test) if against == "test" else (test, train)
            count_a, count_b = min(n_fake, len(stand_in.images)), min(n_real, len(reference.images))
            rng = np.random.default_rng(0)
            a = stand_in.images[rng.choice(len(stand_in.images), count_a, replace=False)]
            b = reference.images[rng.choice(len(reference.images), count_b, replace=False)]
            floors[key] = {"n_stand_in": count_a, "n_reference": count_b, "against": against,
                           "fd": frechet_distance(self.features(a), self.features(b))}
            write_atomic(self.directory / "evaluator.json", json.dumps(self.info, indent=2) + "\n")
        return dict(floors[key])


def _batched(model: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    outputs = [np.asarray(model(images[i:i + batch_size], training=False), dtype=np.float64)
               for i in range(0, len(images), batch_size)]
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, 0))


def data_splits(spec: DataSpec) -> tuple[ImageSet, ImageSet]:
    """Train and held-out images of a data set: its test split, or a fixed random 10% of train when it
    has none (including sources whose "test" split falls back to the training images themselves)."""
    spec = dataclasses.replace(spec, split="train", limit=None)
    train = load_images(spec)
    try:
        test: ImageSet | None = load_images(dataclasses.replace(spec, split="test"))
    except DataError:
        test = None
    if test is not None and test.images.shape == train.images.shape and np.array_equal(test.images, train.images):
        test = None
    if test is None:
        order = np.random.default_rng(0).permutation(len(train.images))
        cut = max(1, int(round(len(order) * HOLDOUT_FRACTION)))
        held, kept = order[:cut], order[cut:]
        labels = train.labels
        test = ImageSet(train.images[held], None if labels is None else labels[held],
                        f"{train.description} [held-out {cut}]")
        train = ImageSet(train.images[kept], None if labels is None else labels[kept], train.description)
    return train, test


def data_digest(train: ImageSet, test: ImageSet) -> str:
    """sha256 of the images and labels an evaluator is trained and checked on (shapes and dtypes included)."""
    digest = hashlib.sha256()
    for array in (train.images, train.labels, test.images, test.labels):
        _hash_array(digest, array)
    return digest.hexdigest()


def _hash_array(digest: Any, array: np.ndarray | None) -> None:
    if array is None:
        digest.update(b"none;")
        return
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    digest.update(f"{little.dtype.str}{list(little.shape)};".encode())
    digest.update(little.tobytes())


def evaluator_identity(definition: dict[str, Any], data: dict[str, Any], digest_of_data: str,
                       weights: list[np.ndarray]) -> str:
    """The evaluator's identity: a sha256 over its definition (canonical JSON), its data identity without the
    machine's local path, the digest of its data (:func:`data_digest`) and its weights' bytes in the model's
    order (shape and dtype included, names left out: Keras numbers layer names per process).

    Equal identities mean equal features for equal images, whichever machine or cache folder built it.
    """
    digest = hashlib.sha256()
    portable = {key: value for key, value in data.items() if key != "path"}
    digest.update(json.dumps({"definition": definition, "data": portable, "images": digest_of_data},
                             sort_keys=True, separators=(",", ":")).encode())
    for array in weights:
        _hash_array(digest, np.asarray(array))
    return digest.hexdigest()


def evaluator_directory(spec: DataSpec, definition: dict[str, Any]) -> Path:
    """Where the evaluator for this data set and definition is cached."""
    identity = data_identity(spec)
    key = json.dumps({"data": identity, "files": _fingerprint(identity["path"]), "definition": definition},
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_root() / "evaluators" / f"{spec.source}-{digest}"


def load_or_build_evaluator(spec: DataSpec, echo: Callable[[str], None] = print, progress: bool | None = None,
                            rebuild: bool = False) -> Evaluator:
    """The cached evaluator for a data set, training it first if needed (or if ``rebuild``).

    Raises:
        DataError: the data set cannot be loaded.
        GanError: a cached evaluator file is damaged (rebuild it with ``gan eval --build-evaluator``).
    """
    train, test = data_splits(spec)
    labelled = train.labels is not None and test.labels is not None
    num_classes = int(max(train.labels.max(), test.labels.max()) + 1) if labelled else None  # type: ignore[union-attr]
    definition = evaluator_definition(train.image_shape, num_classes, len(train.images))
    directory = evaluator_directory(spec, definition)
    if not rebuild and (directory / "evaluator.json").is_file():
        return _load(directory, train, test)
    return _train(spec, definition, directory, train, test, echo, progress)


def _load(directory: Path, train: ImageSet, test: ImageSet) -> Evaluator:
    """The cached evaluator; one cached before evaluator ids gets its id now (written back)."""
    info = read_json(directory / "evaluator.json", dict)
    path = directory / "evaluator.keras"
    digest = _sha256(path) if path.is_file() else None
    if digest != info.get("sha256"):
        raise GanError(f"{path}: cached evaluator is damaged (sha256 mismatch); rebuild it with "
                       f"gan eval --build-evaluator {info['data']['source']}")
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    if "id" not in info:
        info["id"] = evaluator_identity(info["definition"], info["data"], data_digest(train, test),
                                        model.get_weights())
        write_atomic(directory / "evaluator.json", json.dumps(info, indent=2) + "\n")
    return Evaluator(model, info, directory)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _TqdmProgress(keras.callbacks.Callback):
    """One tqdm bar over all training steps of ``fit``."""

    def __init__(self, total: int, description: str, enabled: bool | None) -> None:
        super().__init__()
        self.bar = tqdm(total=total, desc=description, unit="step", disable=None if enabled is None else not enabled)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.bar.update(1)
        if logs and batch % 20 == 0:
            self.bar.set_postfix(loss=f"{float(logs.get('loss', 0.0)):.3f}")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.bar.close()


def _train(spec: DataSpec, definition: dict[str, Any], directory: Path, train: ImageSet, test: ImageSet,
           echo: Callable[[str], None], progress: bool | None) -> Evaluator:
    keras.utils.set_random_seed(definition["seed"])
    with float32_policy():  # evaluators are float32 whatever the training precision
        model = build_network(definition)
    classifier = definition["kind"] == "classifier"
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True) if classifier else "mse"
    model.compile(optimizer=keras.optimizers.Adam(definition["optimizer"]["learning_rate"]), loss=loss,
                  metrics=["accuracy"] if classifier else None)
    targets = train.labels if classifier else train.images
    steps = math.ceil(len(train.images) / definition["batch_size"]) * definition["epochs"]
    echo(f"building the {spec.source} evaluator ({definition['kind']}, {len(train.images)} training images, "
         f"{definition['epochs']} epochs); cached in {directory}")
    model.fit(train.images, targets, batch_size=definition["batch_size"], epochs=definition["epochs"], verbose=0,
              shuffle=True, callbacks=[_TqdmProgress(steps, f"{spec.source} evaluator", progress)])
    if classifier:
        logits = _batched(model, test.images, 500)
        quality = {"test_accuracy": float((logits.argmax(axis=1) == test.labels).mean())}
    else:
        reconstruction = _batched(model, test.images, 500)
        quality = {"test_mse": float(np.mean((reconstruction - test.images) ** 2))}
    with atomic_path(directory / "evaluator.keras", suffix=".keras") as tmp:
        model.save(tmp)
    identity = evaluator_identity(definition, data_identity(spec), data_digest(train, test), model.get_weights())
    info = {"data": data_identity(spec), "definition": definition, "id": identity,
            "sha256": _sha256(directory / "evaluator.keras"),
            "train_images": len(train.images), "test_images": len(test.images), "test_description": test.description,
            **quality, "floors": {}}
    evaluator = Evaluator(model, info, directory)
    size = min(MAX_FLOOR_N, len(test.images))
    evaluator.floor(size, size, "test")  # writes evaluator.json, which marks the cache complete
    echo(f"{spec.source} evaluator: " + ", ".join(f"{k} {v:.4f}" for k, v in quality.items()))
    return evaluator
