"""Validation: a raw recipe mapping (merged and overridden) becomes the frozen dataclasses of the schema.

Contract: :func:`validate_recipe` takes plain data (mappings, lists, scalars, as YAML gives them) and returns a
``gan_cli.recipe.schema.Recipe``, or raises a ``RecipeError`` of one line naming where the bad key came from
(the file, or the file and the ``--set`` that wrote it), the key path, the bad value and the valid choices. It
checks every field against its type and its metadata (range, pattern, length), unknown keys (with a "did you
mean"), explicit layer lists, and the rules across fields (a family's networks and data, an optimizer's
parameters, a loss's label smoothing). :class:`Origins` records which source wrote each key: the loader fills
it, and validation reads it to name that source and to tell a value set together with (or after) the key it
conflicts with from one inherited from before. This module reads no file and imports only
``gan_cli.recipe.schema`` from the recipe package; no TensorFlow.
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
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from gan_cli.errors import RecipeError
from gan_cli.recipe.schema import (
    LAYER_TYPES,
    OPTIMIZER_PARAMS,
    TRANSLATION_DISCRIMINATORS,
    TRANSLATION_FAMILIES,
    TRANSLATION_GENERATORS,
    AugmentSpec,
    ConditionSpec,
    DataSpec,
    DiscriminatorSpec,
    GeneratorSpec,
    LayerSpec,
    LossSpec,
    NetSpec,
    OptimizerSpec,
    Recipe,
    TrainSpec,
    literal_text,
)


def validate_recipe(raw: Mapping[str, Any], source: str, origins: Origins | None = None) -> Recipe:
    """Validate a raw recipe mapping into a Recipe.

    Args:
        raw: the recipe as plain data, ``extends:`` already merged and ``--set`` overrides applied.
        source: what errors name when ``origins`` knows no better (the recipe file, or ``<recipe>``).
        origins: which file or ``--set`` wrote each dotted key; none means every key is from ``source``.

    Raises:
        RecipeError: one line naming the origin, key path, bad value and choices.
    """
    ctx = _Context(source, origins if origins is not None else Origins())
    with one_line_errors():
        return typing.cast(Recipe, _convert_section(Recipe, raw, "", ctx))


class Origins:
    """Which file or ``--set`` last wrote each dotted key, and the order those sources were applied (the loader
    records them; validation reads them)."""

    def __init__(self) -> None:
        self.where: dict[str, str] = {}
        self.rank: dict[str, int] = {}

    def record(self, key: str, source: str) -> None:
        self.rank.setdefault(source, len(self.rank))
        self.where[key] = source

    def rank_of(self, key: str) -> int:
        """Application order of the source that set ``key``; -1 for a schema default."""
        return self.rank[self.where[key]] if key in self.where else -1


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
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


def _check_conditional_batch_norm(family: str, generator: GeneratorSpec, condition: ConditionSpec,
                                  ctx: _Context) -> None:
    """``condition.generator: batch_norm`` needs a cgan whose G is dcgan with batch norms to condition."""
    if condition.generator != "batch_norm":
        return
    fix = "or remove condition.generator"
    if family != "cgan":
        raise ctx.fail("condition.generator", f"batch_norm conditions G on the class label: family cgan only "
                                              f"(family is {family}); set family: cgan, {fix}")
    if generator.architecture != "dcgan":
        raise ctx.fail("condition.generator", f"batch_norm needs generator.architecture: dcgan (it is "
                                              f"{generator.architecture}; biggan's G always conditions its batch "
                                              f"norms and needs no key); set it, {fix}")
    if not generator.batch_norm:
        raise ctx.fail("condition.generator", "batch_norm makes G's batch norms conditional, so it needs "
                                              f"generator.batch_norm: true; set it, {fix}")


@dataclass(frozen=True)
class _Context:
    file: str
    origins: Origins

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


def describe(value: Any) -> str:
    """A value as messages show it: its repr, cut to 60 characters; never fails."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int too long to print, or a recursive structure
        text = f"<{type(value).__name__}>" if not isinstance(value, int) else f"<{value.bit_length()}-bit integer>"
    return text if len(text) <= 60 else text[:57] + "..."


def _key_text(key: Any) -> str:
    """A mapping key as it appears in a dotted path: itself if it is a plain word, else quoted."""
    return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,60}", key) else describe(key)


def _suggest(bad: Any, choices: Sequence[str]) -> str:
    text = bad if isinstance(bad, str) else describe(bad)
    if len(text) > 100:
        return ""
    close = difflib.get_close_matches(text, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _convert_section(cls: type, raw: Any, path: str, ctx: _Context) -> Any:
    if not isinstance(raw, Mapping):
        raise ctx.fail(path.rstrip("."), f"expected a mapping of keys, got {describe(raw)}")
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
    if cls is LossSpec and values.get("r1_every", 1) > 1 and not values.get("r1", 0.0) > 0:
        raise ctx.fail(f"{path}r1_every", "lazy R1 needs the R1 penalty on (loss.r1 is 0): set loss.r1 "
                                          "(γ > 0), or remove loss.r1_every")
    if issubclass(cls, NetSpec) and values.get("layers") and values.get("architecture", "mlp") != "layers":
        raise ctx.fail(f"{path}layers", "is only used with architecture: layers; set "
                                        f"{path}architecture: layers, or remove {path}layers")
    if issubclass(cls, NetSpec) and values.get("architecture") == "layers" and not values.get("layers"):
        raise ctx.fail(f"{path}layers", "architecture 'layers' needs a list of layers, "
                                        "e.g. [{type: dense, units: 256}, {type: activation, name: relu}]")
    if cls is Recipe:
        _check_family(values, ctx)
    return cls(**values)


def _check_penalties_off(family: str, loss: LossSpec, ctx: _Context, r1: bool = False) -> None:
    """Refuse the gradient penalty, and R1 unless ``r1``, for a family that does not support them (yet)."""
    if family == "cgan" and loss.gradient_penalty > 0:
        raise ctx.fail("loss.gradient_penalty", "not supported with family cgan (a mix of a real and a fake image "
                                                "of different classes has no label to score it with); use loss.r1, "
                                                "or set it to 0")
    for key, value in (("loss.gradient_penalty", loss.gradient_penalty), ("loss.r1", 0.0 if r1 else loss.r1)):
        if value > 0:
            raise ctx.fail(key, f"not supported with family {family} yet; set it to 0")


def _check_family(values: dict[str, Any], ctx: _Context) -> None:
    """Translation families need image-to-image networks and paired or unpaired data; the others must not
    have them, nor the data keys only translation reads (crop_size, flip, direction)."""
    family = values.get("family", "gan")
    data = values.get("data", DataSpec())
    generator = values.get("generator", GeneratorSpec())
    discriminator = values.get("discriminator", DiscriminatorSpec())
    translation_data = data.task is not None or data.source in ("paired_folder", "unpaired_folder")
    _check_conditional_batch_norm(family, generator, values.get("condition", ConditionSpec()), ctx)
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
        _check_penalties_off(family, values.get("loss", LossSpec()), ctx)
        if values.get("augment", AugmentSpec()).policy:
            raise ctx.fail("augment.policy", f"not supported with family {family} (use data.crop_size and "
                                             "data.flip); remove it")
        if values.get("train", TrainSpec()).ema.decay > 0:
            raise ctx.fail("train.ema.decay", f"not supported with family {family} yet; set it to 0")
        if values.get("train", TrainSpec()).distribute != "none":
            raise ctx.fail("train.distribute", f"not supported with family {family} yet; set it to none")
        return
    train, loss, augment = values.get("train", TrainSpec()), values.get("loss", LossSpec()), \
        values.get("augment", AugmentSpec())
    if train.distribute != "none" and discriminator.clip_value is not None:
        raise ctx.fail("train.distribute", "not supported with discriminator.clip_value (WGAN weight clipping) "
                                           "yet; use loss.gradient_penalty, or distribute: none")
    if train.distribute != "none" and (train.ema.decay > 0 or augment.policy):
        key = "train.ema.decay" if train.ema.decay > 0 else "augment.policy"
        raise ctx.fail(key, "not supported with train.distribute yet (its state is updated inside the step); "
                            "remove it, or set train.distribute: none")
    if loss.gradient_penalty > 0 and loss.r1 > 0:
        raise ctx.fail("loss.r1", "choose one gradient penalty: loss.gradient_penalty (WGAN-GP) or loss.r1; set "
                                  "the other to 0")
    condition = values.get("condition", ConditionSpec())
    projects = discriminator.architecture == "biggan" or (family == "cgan" and condition.discriminator == "projection")
    if projects and discriminator.output_activation != "linear":
        why = ("biggan's D ends in a linear score" if discriminator.architecture == "biggan"
               else "a projection D adds a linear term to its score")
        raise ctx.fail("discriminator.output_activation", f"must be linear: {why} (use loss.name hinge, or bce, which "
                                                          "then reads logits)")
    if condition.discriminator == "projection" and family != "cgan":
        raise ctx.fail("condition.discriminator", f"projection conditions D on the class label: family cgan only "
                                                  f"(family is {family})")
    for name in ("biggan", "stylegan"):
        if generator.architecture == name and generator.output_activation != "tanh":
            raise ctx.fail("generator.output_activation", f"{name}'s generator ends in tanh; remove the key")
    if generator.architecture == "stylegan" and family != "gan":
        raise ctx.fail("generator.architecture", f"stylegan is unconditional here: family gan only (family is "
                                                 f"{family})")
    if family in ("cgan", "infogan"):  # InfoGAN's Q reads D's features; a cgan's GP interpolate has no label
        _check_penalties_off(family, loss, ctx, r1=family == "cgan")
    if family == "infogan" and augment.policy:
        raise ctx.fail("augment.policy", "not supported with family infogan yet (Q reads D's features of the "
                                         "image); remove it")
    if generator.architecture == "stylegan" and train.distribute != "none":
        raise ctx.fail("train.distribute", "not supported with generator.architecture stylegan yet (its average w "
                                           "is updated inside the step); set it to none")
    if discriminator.architecture == "stylegan" and train.batch_size % discriminator.minibatch_group:
        raise ctx.fail("train.batch_size", f"{train.batch_size} is not a multiple of "
                                           f"discriminator.minibatch_group {discriminator.minibatch_group} (the "
                                           "minibatch standard deviation groups whole batches)")
    if generator.orthogonal > 0 and generator.architecture != "biggan":
        raise ctx.fail("generator.orthogonal", "used by generator.architecture: biggan only; set it to 0")
    if augment.ada and not augment.policy:
        raise ctx.fail("augment.ada", "needs operations to apply: set augment.policy, e.g. [translation, cutout]")
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
        choices = ", ".join(literal_text(a) for a in args)
        return_hint = _suggest(value, [literal_text(a) for a in args])
        raise ctx.fail(key, f"unknown value {describe(value)}{return_hint}; valid choices: {choices}")
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
        raise ctx.fail(key, f"expected {expected}, got {describe(value)}")
    if args[-1] is Ellipsis:
        if args[0] == LayerSpec:
            if not value:
                raise ctx.fail(key, "expected at least one layer")
            return tuple(_convert_layer(v, f"{key}[{i}]", ctx) for i, v in enumerate(value))
        if not value and not meta.get("may_be_empty"):
            raise ctx.fail(key, "expected a non-empty list")
        return tuple(_convert(v, args[0], f"{key}[{i}]", meta, ctx) for i, v in enumerate(value))
    if len(value) != len(args):
        raise ctx.fail(key, f"expected a list of {len(args)} values, got {describe(value)}")
    return tuple(_convert(v, a, f"{key}[{i}]", meta, ctx) for i, (v, a) in enumerate(zip(value, args)))


def _convert_layer(value: Any, key: str, ctx: _Context) -> Any:
    if not isinstance(value, Mapping) or "type" not in value:
        raise ctx.fail(key, f"expected a mapping with a 'type' key (one of {', '.join(LAYER_TYPES)}), "
                            f"got {describe(value)}")
    kind = value["type"]
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise ctx.fail(f"{key}.type", f"unknown layer type {describe(kind)}{_suggest(kind, list(LAYER_TYPES))}; "
                                      f"valid choices: {', '.join(LAYER_TYPES)}")
    rest = {k: v for k, v in value.items() if k != "type"}
    return _convert_section(LAYER_TYPES[kind], rest, f"{key}.", ctx)


def _convert_scalar(value: Any, tp: Any, key: str, meta: Mapping[str, Any], ctx: _Context) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ctx.fail(key, f"expected true or false, got {describe(value)}")
        return value
    if tp is int:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())):  # also .nan and .inf
            raise ctx.fail(key, f"expected an integer, got {describe(value)}")
        value = int(value)
    elif tp is float:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)  # YAML reads 2e-4 (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ctx.fail(key, f"expected a number, got {describe(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond float's range
            value = math.inf
        if not math.isfinite(value):
            raise ctx.fail(key, f"expected a finite number, got {describe(value)}")
    elif tp is str:
        if not isinstance(value, str):
            raise ctx.fail(key, f"expected a string, got {describe(value)}")
        if "\0" in value:
            raise ctx.fail(key, f"{describe(value)} contains a NUL character, which no file name or key can hold")
        if len(value) > meta.get("max_length", len(value)):
            raise ctx.fail(key, f"{describe(value)} is {len(value)} characters long; at most {meta['max_length']} "
                                "are allowed")
        pattern = meta.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ctx.fail(key, f"{describe(value)} is not allowed; use {meta.get('doc', pattern)}")
        return value
    low, high = meta.get("low"), meta.get("high")
    if low is not None and value < low:
        raise ctx.fail(key, f"{describe(value)} is out of range; expected {_range_text(meta)}")
    if high is not None and (value > high or (meta.get("high_open") and value >= high)):
        raise ctx.fail(key, f"{describe(value)} is out of range; expected {_range_text(meta)}")
    return value


def _range_text(meta: Mapping[str, Any]) -> str:
    low, high = meta.get("low"), meta.get("high")
    if high is None:
        return f"a value >= {low}"
    return f"a value in [{low}, {high}{')' if meta.get('high_open') else ']'}"
