"""The recipe's schema: its dataclasses, their defaults and limits, and pure helpers over them.

A recipe is a YAML mapping with the sections ``data``, ``generator``, ``discriminator``, ``loss``,
``optimizers``, ``train``, ``sampling`` and ``checkpoints`` (and the family-specific ones). Every default lives
in the dataclasses below, and they are the Keras MNIST GAN tutorial's settings, so a recipe states only what
differs. Each field's metadata holds its one-line ``doc`` and, where it has them, its range (``low``, ``high``,
``high_open``), ``pattern`` and ``max_length``. Beside the schema: the constants other packages share
(``TRANSLATION_FAMILIES``, ``RESUMABLE_KEYS``, the ``MAX_*`` limits) and pure helpers over recipes
(``recipe_to_dict``, ``dump_recipe``, ``flatten_keys``, ``recipe_changes``, ``schema_fields``).

Contract: this module reads no file and checks no value; ``gan_cli.recipe.validation`` enforces the metadata
and ``gan_cli.recipe.loading`` reads recipe files (``load_recipe``, ``parse_recipe``). Within ``gan_cli.recipe``
it imports only ``shipped`` (for the name limit), so everything else may import it. It never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from gan_cli.recipe.shipped import MAX_NAME_LENGTH

DataSource = Literal["digits", "mnist", "fashion_mnist", "cifar10", "npz", "idx", "folder", "paired_folder",
                     "unpaired_folder"]
Architecture = Literal["mlp", "dcgan", "layers", "biggan", "stylegan", "unet", "resnet", "patchgan"]
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
    hierarchical_z: bool = _doc(True, "biggan: z split into one chunk for the first layer and one per block, each "
                                      "block's conditional batch norms fed its own chunk")
    mapping_layers: int = _range(4, 1, 16, doc="stylegan: Dense layers of the mapping network z -> w")
    mapping_lr: float = _range(0.01, 0.0, 1.0, doc="stylegan: the mapping network's learning-rate multiplier "
                                                   "(StyleGAN's 0.01), built into its weights")
    style_mixing: float = _range(0.9, 0.0, 1.0, doc="stylegan: per sample in training, the probability that the "
                                                    "layers after a random crossover take the styles of a second z")
    orthogonal: float = _range(0.0, 0.0, doc="biggan: BigGAN's orthogonal regularization β·||WᵀW ⊙ (1 - I)||² of "
                                             "G's kernels, added to G's loss; 0 = off (BigGAN's 1e-4 is β 5e-5 here)")


@dataclass(frozen=True)
class DiscriminatorSpec(NetSpec):
    """The discriminator D: image -> probability that it is real."""

    dropout: float = _range(0.3, 0.0, 1.0, high_open=True, doc="dropout rate after each hidden layer")
    clip_value: float | None = _range(None, 0.0, doc="WGAN weight clipping: after each update every D weight "
                                                     "is clipped to [-c, c]; null = off")
    scales: int = _range(1, 1, 8, doc="patchgan: discriminators at image scales 1, 1/2, 1/4, ... (pix2pixHD)")
    minibatch_group: int = _range(4, 1, 64, doc="stylegan: images per group of the minibatch standard deviation "
                                                "(train.batch_size must be a multiple; 1 = off)")


@dataclass(frozen=True)
class LossSpec:
    """The adversarial loss both compiled models use."""

    name: LossName = _doc("bce", "bce (binary cross-entropy), least_squares (LSGAN), wasserstein (WGAN critic) "
                                 "or hinge (SNGAN)")
    label_smoothing: float = _range(0.1, 0.0, 0.5, doc="one-sided: real targets are "
                                                       "1 - label_smoothing, fake targets stay 0 (bce, least_squares)")
    gradient_penalty: float = _range(0.0, 0.0, doc="WGAN-GP weight λ of (||∇D(x̂)|| - 1)² at random "
                                                   "interpolates of real and fake images (not with family "
                                                   "cgan: use r1); 0 = off")
    r1: float = _range(0.0, 0.0, doc="R1 weight γ of (γ/2)·||∇D(x)||² on the real images of D's update "
                                     "(Mescheder et al. 2018, StyleGAN; a conditional D scores each with its "
                                     "own label); 0 = off")
    r1_every: int = _range(1, 1, 10_000, doc="R1 lazily: the penalty only on every k-th discriminator update, "
                                             "weighted k times (StyleGAN2's lazy regularization, 16 there); "
                                             "1 = every update")


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
class EmaSpec:
    """An exponential moving average of G's weights, kept beside G (the generator that samples are drawn from)."""

    decay: float = _range(0.0, 0.0, 1.0, high_open=True, doc="each step the averaged weights move to "
                                                             "decay·average + (1 - decay)·G's; 0 = off "
                                                             "(e.g. 0.999)")
    start_step: int = _range(0, 0, MAX_STEPS, doc="until this step the average is G itself (decay 0), so it does "
                                                  "not carry the untrained start")


@dataclass(frozen=True)
class AugmentSpec:
    """Differentiable augmentation of every image D sees in training (reals and fakes alike, in D's update and in
    G's through the combined model); sampled and exported images are never augmented."""

    policy: tuple[Literal["color", "translation", "cutout"], ...] = field(default=(), metadata={
        "may_be_empty": True,
        "doc": "DiffAugment operations applied in this order: color (brightness, saturation, contrast), translation "
               "(up to 1/8 of the image), cutout (a square half the image's side); empty = off"})
    ada: bool = _doc(False, "ADA: apply each operation with a probability p steered toward ada_target instead of "
                            "always (p starts at 0)")
    ada_target: float = _range(0.6, 0.0, 1.0, doc="ADA: the target of E[sign(D(x) - midpoint)] on real images; "
                                                  "above it p rises, below it p falls")
    ada_interval: int = _range(4, 1, 10_000, doc="ADA: steps between adjustments of p")
    ada_images: int = _range(100_000, 1, MAX_STEPS, doc="ADA: real images it takes p to move by 1 (the paper's "
                                                        "500k suits long runs; smaller reacts faster)")


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
    steps_per_call: int = _range(1, 1, 100, doc="GAN steps unrolled into one traced call: fewer Python round trips "
                                           "per step, but a longer trace once; for long runs (see "
                                           "docs/performance.md)")
    jit_compile: Literal["auto", True, False] = _doc(
        "auto", "XLA-compile each fused GAN step; auto times a small update with and without XLA once per "
                "device and compiles where XLA is 1.1x faster (often off on CPUs; see docs/performance.md); off "
                "under train.distribute")
    batch_selection: Literal["random", "shuffle"] = _doc(
        "random", "random: indices drawn with replacement each step (the tutorial); "
                  "shuffle: a new permutation each epoch")
    ema: EmaSpec = _doc(EmaSpec(), "generator EMA: samples, grids, evaluation and generator.keras use the averaged "
                                   "weights")


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

    mode: Literal["one_hot", "embedding"] = _doc("one_hot", "one_hot: G gets z ++ one-hot(y) (generator: input), "
                                                             "D gets one "
                                                             "constant channel per class; embedding: a learned "
                                                             "embedding, for D as one extra image-sized channel")
    embedding_dim: int = _range(16, 1, MAX_WIDTH, doc="size of the label embedding (mode: embedding; biggan, or "
                                                      "generator: batch_norm: the shared class embedding of G's "
                                                      "conditional batch norms)")
    generator: Literal["input", "batch_norm"] = _doc(
        "input", "how G takes the label: input = as mode says (z ++ code(y) into the first layer); batch_norm = "
                 "z alone into the first layer and every batch norm of G conditional, gain 1 + Dense(e) and bias "
                 "Dense(e) of one shared class embedding e (size embedding_dim), as BigGAN's (de Vries et al. "
                 "2017; needs generator.architecture: dcgan with batch_norm: true; biggan's G always does it)")
    discriminator: Literal["input", "projection"] = _doc(
        "input", "how D takes the label: input = as mode says (extra image channels); projection = score "
                 "Dense(h) + <embed(y), h> on D's last features (Miyato & Koyama 2018; needs output_activation: "
                 "linear; biggan's D always projects)")


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
    augment: AugmentSpec = _doc(AugmentSpec(), "differentiable augmentation for small data (DiffAugment, ADA)")
    eval: EvalSpec = _doc(EvalSpec(), "evaluation during training")
    health: HealthSpec = _doc(HealthSpec(), "training-health warnings")
    logs: LogsSpec = _doc(LogsSpec(), "TensorBoard events and the progress GIF, for watching a run")


#: Keys that ``gan train RUN --resume --set ...`` may change; everything else must match the run.
RESUMABLE_KEYS = ("train.epochs", "train.steps", "sampling.", "checkpoints.", "eval.", "health.", "logs.")


# --------------------------------------------------------------------------------------------------
# Recipe files: limits and naming (``gan_cli.recipe.loading`` applies them)

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
#: File stems that say nothing about the recipe: a recipe so named (a run's, or ``myproject/recipe.yaml``)
#: takes its folder's name when it has no ``name:``.
GENERIC_STEMS = ("recipe",)


# --------------------------------------------------------------------------------------------------
# Helpers over recipes and the schema (pure)


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


def literal_text(value: Any) -> str:
    """A choice as YAML spells it (true, not True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _type_text(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin is Literal:
        return " | ".join(literal_text(a) for a in args)
    if origin is tuple:
        if args and args[-1] is Ellipsis:
            inner = "layer" if args[0] == LayerSpec else _type_text(args[0])
            return f"list of {inner}"
        return "[" + ", ".join(_type_text(a) for a in args) + "]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))
