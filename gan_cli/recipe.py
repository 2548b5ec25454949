"""Recipes: the YAML schema, loading with ``extends:`` and ``--set`` overrides, and strict validation.

A recipe is a YAML mapping with the sections ``data``, ``generator``, ``discriminator``, ``loss``,
``optimizers``, ``train``, ``sampling`` and ``checkpoints``. Every default lives in the dataclasses
below, and they are the Keras MNIST GAN tutorial's settings, so a recipe states only what differs.
Loading is strict: an unknown key, a wrong type, an out-of-range value or an unknown name fails with
one line naming the file, the key path, the bad value and the valid choices. This module never
imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from gan_cli.errors import RecipeError

DataSource = Literal["digits", "mnist", "fashion_mnist", "cifar10", "npz", "idx", "folder", "paired_folder",
                     "unpaired_folder"]
Architecture = Literal["mlp", "dcgan", "layers", "unet", "resnet", "patchgan"]
TaskName = Literal["edges", "lowres", "thicken"]
ActivationName = Literal["leaky_relu", "relu", "elu", "tanh", "sigmoid", "linear"]
LossName = Literal["bce", "least_squares", "wasserstein", "hinge"]
OptimizerName = Literal["adam", "rmsprop", "sgd"]
FamilyName = Literal["gan", "cgan", "infogan", "pix2pix", "cyclegan"]

#: Families that translate images (A -> B) instead of generating them from noise.
TRANSLATION_FAMILIES = ("pix2pix", "cyclegan")
#: Architectures of the image-to-image networks, by role.
TRANSLATION_GENERATORS = ("unet", "resnet")
TRANSLATION_DISCRIMINATORS = ("patchgan",)


def _range(default: Any, low: float | None = None, high: float | None = None, *,
           high_open: bool = False, doc: str = "") -> Any:
    """A dataclass field with a default, an allowed range and a one-line description."""
    return field(default=default,
                 metadata={"low": low, "high": high, "high_open": high_open, "doc": doc})


def _doc(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


def _required(doc: str, low: float | None = None) -> Any:
    return field(metadata={"doc": doc, "low": low})


# --------------------------------------------------------------------------------------------------
# Explicit layer lists (architecture: layers)


@dataclass(frozen=True)
class DenseLayer:
    """``{type: dense, units: 256}``: a fully connected layer (input is flattened first if needed)."""

    units: int = _required("number of output units", low=1)
    activation: ActivationName | None = _doc(None, "activation applied by the layer itself")
    kernel_stddev: float | None = _range(None, 0.0, doc="RandomNormal(stddev) kernel; null = Keras default")
    use_bias: bool = _doc(True, "add a bias vector")


@dataclass(frozen=True)
class Conv2DLayer:
    """``{type: conv2d, filters: 64, strides: 2}``: a 2-D convolution."""

    filters: int = _required("number of output channels", low=1)
    kernel_size: int = _range(5, 1, doc="square kernel size")
    strides: int = _range(1, 1, doc="stride in both directions")
    padding: Literal["same", "valid"] = _doc("same", "padding mode")
    activation: ActivationName | None = _doc(None, "activation applied by the layer itself")
    kernel_stddev: float | None = _range(None, 0.0, doc="RandomNormal(stddev) kernel; null = Keras default")
    use_bias: bool = _doc(True, "add a bias vector")


@dataclass(frozen=True)
class Conv2DTransposeLayer(Conv2DLayer):
    """``{type: conv2d_transpose, filters: 64, strides: 2}``: a transposed (up-sampling) convolution."""


@dataclass(frozen=True)
class ReshapeLayer:
    """``{type: reshape, target_shape: [7, 7, 128]}``: reshape to the given shape (batch excluded)."""

    target_shape: tuple[int, ...] = _required("shape without the batch dimension", low=1)


@dataclass(frozen=True)
class FlattenLayer:
    """``{type: flatten}``: flatten to one dimension."""


@dataclass(frozen=True)
class ActivationLayer:
    """``{type: activation, name: relu}``: an activation as its own layer."""

    name: ActivationName = _required("activation function")
    negative_slope: float = _range(0.2, 0.0, doc="slope for x < 0 when name is leaky_relu")


@dataclass(frozen=True)
class DropoutLayer:
    """``{type: dropout, rate: 0.3}``: dropout (active only while that network trains)."""

    rate: float = _range(0.3, 0.0, 1.0, high_open=True, doc="fraction of units dropped")


@dataclass(frozen=True)
class BatchNormLayer:
    """``{type: batch_norm}``: batch normalization."""

    momentum: float = _range(0.99, 0.0, 1.0, high_open=True, doc="moving-average momentum")


@dataclass(frozen=True)
class UpSamplingLayer:
    """``{type: upsampling, size: 2}``: nearest-neighbour up-sampling."""

    size: int = _range(2, 1, doc="integer scale factor")


LAYER_TYPES: dict[str, type] = {
    "dense": DenseLayer,
    "conv2d": Conv2DLayer,
    "conv2d_transpose": Conv2DTransposeLayer,
    "reshape": ReshapeLayer,
    "flatten": FlattenLayer,
    "activation": ActivationLayer,
    "dropout": DropoutLayer,
    "batch_norm": BatchNormLayer,
    "upsampling": UpSamplingLayer,
}

LayerSpec = (DenseLayer | Conv2DLayer | ReshapeLayer | FlattenLayer | ActivationLayer | DropoutLayer
             | BatchNormLayer | UpSamplingLayer)


# --------------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True)
class DataSpec:
    """Where the training images come from and how they are prepared."""

    source: DataSource = _doc("mnist", "data source")
    path: str | None = _doc(None, "file or folder for npz/idx/folder sources, or local files for "
                                  "mnist/fashion_mnist/cifar10 (an .npz or a folder of IDX .gz files)")
    split: Literal["train", "test"] = _doc("train", "which split to train on")
    x_key: str | None = _doc(None, "npz key of the images (default x_train, else x)")
    y_key: str | None = _doc(None, "npz key of the labels (default y_train, else y; optional)")
    image_size: tuple[int, int] | None = _range(None, 1, doc="resize images to [height, width], e.g. 32x32")
    channels: Literal[1, 3] | None = _doc(None, "convert images to 1 (grey) or 3 (RGB) channels")
    limit: int | None = _range(None, 1, doc="use only the first N images")
    task: TaskName | None = _doc(None, "offline translation task made from the source's images: edges (A = edge "
                                       "map, B = image), lowres (A = 4x downsampled and enlarged again, B = "
                                       "image) or thicken (A = image, B = strokes dilated); pix2pix/cyclegan")
    direction: Literal["a2b", "b2a"] = _doc("a2b", "translate A to B, or swap the domains (b2a)")
    crop_size: tuple[int, int] | None = _range(None, 1, doc="random [height, width] crop of each training image "
                                                            "(pair) after image_size; null = none")
    flip: bool = _doc(False, "random horizontal flips of training images (pairs flip together)")


@dataclass(frozen=True)
class NetSpec:
    """Fields shared by the generator and the discriminator."""

    architecture: Architecture = _doc("mlp", "network builder")
    widths: tuple[int, ...] = _range((1024, 512, 256), 1, doc="hidden layer sizes (mlp) or channels "
                                                               "per stage (dcgan)")
    activation: ActivationName = _doc("leaky_relu", "hidden activation")
    negative_slope: float = _range(0.2, 0.0, doc="slope for x < 0 of leaky_relu")
    dropout: float = _range(0.0, 0.0, 1.0, high_open=True, doc="dropout rate after each hidden layer")
    batch_norm: bool = _doc(False, "batch normalization after each hidden layer (dcgan: all but the "
                                   "discriminator's first)")
    kernel_size: int = _range(5, 1, doc="convolution kernel size (dcgan)")
    kernel_stddev: float | None = _range(0.02, 0.0, doc="RandomNormal(stddev) kernel initializer; "
                                                        "null = Keras default (glorot_uniform)")
    kernel_stddev_layers: Literal["first", "all"] = _doc("first", "which layers get kernel_stddev")
    output_activation: ActivationName = _doc("sigmoid", "activation of the output layer")
    spectral_norm: bool = _doc(False, "wrap every Dense/Conv kernel in keras.layers.SpectralNormalization")
    norm: Literal["batch", "instance", "none"] = _doc("batch", "normalization inside unet/resnet/patchgan "
                                                               "networks (instance: per image, as CycleGAN)")
    layers: tuple[LayerSpec, ...] | None = _doc(None, "explicit layer list (architecture: layers)")


@dataclass(frozen=True)
class GeneratorSpec(NetSpec):
    """The generator G: latent vector z -> image."""

    latent_dim: int = _range(100, 1, doc="size of the latent vector z ~ N(0, 1)")
    widths: tuple[int, ...] = _range((256, 512, 1024), 1, doc="hidden layer sizes (mlp) or channels "
                                                               "per stage (dcgan)")
    output_activation: ActivationName = _doc("tanh", "activation of the output layer")
    res_blocks: int = _range(9, 1, doc="resnet: residual blocks between down- and up-sampling")


@dataclass(frozen=True)
class DiscriminatorSpec(NetSpec):
    """The discriminator D: image -> probability that it is real."""

    dropout: float = _range(0.3, 0.0, 1.0, high_open=True, doc="dropout rate after each hidden layer")
    clip_value: float | None = _range(None, 0.0, doc="WGAN weight clipping: after each update every D weight "
                                                     "is clipped to [-c, c]; null = off")
    scales: int = _range(1, 1, doc="patchgan: discriminators at image scales 1, 1/2, 1/4, ... (pix2pixHD)")


@dataclass(frozen=True)
class LossSpec:
    """The adversarial loss both compiled models use."""

    name: LossName = _doc("bce", "bce (binary cross-entropy), least_squares (LSGAN), wasserstein (WGAN critic) "
                                 "or hinge (SNGAN)")
    label_smoothing: float = _range(0.1, 0.0, 0.5, doc="one-sided: real targets are "
                                                       "1 - label_smoothing, fake targets stay 0 (bce, least_squares)")
    gradient_penalty: float = _range(0.0, 0.0, doc="WGAN-GP weight λ of (||∇D(x̂)|| - 1)² at random "
                                                   "interpolates of real and fake images; 0 = off")


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer; parameters left null take Keras' defaults."""

    name: OptimizerName = _doc("adam", "optimizer")
    learning_rate: float = _range(2e-4, 0.0, doc="learning rate")
    beta_1: float | None = _range(0.5, 0.0, 1.0, high_open=True, doc="adam: first-moment decay")
    beta_2: float | None = _range(None, 0.0, 1.0, high_open=True, doc="adam: second-moment decay")
    momentum: float | None = _range(None, 0.0, 1.0, high_open=True, doc="rmsprop/sgd: momentum")
    rho: float | None = _range(None, 0.0, 1.0, high_open=True, doc="rmsprop: decay of the average")


OPTIMIZER_PARAMS: dict[str, frozenset[str]] = {
    "adam": frozenset({"beta_1", "beta_2"}),
    "rmsprop": frozenset({"momentum", "rho"}),
    "sgd": frozenset({"momentum"}),
}


@dataclass(frozen=True)
class OptimizersSpec:
    """One optimizer per compiled model (Keras 3 optimizers bind to one variable set)."""

    generator: OptimizerSpec = _doc(OptimizerSpec(), "updates G through the combined model")
    discriminator: OptimizerSpec = _doc(OptimizerSpec(), "updates D")


@dataclass(frozen=True)
class TrainSpec:
    """How long and in what batches to train."""

    epochs: int = _range(400, 1, doc="number of epochs (an epoch is N // batch_size steps)")
    steps: int | None = _range(None, 1, doc="optional cap on the total number of steps")
    batch_size: int = _range(128, 1, doc="real images per step (D sees as many fakes too)")
    d_steps: int = _range(1, 1, doc="discriminator (critic) updates per generator update, each on its own "
                                    "real batch (WGAN's n_critic); an epoch is N // (batch_size x d_steps) steps")
    precision: Literal["auto", "float32", "mixed_bfloat16"] = _doc(
        "auto", "float32, or mixed_bfloat16 (variables float32, layers computed in bfloat16); auto picks "
                "mixed_bfloat16 where this device's bfloat16 matmuls measure 1.25x faster, once per device")
    distribute: Literal["none", "mirrored", "multi_worker"] = _doc(
        "none", "tf.distribute: mirrored = every local GPU (or GAN_LOGICAL_CPUS logical CPUs); multi_worker = "
                "MultiWorkerMirroredStrategy from TF_CONFIG; batch_size is then per replica")
    steps_per_call: int = _range(1, 1, doc="GAN steps unrolled into one traced call: 10 measured 7-12% faster "
                                           "per step than 1, but tracing them costs ~5 s once; for long runs")
    jit_compile: bool = _doc(False, "XLA-compile each fused GAN step; off by default because on the 2-core CPU it "
                                    "measured 3-6x slower (DESIGN.md); try it on a GPU")
    batch_selection: Literal["random", "shuffle"] = _doc(
        "random", "random: indices drawn with replacement each step (the tutorial); "
                  "shuffle: a new permutation each epoch")


@dataclass(frozen=True)
class SamplingSpec:
    """Sample grids written during training, from one fixed latent batch."""

    grid: tuple[int, int] = _range((10, 10), 1, doc="rows x columns, e.g. 10x10")
    every_epochs: int = _range(20, 1, doc="write a grid at epoch 1, every N epochs and at the end")
    invert: bool = _doc(False, "dark ink on white (matplotlib's gray_r), as the tutorial shows them")
    upscale: int | None = _range(None, 1, doc="pixel repeat factor; null = enough for 28-pixel cells")


@dataclass(frozen=True)
class CheckpointSpec:
    """When to checkpoint and how many checkpoints to keep."""

    every_epochs: int = _range(1, 1, doc="checkpoint every N epochs (and always at the end)")
    keep: int = _range(3, 1, doc="keep the last K checkpoints")


@dataclass(frozen=True)
class ConditionSpec:
    """How a conditional GAN (``family: cgan``) feeds the class label to G and D."""

    mode: Literal["one_hot", "embedding"] = _doc("one_hot", "one_hot: G gets z ++ one-hot(y), D gets one "
                                                             "constant channel per class; embedding: a learned "
                                                             "embedding, for D as one extra image-sized channel")
    embedding_dim: int = _range(16, 1, doc="size of the label embedding (mode: embedding)")


@dataclass(frozen=True)
class InfoSpec:
    """InfoGAN's latent codes (``family: infogan``): G(z, c) and a Q head on D's body that recovers c."""

    categorical: int = _range(10, 2, doc="values of the categorical code c1 (one-hot)")
    continuous: int = _range(2, 0, doc="number of continuous codes c2, c3, ... ~ U(-1, 1)")
    weight: float = _range(1.0, 0.0, doc="lambda of the mutual-information term in G's (and Q's) loss")
    continuous_weight: float = _range(0.1, 0.0, doc="weight of the continuous codes' squared error inside it")


@dataclass(frozen=True)
class TranslationSpec:
    """The image-to-image losses (``family: pix2pix`` or ``cyclegan``) beside the adversarial one."""

    adversarial_weight: float = _range(1.0, 0.0, doc="weight of the adversarial term in the generators' loss "
                                                     "(0 = a U-Net trained on L1 alone, the usual baseline)")
    l1_weight: float = _range(100.0, 0.0, doc="pix2pix: lambda of |G(A) - B|, the L1 distance to the true B")
    cycle_weight: float = _range(10.0, 0.0, doc="cyclegan: lambda of |F(G(A)) - A| and |G(F(B)) - B|")
    identity_weight: float = _range(0.5, 0.0, doc="cyclegan: weight of |G(B) - B| and |F(A) - A| as a "
                                                  "fraction of cycle_weight")
    feature_matching_weight: float = _range(0.0, 0.0, doc="pix2pixHD: lambda of the L1 distance between D's "
                                                          "features of real and generated pairs; 0 = off")
    pool_size: int = _range(50, 0, doc="cyclegan: generated images each discriminator also sees from a "
                                       "history pool; 0 = off")
    decay_from: float = _range(0.5, 0.0, 1.0, doc="learning rates decay linearly to 0 from this fraction of "
                                                  "train.epochs to its end (train.steps does not move it); "
                                                  "1 = constant")


@dataclass(frozen=True)
class EvalSpec:
    """Evaluation during training (``gan eval``'s evaluator and Fréchet distance, every N epochs)."""

    every: int | None = _range(None, 1, doc="evaluate every N epochs (and at the end); null = never")
    n: int = _range(2000, 10, doc="generated images per evaluation (real images: as many, or the split's size)")
    against: Literal["test", "train"] = _doc("test", "real split to compare with")


@dataclass(frozen=True)
class HealthSpec:
    """Thresholds of the training-health monitor (warnings only; training goes on)."""

    diversity_ratio: float = _range(0.25, 0.0, 1.0, doc="warn of mode collapse when the fixed samples' mean "
                                                        "pairwise distance falls below this fraction of real images'")
    label_kl: float = _range(0.5, 0.0, doc="warn of mode collapse when KL(real || fake) of the evaluator's label "
                                           "histogram exceeds this (needs eval.every)")
    warmup_steps: int = _range(500, 0, doc="no mode-collapse warning before this step, unless the sample "
                                           "diversity fell from a healthy value (fresh generators look alike)")
    saturation_steps: int = _range(200, 1, doc="warn of discriminator saturation after this many consecutive steps "
                                               "with D(x) > 0.9 x its real target and D(G(z)) < 0.05")


@dataclass(frozen=True)
class Recipe:
    """A complete, validated training recipe."""

    name: str = field(default="", metadata={
        "doc": "run name, letters, digits, '.', '_', '-' (default: the recipe file's stem)",
        "pattern": r"([A-Za-z0-9_][A-Za-z0-9_.-]*)?"})
    seed: int = _range(0, 0, 2**32 - 1, doc="seed for weights, data order, noise and dropout")
    family: FamilyName = _doc("gan", "gan: G(z) and D(x); cgan: G(z, y) and D(x, y) conditioned on the class label; "
                                     "infogan: G(z, c) with latent codes c recovered by a Q head; pix2pix: "
                                     "paired A -> B translation; cyclegan: unpaired A <-> B translation")
    data: DataSpec = _doc(DataSpec(), "training data")
    generator: GeneratorSpec = _doc(GeneratorSpec(), "generator network")
    discriminator: DiscriminatorSpec = _doc(DiscriminatorSpec(), "discriminator network")
    loss: LossSpec = _doc(LossSpec(), "adversarial loss")
    optimizers: OptimizersSpec = _doc(OptimizersSpec(), "optimizers")
    train: TrainSpec = _doc(TrainSpec(), "training length and batches")
    sampling: SamplingSpec = _doc(SamplingSpec(), "sample grids written during training")
    checkpoints: CheckpointSpec = _doc(CheckpointSpec(), "checkpoints")
    condition: ConditionSpec = _doc(ConditionSpec(), "label conditioning (family: cgan)")
    info: InfoSpec = _doc(InfoSpec(), "latent codes (family: infogan)")
    translation: TranslationSpec = _doc(TranslationSpec(), "image-to-image losses (family: pix2pix, cyclegan)")
    eval: EvalSpec = _doc(EvalSpec(), "evaluation during training")
    health: HealthSpec = _doc(HealthSpec(), "training-health warnings")


#: Keys that ``gan train RUN --resume --set ...`` may change; everything else must match the run.
RESUMABLE_KEYS = ("train.epochs", "train.steps", "sampling.", "checkpoints.", "eval.", "health.")


# --------------------------------------------------------------------------------------------------
# Loading


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Load, merge (``extends:``), override (``--set``) and validate a recipe file.

    Args:
        path: the recipe's YAML file.
        overrides: ``KEY=VALUE`` strings; KEY is a dotted path, VALUE is parsed as YAML.

    Returns:
        The validated, frozen Recipe.

    Raises:
        RecipeError: one line naming the file (or the ``--set``), key path, bad value and choices.
    """
    path = Path(path)
    origins = _Origins()
    raw = _load_with_extends(path, origins, chain=())
    for text in overrides:
        _apply_override(raw, text, origins)
    stem = path.stem if path.name != "recipe.yaml" else path.resolve().parent.name
    raw.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".-"))
    return _convert_section(Recipe, raw, "", _Context(str(path), origins))


def parse_recipe(data: Mapping[str, Any], source: str = "<recipe>") -> Recipe:
    """Validate an already-parsed recipe mapping (no ``extends:``). Raises RecipeError."""
    return _convert_section(Recipe, dict(data), "", _Context(source, _Origins()))


def recipe_to_dict(recipe: Any) -> dict[str, Any]:
    """The recipe as plain YAML-able data (tuples become lists, layer specs gain their ``type``)."""
    return typing.cast(dict[str, Any], _to_plain(recipe))


def dump_recipe(recipe: Recipe) -> str:
    """The fully resolved recipe as YAML text; loading it gives back an equal Recipe."""
    return yaml.safe_dump(recipe_to_dict(recipe), sort_keys=False, default_flow_style=None)


def changed_keys(old: Recipe, new: Recipe) -> list[str]:
    """Dotted keys whose values differ between two recipes."""
    flat_old, flat_new = _flatten(recipe_to_dict(old)), _flatten(recipe_to_dict(new))
    return sorted(k for k in flat_old.keys() | flat_new.keys() if flat_old.get(k) != flat_new.get(k))


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for type_name, cls in LAYER_TYPES.items():
            if type(value) is cls:
                plain = {"type": type_name, **plain}
        return plain
    if isinstance(value, (tuple, list)):
        return [_to_plain(v) for v in value]
    return value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except IsADirectoryError:
        raise RecipeError(f"{path}: is a directory, not a recipe file") from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a text file (recipes are UTF-8 YAML)") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a yaml.SafeLoader that also refuses duplicate keys
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise RecipeError(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping of sections, got "
                          f"{type(data).__name__}")
    return data


class _Origins:
    """Which file or ``--set`` last wrote each dotted key, and the order those sources were applied."""

    def __init__(self) -> None:
        self.where: dict[str, str] = {}
        self.rank: dict[str, int] = {}

    def record(self, key: str, source: str) -> None:
        self.rank.setdefault(source, len(self.rank))
        self.where[key] = source

    def rank_of(self, key: str) -> int:
        """Application order of the source that set ``key``; -1 for a schema default."""
        return self.rank[self.where[key]] if key in self.where else -1


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, but a key given twice in one mapping is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_with_extends(path: Path, origins: _Origins, chain: tuple[Path, ...]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise RecipeError(f"{path}: extends: recipes extend each other in a cycle ({cycle})")
    data = _read_yaml(path)
    base_name = data.pop("extends", None)
    merged: dict[str, Any] = {}
    if base_name is not None:
        if not isinstance(base_name, str):
            raise RecipeError(f"{path}: extends: expected a path to another recipe, got {base_name!r}")
        base_path = (path.parent / base_name) if not Path(base_name).is_absolute() else Path(base_name)
        if not base_path.is_file():
            raise RecipeError(f"{path}: extends: {base_name!r} not found (looked for {base_path}; "
                              "paths are relative to the recipe that extends)")
        merged = _load_with_extends(base_path, origins, (*chain, resolved))
    _deep_merge(merged, data, origins, str(path), "")
    return merged


def _deep_merge(into: dict[str, Any], update: Mapping[str, Any], origins: _Origins,
                origin: str, prefix: str) -> None:
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value, origins, origin, f"{dotted}.")
        else:
            into[key] = _copy_plain(value)
            origins.record(dotted, origin)


def _copy_plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_plain(v) for v in value]
    return value


def _apply_override(raw: dict[str, Any], text: str, origins: _Origins) -> None:
    key, sep, value_text = text.partition("=")
    key = key.strip()
    origin = f"--set {text}"
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise RecipeError(f"--set {text!r}: expected KEY=VALUE with a dotted key, "
                          "e.g. --set train.batch_size=64")
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError:
        value = value_text
    node = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise RecipeError(f"{origin}: {'.'.join(parts[: i + 1])} is a value, not a section, so it "
                              f"has no key {parts[i + 1]!r}")
        node = child
    if isinstance(value, Mapping) and isinstance(node.get(parts[-1]), dict):
        _deep_merge(node[parts[-1]], value, origins, origin, f"{key}.")
    else:
        node[parts[-1]] = value
        origins.record(key, origin)


# --------------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class _Context:
    file: str
    origins: _Origins

    def fail(self, key: str, problem: str) -> RecipeError:
        origin = self.file
        probe = key
        while probe:
            if probe in self.origins.where:
                origin = self.origins.where[probe]
                if origin.startswith("--set"):
                    origin = f"{self.file} ({origin})"
                break
            probe = re.sub(r"(\[\d+\]|\.?[^.\[]*)$", "", probe)
        return RecipeError(f"{origin}: {key or '<top level>'}: {problem}")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(bad: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(bad), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _convert_section(cls: type, raw: Any, path: str, ctx: _Context) -> Any:
    if not isinstance(raw, Mapping):
        raise ctx.fail(path.rstrip("."), f"expected a mapping of keys, got {_describe(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            valid = ", ".join(fields)
            raise ctx.fail(f"{path}{key}", f"unknown key{_suggest(str(key), list(fields))}; "
                                           f"valid keys here: {valid}")
    values: dict[str, Any] = {}
    for name, fld in fields.items():
        key = f"{path}{name}"
        if name in raw:
            values[name] = _convert(raw[name], hints[name], key, fld.metadata, ctx)
        elif fld.default is dataclasses.MISSING:
            raise ctx.fail(key, f"missing; {fld.metadata.get('doc', 'required')}")
    if cls is OptimizerSpec:
        _check_optimizer_params(values, raw, path, ctx)
    if cls is LossSpec and values.get("name") in ("wasserstein", "hinge"):
        smoothing = values.get("label_smoothing", 0.0)
        set_with_name = ctx.origins.rank_of(f"{path}label_smoothing") >= ctx.origins.rank_of(f"{path}name")
        if smoothing and "label_smoothing" in raw and set_with_name:
            raise ctx.fail(f"{path}label_smoothing", f"does not apply to {values['name']} (its targets are ±1); "
                                                     "remove it or set it to 0")
        values["label_smoothing"] = 0.0
    if issubclass(cls, NetSpec) and values.get("layers") and values.get("architecture", "mlp") != "layers":
        raise ctx.fail(f"{path}layers", "is only used with architecture: layers; set "
                                        f"{path}architecture: layers, or remove {path}layers")
    if issubclass(cls, NetSpec) and values.get("architecture") == "layers" and not values.get("layers"):
        raise ctx.fail(f"{path}layers", "architecture 'layers' needs a list of layers, "
                                        "e.g. [{type: dense, units: 256}, {type: activation, name: relu}]")
    if cls is Recipe:
        _check_family(values, ctx)
    return cls(**values)


def _check_family(values: dict[str, Any], ctx: _Context) -> None:
    """Translation families need image-to-image networks and paired or unpaired data; the others must not
    have them."""
    family = values.get("family", "gan")
    data = values.get("data", DataSpec())
    generator = values.get("generator", GeneratorSpec())
    discriminator = values.get("discriminator", DiscriminatorSpec())
    translation_data = data.task is not None or data.source in ("paired_folder", "unpaired_folder")
    if family in TRANSLATION_FAMILIES:
        if generator.architecture not in TRANSLATION_GENERATORS:
            raise ctx.fail("generator.architecture", f"family {family} needs an image-to-image generator: "
                                                     f"{' or '.join(TRANSLATION_GENERATORS)}")
        if discriminator.architecture not in TRANSLATION_DISCRIMINATORS:
            raise ctx.fail("discriminator.architecture", f"family {family} needs discriminator.architecture: "
                                                         "patchgan")
        if not translation_data:
            raise ctx.fail("data", f"family {family} translates images: set data.task (edges, lowres, thicken) "
                                   "or data.source: paired_folder / unpaired_folder")
        if family == "pix2pix" and data.source == "unpaired_folder":
            raise ctx.fail("data.source", "pix2pix needs paired images (paired_folder or data.task); "
                                          "use family: cyclegan for unpaired folders")
        if values.get("train", TrainSpec()).d_steps != 1:
            raise ctx.fail("train.d_steps", f"family {family} updates each discriminator once per step; set it to 1")
        if values.get("loss", LossSpec()).gradient_penalty > 0:
            raise ctx.fail("loss.gradient_penalty", f"not supported with family {family}; set it to 0")
        if values.get("train", TrainSpec()).distribute != "none":
            raise ctx.fail("train.distribute", f"not supported with family {family} yet; set it to none")
        return
    if values.get("train", TrainSpec()).distribute != "none" and discriminator.clip_value is not None:
        raise ctx.fail("train.distribute", "not supported with discriminator.clip_value (WGAN weight clipping) "
                                           "yet; use loss.gradient_penalty, or distribute: none")
    for role, spec in (("generator", generator), ("discriminator", discriminator)):
        if spec.architecture in TRANSLATION_GENERATORS + TRANSLATION_DISCRIMINATORS:
            raise ctx.fail(f"{role}.architecture", f"{spec.architecture} is an image-to-image network; use it "
                                                   "with family: pix2pix or cyclegan")
    if translation_data:
        key = "data.task" if data.task is not None else "data.source"
        raise ctx.fail(key, f"translation data needs family: pix2pix or cyclegan (family is {family})")


def _check_optimizer_params(values: dict[str, Any], raw: Mapping[str, Any], path: str,
                            ctx: _Context) -> None:
    """Parameters of another optimizer are an error when set together with or after the optimizer's
    name, and dropped (null) when they are defaults or were inherited from before the name changed."""
    name = values.get("name", OptimizerSpec.name)
    allowed = OPTIMIZER_PARAMS[name]
    name_rank = ctx.origins.rank_of(f"{path}name")
    for param in ("beta_1", "beta_2", "momentum", "rho"):
        if param in allowed:
            continue
        if raw.get(param) is not None and ctx.origins.rank_of(f"{path}{param}") >= name_rank:
            takes = ", ".join(sorted(allowed | {"learning_rate"}))
            raise ctx.fail(f"{path}{param}", f"does not apply to {name} (it takes {takes}); "
                                             "remove it or set it to null")
        values[param] = None


def _convert(value: Any, tp: Any, key: str, meta: Mapping[str, Any], ctx: _Context) -> Any:
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None and len(options) < len(args):
            return None
        if len(options) == 1:
            return _convert(value, options[0], key, meta, ctx)
        raise ctx.fail(key, "internal schema error: ambiguous union")  # pragma: no cover
    if value is None:
        raise ctx.fail(key, f"must not be null; {meta.get('doc', '')}".rstrip("; "))
    if origin is Literal:
        if value in args and type(value) is type(args[0]):
            return value
        choices = ", ".join(str(a) for a in args)
        return_hint = _suggest(str(value), [str(a) for a in args])
        raise ctx.fail(key, f"unknown value {_describe(value)}{return_hint}; valid choices: {choices}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _convert_section(tp, value, f"{key}.", ctx)
    if origin is tuple:
        return _convert_tuple(value, args, key, meta, ctx)
    return _convert_scalar(value, tp, key, meta, ctx)


def _convert_tuple(value: Any, args: tuple[Any, ...], key: str, meta: Mapping[str, Any],
                   ctx: _Context) -> tuple[Any, ...]:
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*[xX×]\s*\d+\s*", value) and len(args) == 2:
        value = [int(v) for v in re.split(r"[xX×]", value)]
    if isinstance(value, int) and not isinstance(value, bool) and args[-1] is Ellipsis:
        value = [value]
    if not isinstance(value, list):
        expected = f"a list of {len(args)} like [10, 10] or 10x10" if args[-1] is not Ellipsis else "a list"
        raise ctx.fail(key, f"expected {expected}, got {_describe(value)}")
    if args[-1] is Ellipsis:
        if args[0] == LayerSpec:
            if not value:
                raise ctx.fail(key, "expected at least one layer")
            return tuple(_convert_layer(v, f"{key}[{i}]", ctx) for i, v in enumerate(value))
        if not value:
            raise ctx.fail(key, "expected a non-empty list")
        return tuple(_convert(v, args[0], f"{key}[{i}]", meta, ctx) for i, v in enumerate(value))
    if len(value) != len(args):
        raise ctx.fail(key, f"expected a list of {len(args)} values, got {_describe(value)}")
    return tuple(_convert(v, a, f"{key}[{i}]", meta, ctx) for i, (v, a) in enumerate(zip(value, args)))


def _convert_layer(value: Any, key: str, ctx: _Context) -> Any:
    if not isinstance(value, Mapping) or "type" not in value:
        raise ctx.fail(key, f"expected a mapping with a 'type' key (one of {', '.join(LAYER_TYPES)}), "
                            f"got {_describe(value)}")
    kind = value["type"]
    if kind not in LAYER_TYPES:
        raise ctx.fail(f"{key}.type", f"unknown layer type {_describe(kind)}{_suggest(str(kind), list(LAYER_TYPES))}; "
                                      f"valid choices: {', '.join(LAYER_TYPES)}")
    rest = {k: v for k, v in value.items() if k != "type"}
    return _convert_section(LAYER_TYPES[kind], rest, f"{key}.", ctx)


def _convert_scalar(value: Any, tp: Any, key: str, meta: Mapping[str, Any], ctx: _Context) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ctx.fail(key, f"expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ctx.fail(key, f"expected an integer, got {_describe(value)}")
        value = int(value)
    elif tp is float:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)  # YAML reads 2e-4 (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ctx.fail(key, f"expected a number, got {_describe(value)}")
        value = float(value)
        if not math.isfinite(value):
            raise ctx.fail(key, f"expected a finite number, got {_describe(value)}")
    elif tp is str:
        if not isinstance(value, str):
            raise ctx.fail(key, f"expected a string, got {_describe(value)}")
        pattern = meta.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ctx.fail(key, f"{_describe(value)} is not allowed; use {meta.get('doc', pattern)}")
        return value
    low, high = meta.get("low"), meta.get("high")
    if low is not None and value < low:
        raise ctx.fail(key, f"{_describe(value)} is out of range; expected {_range_text(meta)}")
    if high is not None and (value > high or (meta.get("high_open") and value >= high)):
        raise ctx.fail(key, f"{_describe(value)} is out of range; expected {_range_text(meta)}")
    return value


def _range_text(meta: Mapping[str, Any]) -> str:
    low, high = meta.get("low"), meta.get("high")
    if high is None:
        return f"a value >= {low}"
    return f"a value in [{low}, {high}{')' if meta.get('high_open') else ']'}"


def schema_fields(cls: type = Recipe, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """Every recipe key as (dotted key, type text, default, description), for docs and tests."""
    rows: list[tuple[str, str, Any, str]] = []
    hints = typing.get_type_hints(cls)
    for fld in dataclasses.fields(cls):
        key = f"{prefix}{fld.name}"
        tp = hints[fld.name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            rows.extend(schema_fields(tp, f"{key}."))
            continue
        default = fld.default if fld.default is not dataclasses.MISSING else "(required)"
        rows.append((key, _type_text(tp), _to_plain(default), fld.metadata.get("doc", "")))
    return rows


def _type_text(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin is tuple:
        if args and args[-1] is Ellipsis:
            inner = "layer" if args[0] == LayerSpec else _type_text(args[0])
            return f"list of {inner}"
        return "[" + ", ".join(_type_text(a) for a in args) + "]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))
