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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from gan_cli.errors import OverrideSyntaxError, RecipeError
from gan_cli.recipe import shipped as shipped_recipes
from gan_cli.recipe.shipped import MAX_NAME_LENGTH

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


#: Upper bounds of sizes: generous for real use, but they keep a typo (10**12) from reaching the builders.
MAX_IMAGE_SIDE = 4096
MAX_WIDTH = 65536  # channels, hidden units, latent and embedding sizes, batch size
MAX_UNITS = 2**26  # one dense layer's units or one reshape dimension (an MLP's output is a whole image)
MAX_KERNEL = 64  # kernel sizes, strides, up-sampling factors
MAX_EPOCHS = 1_000_000
MAX_STEPS = 10**9
MAX_DESCRIPTION_LENGTH = 300  # one line of `gan recipes list`


def _range(default: Any, low: float | None = None, high: float | None = None, *,
           high_open: bool = False, doc: str = "") -> Any:
    """A dataclass field with a default, an allowed range and a one-line description."""
    return field(default=default,
                 metadata={"low": low, "high": high, "high_open": high_open, "doc": doc})


def _doc(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


def _required(doc: str, low: float | None = None, high: float | None = None) -> Any:
    return field(metadata={"doc": doc, "low": low, "high": high})


# --------------------------------------------------------------------------------------------------
# Explicit layer lists (architecture: layers)


@dataclass(frozen=True)
class DenseLayer:
    """``{type: dense, units: 256}``: a fully connected layer (input is flattened first if needed)."""

    units: int = _required("number of output units", low=1, high=MAX_UNITS)
    activation: ActivationName | None = _doc(None, "activation applied by the layer itself")
    kernel_stddev: float | None = _range(None, 0.0, doc="RandomNormal(stddev) kernel; null = Keras default")
    use_bias: bool = _doc(True, "add a bias vector")


@dataclass(frozen=True)
class Conv2DLayer:
    """``{type: conv2d, filters: 64, strides: 2}``: a 2-D convolution."""

    filters: int = _required("number of output channels", low=1, high=MAX_WIDTH)
    kernel_size: int = _range(5, 1, MAX_KERNEL, doc="square kernel size")
    strides: int = _range(1, 1, MAX_KERNEL, doc="stride in both directions")
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

    target_shape: tuple[int, ...] = _required("shape without the batch dimension", low=1, high=MAX_UNITS)


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

    size: int = _range(2, 1, MAX_KERNEL, doc="integer scale factor")


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
    image_size: tuple[int, int] | None = _range(None, 1, MAX_IMAGE_SIDE,
                                                doc="resize images to [height, width], e.g. 32x32")
    channels: Literal[1, 3] | None = _doc(None, "convert images to 1 (grey) or 3 (RGB) channels")
    limit: int | None = _range(None, 1, MAX_STEPS, doc="use only the first N images")
    task: TaskName | None = _doc(None, "offline translation task made from the source's images: edges (A = edge "
                                       "map, B = image), lowres (A = 4x downsampled and enlarged again, B = "
                                       "image) or thicken (A = image, B = strokes dilated); pix2pix/cyclegan")
    direction: Literal["a2b", "b2a"] = _doc("a2b", "translate A to B, or swap the domains (b2a)")
    crop_size: tuple[int, int] | None = _range(None, 1, MAX_IMAGE_SIDE, doc="random [height, width] crop of each "
                                               "training image (pair) after image_size; null = none")
    flip: bool = _doc(False, "random horizontal flips of training images (pairs flip together)")


@dataclass(frozen=True)
class NetSpec:
    """Fields shared by the generator and the discriminator."""

    architecture: Architecture = _doc("mlp", "network builder")
    widths: tuple[int, ...] = _range((1024, 512, 256), 1, MAX_WIDTH, doc="hidden layer sizes (mlp) or channels "
                                                               "per stage (dcgan)")
    activation: ActivationName = _doc("leaky_relu", "hidden activation")
    negative_slope: float = _range(0.2, 0.0, doc="slope for x < 0 of leaky_relu")
    dropout: float = _range(0.0, 0.0, 1.0, high_open=True, doc="dropout rate after each hidden layer")
    batch_norm: bool = _doc(False, "batch normalization after each hidden layer (dcgan: all but the "
                                   "discriminator's first)")
    kernel_size: int = _range(5, 1, MAX_KERNEL, doc="convolution kernel size (dcgan)")
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

    latent_dim: int = _range(100, 1, MAX_WIDTH, doc="size of the latent vector z ~ N(0, 1)")
    widths: tuple[int, ...] = _range((256, 512, 1024), 1, MAX_WIDTH, doc="hidden layer sizes (mlp) or channels "
                                                               "per stage (dcgan)")
    output_activation: ActivationName = _doc("tanh", "activation of the output layer")
    res_blocks: int = _range(9, 1, 256, doc="resnet: residual blocks between down- and up-sampling")


@dataclass(frozen=True)
class DiscriminatorSpec(NetSpec):
    """The discriminator D: image -> probability that it is real."""

    dropout: float = _range(0.3, 0.0, 1.0, high_open=True, doc="dropout rate after each hidden layer")
    clip_value: float | None = _range(None, 0.0, doc="WGAN weight clipping: after each update every D weight "
                                                     "is clipped to [-c, c]; null = off")
    scales: int = _range(1, 1, 8, doc="patchgan: discriminators at image scales 1, 1/2, 1/4, ... (pix2pixHD)")


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

    epochs: int = _range(400, 1, MAX_EPOCHS, doc="number of epochs (an epoch is N // batch_size steps)")
    steps: int | None = _range(None, 1, MAX_STEPS, doc="optional cap on the total number of steps")
    batch_size: int = _range(128, 1, MAX_WIDTH, doc="real images per step (D sees as many fakes too)")
    d_steps: int = _range(1, 1, 100, doc="discriminator (critic) updates per generator update, each on its own "
                                    "real batch (WGAN's n_critic); an epoch is N // (batch_size x d_steps) steps")
    precision: Literal["auto", "float32", "mixed_bfloat16"] = _doc(
        "auto", "float32, or mixed_bfloat16 (variables float32, layers computed in bfloat16); auto picks "
                "mixed_bfloat16 where this device's bfloat16 matmuls measure 1.25x faster, once per device")
    distribute: Literal["none", "mirrored", "multi_worker", "tpu"] = _doc(
        "none", "tf.distribute: mirrored = every local GPU (or GAN_LOGICAL_CPUS logical CPUs); multi_worker = "
                "MultiWorkerMirroredStrategy from TF_CONFIG; tpu = TPUStrategy on this Cloud TPU VM's TPU (or "
                "the one named in TPU_NAME); batch_size is then per replica")
    steps_per_call: int = _range(1, 1, 100, doc="GAN steps unrolled into one traced call: 10 measured 7-12% faster "
                                           "per step than 1, but tracing them costs ~5 s once; for long runs")
    jit_compile: Literal["auto", True, False] = _doc(
        "auto", "XLA-compile each fused GAN step; auto times a small update with and without XLA once per "
                "device and compiles where XLA is 1.1x faster (off on the 2-core CPU, where it measured 11x "
                "slower); off under train.distribute")
    batch_selection: Literal["random", "shuffle"] = _doc(
        "random", "random: indices drawn with replacement each step (the tutorial); "
                  "shuffle: a new permutation each epoch")


@dataclass(frozen=True)
class SamplingSpec:
    """Sample grids written during training, from one fixed latent batch."""

    grid: tuple[int, int] = _range((10, 10), 1, 100, doc="rows x columns, e.g. 10x10")
    every_epochs: int = _range(20, 1, MAX_EPOCHS, doc="write a grid at epoch 1, every N epochs and at the end")
    invert: bool = _doc(False, "dark ink on white (matplotlib's gray_r), as the tutorial shows them")
    upscale: int | None = _range(None, 1, 64, doc="pixel repeat factor; null = enough for 28-pixel cells")


@dataclass(frozen=True)
class CheckpointSpec:
    """When to checkpoint and how many checkpoints to keep."""

    every_epochs: int = _range(1, 1, MAX_EPOCHS, doc="checkpoint every N epochs (and always at the end)")
    keep: int = _range(3, 1, 1000, doc="keep the last K checkpoints")


@dataclass(frozen=True)
class ConditionSpec:
    """How a conditional GAN (``family: cgan``) feeds the class label to G and D."""

    mode: Literal["one_hot", "embedding"] = _doc("one_hot", "one_hot: G gets z ++ one-hot(y), D gets one "
                                                             "constant channel per class; embedding: a learned "
                                                             "embedding, for D as one extra image-sized channel")
    embedding_dim: int = _range(16, 1, MAX_WIDTH, doc="size of the label embedding (mode: embedding)")


@dataclass(frozen=True)
class InfoSpec:
    """InfoGAN's latent codes (``family: infogan``): G(z, c) and a Q head on D's body that recovers c."""

    categorical: int = _range(10, 2, MAX_WIDTH, doc="values of the categorical code c1 (one-hot)")
    continuous: int = _range(2, 0, MAX_WIDTH, doc="number of continuous codes c2, c3, ... ~ U(-1, 1)")
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
    pool_size: int = _range(50, 0, 1000, doc="cyclegan: generated images each discriminator also sees from a "
                                       "history pool; 0 = off")
    decay_from: float = _range(0.5, 0.0, 1.0, doc="learning rates decay linearly to 0 from this fraction of "
                                                  "train.epochs to its end (train.steps does not move it); "
                                                  "1 = constant")


@dataclass(frozen=True)
class EvalSpec:
    """Evaluation during training (``gan eval``'s evaluator and Fréchet distance, every N epochs)."""

    every: int | None = _range(None, 1, MAX_EPOCHS, doc="evaluate every N epochs (and at the end); null = never")
    n: int = _range(2000, 10, 1_000_000,
                    doc="generated images per evaluation (real images: as many, or the split's size)")
    against: Literal["test", "train"] = _doc("test", "real split to compare with")


@dataclass(frozen=True)
class HealthSpec:
    """Thresholds of the training-health monitor (warnings only; training goes on)."""

    diversity_ratio: float = _range(0.25, 0.0, 1.0, doc="warn of mode collapse when the fixed samples' mean "
                                                        "pairwise distance falls below this fraction of real images'")
    label_kl: float = _range(0.5, 0.0, doc="warn of mode collapse when KL(real || fake) of the evaluator's label "
                                           "histogram exceeds this (needs eval.every)")
    warmup_steps: int = _range(500, 0, MAX_STEPS, doc="no mode-collapse warning before this step, unless the sample "
                                           "diversity fell from a healthy value (fresh generators look alike)")
    saturation_steps: int = _range(200, 1, MAX_STEPS, doc="warn of discriminator saturation after this many "
                                   "consecutive steps with D(x) > 0.9 x its real target and D(G(z)) < 0.05")
    on_divergence: Literal["stop", "rollback"] = _doc(
        "stop", "when losses or weights become NaN/inf: stop (the last good checkpoint is kept), or roll back to the "
                "last good checkpoint with lower learning rates and go on")
    max_rollbacks: int = _range(3, 0, 100, doc="with on_divergence: rollback, how many rollbacks before stopping")
    rollback_lr_factor: float = _range(0.5, 0.01, 1.0, doc="each rollback multiplies every learning rate by this")


@dataclass(frozen=True)
class LogsSpec:
    """What a run writes for watching it; neither changes training, and both may change on resume."""

    tensorboard: bool = _doc(True, "TensorBoard event files in RUN/tensorboard/: every number of each metrics row "
                                   "and each sample grid, at its step (tensorboard --logdir RUN)")
    progress_gif: bool = _doc(True, "RUN/progress.gif, the sample grids in training order, written at the end of "
                                    "training (also: gan animate RUN)")


@dataclass(frozen=True)
class Recipe:
    """A complete, validated training recipe."""

    name: str = field(default="", metadata={
        "doc": "run name, letters, digits, '.', '_', '-' (default: the recipe file's stem)",
        "pattern": r"([A-Za-z0-9_][A-Za-z0-9_.-]*)?", "max_length": MAX_NAME_LENGTH})
    description: str = field(default="", metadata={
        "doc": "one line saying what the recipe trains (gan recipes list shows it); may change on resume",
        "pattern": r"[^\n\r]*", "max_length": MAX_DESCRIPTION_LENGTH})
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
    logs: LogsSpec = _doc(LogsSpec(), "TensorBoard events and the progress GIF, for watching a run")


#: Keys that ``gan train RUN --resume --set ...`` may change; everything else must match the run.
RESUMABLE_KEYS = ("train.epochs", "train.steps", "sampling.", "checkpoints.", "eval.", "health.", "logs.")


# --------------------------------------------------------------------------------------------------
# Loading

#: Largest recipe file (and ``--set`` value) read, in bytes; shipped recipes are under 2 KiB.
MAX_RECIPE_BYTES = 2**20
#: Most YAML aliases (``*name``) in one document; a recipe needs none or a few.
MAX_ALIASES = 100
#: Most values (scalars, lists, mappings) a document may hold with every alias expanded; a full recipe has
#: about 200. Guards against "billion laughs": aliases of aliases that grow exponentially once built.
MAX_EXPANDED_NODES = 100_000
#: Deepest nesting of lists and mappings (a recipe nests 4 levels: generator.layers[0].units).
MAX_DEPTH = 64
#: Longest ``extends:`` chain.
MAX_EXTENDS = 32


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
    with _one_line_errors():
        path = Path(path)
        origins = _Origins()
        raw = _load_with_extends(path, origins, chain=())
        for text in overrides:
            _apply_override(raw, text, origins)
        stem = path.stem if path.name != "recipe.yaml" else path.resolve().parent.name
        raw.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".-")[:MAX_NAME_LENGTH])
        return typing.cast(Recipe, _convert_section(Recipe, raw, "", _Context(str(path), origins)))


def parse_recipe(data: Mapping[str, Any], source: str = "<recipe>") -> Recipe:
    """Validate an already-parsed recipe mapping (no ``extends:``). Raises RecipeError."""
    with _one_line_errors():
        return typing.cast(Recipe, _convert_section(Recipe, dict(data), "", _Context(source, _Origins())))


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Keep every RecipeError one line even when a file name, key or ``--set`` holds a line break or another
    control character: those are shown escaped (\\n)."""
    try:
        yield
    except RecipeError as exc:
        message = str(exc)
        if message.isprintable():
            raise
        raise type(exc)("".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                                for c in message)) from None


def recipe_to_dict(recipe: Any) -> dict[str, Any]:
    """The recipe as plain YAML-able data (tuples become lists, layer specs gain their ``type``)."""
    return typing.cast(dict[str, Any], _to_plain(recipe))


def dump_recipe(recipe: Recipe) -> str:
    """The fully resolved recipe as YAML text; loading it gives back an equal Recipe."""
    return yaml.safe_dump(recipe_to_dict(recipe), sort_keys=False, default_flow_style=None)


def recipe_changes(old: Recipe, new: Recipe) -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` of every key whose value differs between two recipes, by key."""
    flat_old, flat_new = flatten_keys(recipe_to_dict(old)), flatten_keys(recipe_to_dict(new))
    return [(k, flat_old.get(k), flat_new.get(k)) for k in sorted(flat_old.keys() | flat_new.keys())
            if flat_old.get(k) != flat_new.get(k)]


def changed_keys(old: Recipe, new: Recipe) -> list[str]:
    """Dotted keys whose values differ between two recipes."""
    return [key for key, _, _ in recipe_changes(old, new)]


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


def flatten_keys(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one mapping by dotted key (``{"train": {"epochs": 5}}`` -> ``{"train.epochs": 5}``);
    lists and empty mappings are values."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten_keys(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_RECIPE_BYTES + 1)  # bounded: /dev/zero or a huge file cannot fill memory
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except IsADirectoryError:
        raise RecipeError(f"{path}: is a directory, not a recipe file") from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe ({exc.strerror or exc})") from None
    if len(content) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{path}: recipe file is larger than the limit of {MAX_RECIPE_BYTES:,} bytes "
                          f"({MAX_RECIPE_BYTES // 2**20} MiB); a recipe is a short YAML file")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a text file (recipes are UTF-8 YAML)") from None
    data = _parse_yaml(text, str(path))
    if data is None:  # an empty file, only comments, or a bare null
        raise RecipeError(f"{path}: empty recipe (no sections); write its sections (data, generator, train, ...), "
                          "{} for every default, or start from a shipped one: gan recipes new NAME --from digits_gan")
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping of sections, got "
                          f"{type(data).__name__}")
    return data


def _parse_yaml(text: str, origin: str) -> Any:
    """``yaml.safe_load`` with the loader's limits; every YAML problem becomes one RecipeError line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a yaml.SafeLoader with duplicate-key and size limits
    except yaml.YAMLError as exc:
        raise RecipeError(f"{origin}: {_yaml_problem(exc)}") from None
    except RecursionError:  # pragma: no cover - the depth limit stops nesting long before this
        raise RecipeError(f"{origin}: not valid YAML: nested too deeply") from None


#: PyYAML's SafeLoader's words for a tag it has no constructor for (!!python/object/apply:os.system, !foo).
_UNKNOWN_TAG = r"could not determine a constructor for the tag '(.*)'"


def _is_refusal(exc: yaml.YAMLError) -> bool:
    """Whether a YAML error is one of the loader's limits or a refused tag (not a mere syntax error)."""
    return isinstance(exc, _LimitError) or bool(re.fullmatch(_UNKNOWN_TAG, str(getattr(exc, "problem", "")), re.S))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: where, what, and for a refused tag, that tags are not allowed."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = str(getattr(exc, "problem", None) or "invalid YAML")
    if isinstance(exc, yaml.reader.ReaderError):  # a control character, e.g. NUL, anywhere in the text
        character = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        where = f" at character {exc.position + 1}"
        problem = f"character U+{character:04X} is not allowed ({exc.reason})"
    if isinstance(exc, _LimitError):
        return f"refused{where}: {problem}"
    tag = re.fullmatch(_UNKNOWN_TAG, problem, re.S)
    if tag:
        name = re.sub(r"^tag:yaml\.org,2002:", "!!", tag.group(1))[:80]  # already escaped (PyYAML's %r)
        problem = (f"tag '{name}' is not allowed (recipes hold only plain YAML values: mappings, lists, "
                   "strings, numbers, true/false and null)")
    return f"not valid YAML{where}: {problem}"


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


class _LimitError(yaml.YAMLError):
    """A document over one of the loader's limits (aliases, expanded size, nesting)."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, but a key given twice in one mapping is an error, and a document may
    use at most MAX_ALIASES aliases, expand to at most MAX_EXPANDED_NODES nodes and nest at most MAX_DEPTH
    levels, so a "billion laughs" document (aliases of aliases, exponentially large once constructed) or a
    recursive one is refused while it is composed, before anything is built from it."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):  # type: ignore[no-untyped-call]
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _LimitError(f"more than {MAX_ALIASES} YAML aliases (*name); a recipe needs few or none",
                                  self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _LimitError(f"lists and mappings nested more than {MAX_DEPTH} levels deep",
                                  self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self.depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()  # type: ignore[no-untyped-call]
        _check_expansion(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[no-untyped-call]
        except yaml.YAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors on odd scalars: 2020-13-45, !!bool maybe, !!float x
            value = _describe(node.value) if isinstance(node, yaml.ScalarNode) else "the value"
            why = f" ({_describe(str(exc))[1:-1]})" if isinstance(exc, ValueError) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {value} as {node.tag.rsplit(':', 1)[-1]}{why}", node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # <<: *base, resolved by SafeLoader below
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # a list or mapping as a key
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_describe(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = super().construct_yaml_int(node)  # type: ignore[no-untyped-call]
        if abs(value).bit_length() > 64:
            raise yaml.constructor.ConstructorError(
                None, None, "integer too large (more than 64 bits)", node.start_mark)
        return typing.cast(int, value)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _check_expansion(root: yaml.Node | None) -> None:
    """Refuse a node graph that is recursive, or whose size or depth with every alias expanded exceeds the
    limits. Iterative and memoized, so it costs one visit per distinct node however large the expansion."""
    if root is None:
        return
    done: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, expanded depth)
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        if finished:
            open_nodes.discard(id(node))
            size = 1 + sum(done[id(c)][0] for c in children)
            depth = 1 + max((done[id(c)][1] for c in children), default=0)
            if size > MAX_EXPANDED_NODES:
                raise _LimitError(f"the YAML aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                                  "(a \"billion laughs\" document?)", node.start_mark)
            if depth > MAX_DEPTH:
                raise _LimitError(f"the YAML aliases nest lists and mappings more than {MAX_DEPTH} levels deep",
                                  node.start_mark)
            done[id(node)] = (size, depth)
        elif id(node) not in done:
            if id(node) in open_nodes:
                raise _LimitError("a YAML alias refers to a list or mapping that contains it (a recursive "
                                  "structure)", node.start_mark)
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children)


def _load_with_extends(path: Path, origins: _Origins, chain: tuple[Path, ...]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise RecipeError(f"{path}: extends: recipes extend each other in a cycle ({cycle})")
    if len(chain) >= MAX_EXTENDS:
        raise RecipeError(f"{path}: extends: more than {MAX_EXTENDS} recipes extend each other in a chain")
    data = _read_yaml(path)
    base_name = data.pop("extends", None)
    merged: dict[str, Any] = {}
    if base_name is not None:
        if not isinstance(base_name, str):
            raise RecipeError(f"{path}: extends: expected a path to another recipe, got {_describe(base_name)}")
        base_path = (path.parent / base_name) if not Path(base_name).is_absolute() else Path(base_name)
        try:
            found = base_path.is_file()
        except OSError:  # e.g. a name too long for the file system
            found = False
        if not found and shipped_recipes.is_recipe_name(base_name):  # extends: mnist_gan, a shipped recipe
            names = shipped_recipes.shipped_names()
            # else NAME.yaml (or .yml) beside this recipe: extends: my_base for my_base.yaml
            siblings = [path.parent / f"{base_name}{suffix}" for suffix in shipped_recipes.RECIPE_SUFFIXES]
            sibling = next((p for p in siblings if p.is_file()), None)
            if base_name in names:
                base_path, found = shipped_recipes.shipped_path(base_name), True
            elif sibling is not None:
                base_path, found = sibling, True
            else:
                raise RecipeError(f"{path}: extends: {_describe(base_name)} is neither a file next to this recipe "
                                  f"(looked for {base_name}, {base_name}.yaml and {base_name}.yml) nor a shipped "
                                  f"recipe; shipped recipes: {', '.join(names)}")
        if not found:
            raise RecipeError(f"{path}: extends: {_describe(base_name)} not found (looked for "
                              f"{_describe(str(base_path))[1:-1]}; paths are relative to the recipe that extends; "
                              "a shipped recipe is named without .yaml: gan recipes list)")
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
    origin = f"--set {text}" if len(text) <= 120 else f"--set {text[:100]}..."
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise OverrideSyntaxError(f"--set {_describe(text)}: expected KEY=VALUE with a dotted key, "
                          "e.g. --set train.batch_size=64")
    if len(value_text) > MAX_RECIPE_BYTES:
        raise RecipeError(f"--set {key}=...: the value is longer than the limit of {MAX_RECIPE_BYTES:,} "
                          "characters")
    try:
        value = yaml.load(value_text, Loader=_StrictLoader) if value_text.strip() else None
    except yaml.YAMLError as exc:
        if _is_refusal(exc):  # limits and tags: never read as a string
            raise RecipeError(f"{origin}: {_yaml_problem(exc)}") from None
        value = value_text  # not YAML, so plain text: --set data.path=a:b
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
            shorter = re.sub(r"(\[\d+\]|\.?[^.\[]*)$", "", probe)
            if shorter == probe:  # a key with a stray '[' (e.g. 'a[') would loop forever
                break
            probe = shorter
        return RecipeError(f"{origin}: {key or '<top level>'}: {problem}")


def _describe(value: Any) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int too long to print, or a recursive structure
        text = f"<{type(value).__name__}>" if not isinstance(value, int) else f"<{value.bit_length()}-bit integer>"
    return text if len(text) <= 60 else text[:57] + "..."


def _key_text(key: Any) -> str:
    """A mapping key as it appears in a dotted path: itself if it is a plain word, else quoted."""
    return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,60}", key) else _describe(key)


def _suggest(bad: Any, choices: Sequence[str]) -> str:
    text = bad if isinstance(bad, str) else _describe(bad)
    if len(text) > 100:
        return ""
    close = difflib.get_close_matches(text, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _convert_section(cls: type, raw: Any, path: str, ctx: _Context) -> Any:
    if not isinstance(raw, Mapping):
        raise ctx.fail(path.rstrip("."), f"expected a mapping of keys, got {_describe(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            valid = ", ".join(fields)
            raise ctx.fail(f"{path}{_key_text(key)}", f"unknown key{_suggest(key, list(fields))}; "
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
    have them, nor the data keys only translation reads (crop_size, flip, direction)."""
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
    # the GAN families' data pipeline never reads these: refused rather than silently ignored
    for name, value in (("crop_size", data.crop_size), ("flip", data.flip), ("direction", data.direction)):
        if value != getattr(DataSpec, name):
            raise ctx.fail(f"data.{name}", "used only by the translation families "
                                           f"({', '.join(TRANSLATION_FAMILIES)}); family {family} would ignore it, "
                                           "so remove it")


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
        if any(value == a and type(value) is type(a) for a in args):
            return value
        choices = ", ".join(_literal_text(a) for a in args)
        return_hint = _suggest(value, [_literal_text(a) for a in args])
        raise ctx.fail(key, f"unknown value {_describe(value)}{return_hint}; valid choices: {choices}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _convert_section(tp, value, f"{key}.", ctx)
    if origin is tuple:
        return _convert_tuple(value, args, key, meta, ctx)
    return _convert_scalar(value, tp, key, meta, ctx)


def _convert_tuple(value: Any, args: tuple[Any, ...], key: str, meta: Mapping[str, Any],
                   ctx: _Context) -> tuple[Any, ...]:
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,9}\s*[xX×]\s*\d{1,9}\s*", value) and len(args) == 2:
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
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise ctx.fail(f"{key}.type", f"unknown layer type {_describe(kind)}{_suggest(kind, list(LAYER_TYPES))}; "
                                      f"valid choices: {', '.join(LAYER_TYPES)}")
    rest = {k: v for k, v in value.items() if k != "type"}
    return _convert_section(LAYER_TYPES[kind], rest, f"{key}.", ctx)


def _convert_scalar(value: Any, tp: Any, key: str, meta: Mapping[str, Any], ctx: _Context) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ctx.fail(key, f"expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())):  # also .nan and .inf
            raise ctx.fail(key, f"expected an integer, got {_describe(value)}")
        value = int(value)
    elif tp is float:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)  # YAML reads 2e-4 (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ctx.fail(key, f"expected a number, got {_describe(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond float's range
            value = math.inf
        if not math.isfinite(value):
            raise ctx.fail(key, f"expected a finite number, got {_describe(value)}")
    elif tp is str:
        if not isinstance(value, str):
            raise ctx.fail(key, f"expected a string, got {_describe(value)}")
        if "\0" in value:
            raise ctx.fail(key, f"{_describe(value)} contains a NUL character, which no file name or key can hold")
        if len(value) > meta.get("max_length", len(value)):
            raise ctx.fail(key, f"{_describe(value)} is {len(value)} characters long; at most {meta['max_length']} "
                                "are allowed")
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


def _literal_text(value: Any) -> str:
    """A choice as YAML spells it (true, not True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _type_text(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin is Literal:
        return " | ".join(_literal_text(a) for a in args)
    if origin is tuple:
        if args and args[-1] is Ellipsis:
            inner = "layer" if args[0] == LayerSpec else _type_text(args[0])
            return f"list of {inner}"
        return "[" + ", ".join(_type_text(a) for a in args) + "]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))
