"""Property-based fuzzing of recipe loading: no input, however broken or hostile, gets past the loader as
anything but a valid Recipe or one clean line of RecipeError.

Four properties, all derandomized (the same examples on every run, so CI is reproducible):

- random YAML documents (token soup, arbitrary text, arbitrary YAML data, recipe-shaped data) given to
  ``load_recipe`` and, when they load, to ``plan_training``;
- random mutations of every shipped recipe (delete, replace with a value of another type, add an unknown key,
  rename a key, move a value) given to ``load_recipe`` and ``plan_training``;
- random ``--set KEY=VALUE`` overrides on shipped recipes;
- random "billion laughs" documents, which must be refused in well under a second;

and one end to end: mutated digits recipes through ``gan train FILE --dry-run`` in-process, which must exit 0
or print one ``Error: ...`` line that comes from a GanError (not the CLI's catch-all for bugs).

Each test prints how many recipes it fuzzed (see them with ``pytest -s`` or ``-rA``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import shutil
import signal
import time
import typing
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan_cli.errors import GanError, RecipeError
from gan_cli.recipe.loading import load_recipe, parse_recipe
from gan_cli.recipe.schema import LAYER_TYPES, Recipe, dump_recipe, recipe_to_dict, schema_fields
from gan_cli.training.plan import plan_training

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))
DIGITS_RECIPES = [p for p in RECIPES if "digits" in p.name]

#: Derandomized (reproducible in CI), no example database, no per-example deadline.
FUZZ = settings(max_examples=2000, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

#: Every recipe key and every word the schema accepts, so random data often looks almost right.
SCHEMA_KEYS = sorted({part for key, *_ in schema_fields() for part in key.split(".")} | {"type", "extends"})
SCHEMA_WORDS = sorted({str(word) for _, type_text, _, _ in schema_fields() for word in type_text.split(" | ")
                       if word not in ("int", "float", "str", "bool", "null")} | set(LAYER_TYPES))
DOTTED_KEYS = [key for key, *_ in schema_fields()]


# --------------------------------------------------------------------------------------------------
# Strategies

special_numbers = st.sampled_from([0, 1, -1, 2, 7, 10**12, -10**12, 2**31, 2**63, 2**64, 2**70, 65536, 65537, 4096,
                                   4097, 10**6 + 1, 10**9 + 1, 0.0, -0.0, 0.5, 1.0, 1.5, 1e-12, 1e308, -1e308,
                                   math.nan, math.inf, -math.inf])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 300), st.integers(), special_numbers,
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=24),
    st.sampled_from(SCHEMA_WORDS), st.sampled_from(["10x10", "3x5", "0x4", "99999999999x2", "2e-4", "1e999", ""]),
)
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(max_size=8), st.integers()), children,
                    max_size=4)), max_leaves=12)

#: Pieces of YAML syntax, including what hostile files use: anchors, aliases, merges and Python tags.
TOKENS = ["\n", "  ", " ", "- ", ": ", ":", ",", "[", "]", "{", "}", "? ", "|\n  ", ">\n  ", "'", '"', "# c\n",
          "&a ", "*a", "&b ", "*b", "<<: *a", "[*a, *a, *a]", "!!python/object/apply:os.system ['echo hi']",
          "!!python/name:os.system", "!!python/tuple [1, 2]", "!!binary aGk=", "!!binary %%%", "!!set {a, b}",
          "!!omap [a: 1]", "!!timestamp 2001-12-14",
          "!!timestamp 2001-13-99", "!!timestamp nope", "!!float x", "!!int 0x", "!!bool maybe", "!foo ", "!!str 3",
          "2020-13-45", "1:30:00", "0x1F", "0o17", "0b101", "+.inf", ".nan", "~", "null", "yes", "no", "on", "1e999",
          "%YAML 1.1\n", "---\n", "...\n", "\t", "\x00", "\ufeff", "\u2028", "\\", "extends: ", "digits_gan.yaml",
          "extends: missing.yaml\n", "extends: /etc/hostname\n", "type: dense", "units: ", "widths: ", "layers:\n",
          "1", "-3", "10**12", "999999999999999999999999", "3x3"] + SCHEMA_KEYS + SCHEMA_WORDS
token_soup = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


recipe_shaped = st.dictionaries(
    st.sampled_from(["name", "seed", "family", "data", "generator", "discriminator", "loss", "optimizers", "train",
                     "sampling", "checkpoints", "condition", "info", "translation", "eval", "health", "extends"]),
    st.one_of(values, st.dictionaries(st.sampled_from(SCHEMA_KEYS), values, max_size=5)), max_size=6)

random_documents = st.one_of(
    token_soup,
    st.text(max_size=200),
    values.map(_dump),
    recipe_shaped.map(_dump),
)


# --------------------------------------------------------------------------------------------------
# Mutations


Path_ = tuple[Any, ...]


def _paths(tree: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a value inside nested dicts and lists (the root excluded)."""
    found: list[Path_] = []
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _get(tree: Any, path: Path_) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _parent(tree: Any, path: Path_) -> Any:
    return _get(tree, path[:-1])


def mutate(tree: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """One to four random edits of a recipe's data: delete, replace, add, rename, move."""
    tree = copy.deepcopy(tree)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        paths = _paths(tree)
        op = data.draw(st.sampled_from(["delete", "replace", "replace", "add", "rename", "move"]), label="op")
        if not paths:
            op = "add"
        if op == "add":
            dicts = [p for p in paths if isinstance(_get(tree, p), dict)]
            where = _get(tree, data.draw(st.sampled_from([(), *dicts]), label="section"))
            key = data.draw(st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(max_size=10)), label="new key")
            where[key] = data.draw(values, label="value")
            continue
        path = data.draw(st.sampled_from(paths), label="path")
        parent, last = _parent(tree, path), path[-1]
        if op == "delete":
            del parent[last]
        elif op == "replace":
            parent[last] = data.draw(values, label="value")
        elif op == "rename" and isinstance(parent, dict):
            new = data.draw(st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(max_size=10),
                                      st.sampled_from([str(last)[:-1], f"{last}s", str(last).upper()])), label="name")
            parent[new] = parent.pop(last)
        elif op == "move":
            source = data.draw(st.sampled_from(paths), label="from")
            parent[last] = copy.deepcopy(_get(tree, source))
    return tree


def _raw(path: Path) -> dict[str, Any]:
    return typing.cast(dict[str, Any], yaml.safe_load(path.read_text()))


#: Each shipped recipe twice: as written (with its ``extends:``) and fully resolved.
BASES = [(p.name, _raw(p)) for p in RECIPES] + [(f"resolved {p.name}", recipe_to_dict(load_recipe(p)))
                                               for p in RECIPES]


# --------------------------------------------------------------------------------------------------
# The property


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of recipes/ (so ``extends:`` of mutated recipes resolves) where each example is written."""
    folder = tmp_path_factory.mktemp("fuzz")
    for path in RECIPES:
        shutil.copy(path, folder / path.name)
    return folder


class Hang(Exception):
    """An example ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Turn a hang (an endless loop in validation) into a failure Hypothesis can shrink, instead of a stuck CI job."""
    def expire(_signum: int, _frame: Any) -> None:
        raise Hang(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_loads_or_fails_cleanly(path: Path, counts: Counter[str], overrides: list[str] | None = None) -> None:
    """Either a valid Recipe (that round-trips and plans) or a one-line RecipeError; anything else is a bug."""
    counts["fuzzed"] += 1
    try:
        with time_limit(5):
            recipe = load_recipe(path, overrides or [])
    except RecipeError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and len(message.splitlines()) == 1, repr(message)
        assert len(message) < 2000, message[:300]
        counts["refused"] += 1
        return
    assert isinstance(recipe, Recipe)
    assert parse_recipe(yaml.safe_load(dump_recipe(recipe))) == recipe  # what a run directory stores reloads
    out = path.parent / "run-not-created"
    try:
        plan = plan_training(path, out=out, overrides=overrides or [])
    except GanError as exc:
        assert "\n" not in str(exc) and str(exc).strip(), repr(str(exc))
    else:
        assert plan.recipe.name == recipe.name and not plan.resume
    assert not out.exists(), "planning a run must not create its directory"
    counts["loaded"] += 1


def _report(capsys: pytest.CaptureFixture[str], what: str, counts: Counter[str]) -> None:
    with capsys.disabled():
        print(f"\n[recipe fuzz] {what}: {dict(counts)}")


def test_random_documents_load_or_fail_cleanly(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts: Counter[str] = Counter()

    @settings(FUZZ, max_examples=400)
    @given(text=random_documents)
    def run(text: str) -> None:
        path = workdir / "fuzz_doc.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        check_loads_or_fails_cleanly(path, counts)

    run()
    _report(capsys, "random YAML documents", counts)
    assert counts["fuzzed"] >= 400 and counts["refused"] > 0 and counts["loaded"] > 0


def test_mutated_shipped_recipes_load_or_fail_cleanly(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts: Counter[str] = Counter()

    @settings(FUZZ, max_examples=500)
    @given(base=st.sampled_from(BASES), data=st.data())
    def run(base: tuple[str, dict[str, Any]], data: st.DataObject) -> None:
        path = workdir / "fuzz_mutant.yaml"
        path.write_text(_dump(mutate(base[1], data)), encoding="utf-8")
        check_loads_or_fails_cleanly(path, counts)

    run()
    _report(capsys, "mutated shipped recipes", counts)
    assert counts["fuzzed"] >= 500 and counts["refused"] > 0 and counts["loaded"] > 0


def _flow(value: Any) -> str:
    """A value as one line of YAML, as it would follow ``--set KEY=``."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).removesuffix("\n...\n").strip()


override_values = st.one_of(
    values.map(_flow),
    token_soup, st.text(max_size=30))
overrides = st.lists(st.one_of(
    st.deferred(lambda: st.sampled_from(sorted(CLI_EDITS)).flatmap(  # mostly valid: the dry run's edits below
        lambda k: st.sampled_from(CLI_EDITS[k]).map(lambda v: f"{k}={_flow(v)}"))),
    st.tuples(st.sampled_from(DOTTED_KEYS), override_values).map("=".join),
    st.tuples(st.sampled_from(DOTTED_KEYS), st.sampled_from(SCHEMA_WORDS)).map("=".join),
    st.tuples(st.text(max_size=12), override_values).map("=".join),
    st.text(max_size=20)), min_size=1, max_size=3)


def test_random_set_overrides_apply_or_fail_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    counts: Counter[str] = Counter()

    @settings(FUZZ, max_examples=200)
    @given(recipe=st.sampled_from(RECIPES), sets=overrides)
    def run(recipe: Path, sets: list[str]) -> None:
        check_loads_or_fails_cleanly(recipe, counts, sets)

    run()
    _report(capsys, "--set overrides", counts)
    assert counts["fuzzed"] >= 200 and counts["refused"] > 0 and counts["loaded"] > 0


def _bomb(levels: int, fanout: int, style: str) -> str:
    """Aliases of aliases: ``fanout ** levels`` values once expanded."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * fanout) + "]"]
    for level in range(1, levels + 1):
        refs = [f"*l{level - 1}"] * fanout
        if style == "mapping":
            lines.append(f"l{level}: &l{level} {{" + ", ".join(f"k{i}: {r}" for i, r in enumerate(refs)) + "}")
        elif style == "merge":
            lines.append(f"l{level}: &l{level} {{k: [{', '.join(refs)}], <<: *l{level - 1}}}"
                         if level > 1 else f"l{level}: &l{level} {{k: [{', '.join(refs)}]}}")
        else:
            lines.append(f"l{level}: &l{level} [" + ", ".join(refs) + "]")
    return "train:\n  " + "\n  ".join(lines) + "\n"


def test_yaml_bombs_are_refused_quickly(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts: Counter[str] = Counter()

    @settings(FUZZ, max_examples=40)
    @given(levels=st.integers(5, 12), fanout=st.integers(8, 12), style=st.sampled_from(["list", "mapping", "merge"]))
    def run(levels: int, fanout: int, style: str) -> None:
        path = workdir / "fuzz_bomb.yaml"
        path.write_text(_bomb(levels, fanout, style))
        start = time.perf_counter()
        with pytest.raises(RecipeError) as info:
            load_recipe(path)
        assert time.perf_counter() - start < 0.5
        assert "\n" not in str(info.value) and str(path) in str(info.value) and "refused" in str(info.value)
        counts["fuzzed"] += 1

    run()
    _report(capsys, "YAML bombs", counts)


# --------------------------------------------------------------------------------------------------
# End to end: gan train FILE --dry-run

#: Values that stress the dry-run without asking it for gigabytes: unusual but valid, just out of range, or
#: of the wrong kind. Sizes within the recipe's bounds can still need more memory than a machine has (widths
#: 65536 in an MLP: 4e9 weights); those are left out here, as the dry run would really allocate them.
CLI_EDITS: dict[str, list[Any]] = {
    "train.batch_size": [1, 3, 1797, 1798, 65537, 10**12, -1, 0, "64", 2.5, None],
    "train.epochs": [1, 10**6, 10**6 + 1, math.nan],
    "train.steps": [1, None, 0, 10**9 + 1],
    "train.d_steps": [1, 5, 100, 101],
    "train.steps_per_call": [1, 3, 101],
    "train.precision": ["float32", "mixed_bfloat16", "float16"],
    "train.batch_selection": ["shuffle", "sorted"],
    "generator.latent_dim": [1, 2, 999, 65537, 10**9],
    "generator.widths": [[1], [3, 5], [7], [10**9], [], "wide", [65537], 16],
    "discriminator.widths": [[1], [2, 3], [10**9], [-4]],
    "generator.kernel_size": [1, 2, 3, 7, 65],
    "discriminator.kernel_size": [1, 3, 0],
    "discriminator.dropout": [0.0, 0.99, 1.0],
    "generator.activation": ["relu", "elu", "tanh", "sigmoid", "linear", "swish"],
    "generator.output_activation": ["linear", "sigmoid"],
    "generator.batch_norm": [True, False, "yes"],
    "generator.spectral_norm": [True],
    "discriminator.spectral_norm": [True],
    "generator.kernel_stddev": [None, 0.0, 1e-9, 10.0, -1.0],
    "generator.architecture": ["mlp", "dcgan", "unet", "layers"],
    "discriminator.architecture": ["mlp", "dcgan", "patchgan"],
    "loss.name": ["bce", "least_squares", "wasserstein", "hinge"],
    "loss.label_smoothing": [0.0, 0.5, 0.6],
    "loss.gradient_penalty": [0.0, 10.0],
    "optimizers.generator.name": ["adam", "rmsprop", "sgd"],
    "optimizers.discriminator.learning_rate": [0.0, 1e-12, 1000.0, math.inf],
    "data.limit": [1, 64, 10**9, 0],
    "data.image_size": [[1, 1], [3, 5], [16, 16], [8, 8], "12x12", [4097, 4097], [0, 8]],
    "data.channels": [1, 3, 2],
    "data.crop_size": [[4, 4], [8, 8], [9, 9]],
    "data.flip": [True],
    "data.source": ["digits", "npz", "folder", "paired_folder"],
    "data.path": ["/nonexistent/data.npz", None],
    "data.task": ["edges", "lowres", "thicken", None],
    "family": ["gan", "cgan", "infogan", "pix2pix", "cyclegan"],
    "sampling.grid": [[1, 1], [100, 100], [101, 1], "2x3"],
    "sampling.upscale": [1, 64, 65],
    "condition.mode": ["one_hot", "embedding"],
    "condition.embedding_dim": [1, 4096, 65537],
    "condition.generator": ["input", "batch_norm"],
    "info.categorical": [2, 1000, 1],
    "info.continuous": [0, 10],
    "discriminator.scales": [1, 2, 3, 9],
    "generator.res_blocks": [1, 2, 257],
    "translation.pool_size": [0, 1000, 1001],
    "seed": [0, 2**32 - 1, 2**32],
    "name": ["x" * 128, "x" * 129, "../up"],
}


def _set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    *sections, last = key.split(".")
    for section in sections:
        child = tree.get(section)
        if not isinstance(child, dict):
            child = tree[section] = {}
        tree = child
    tree[last] = value


def test_cli_dry_run_exits_cleanly_on_mutated_recipes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gan_cli.cli import cli

    counts: Counter[str] = Counter()
    runner = CliRunner()

    @settings(FUZZ, max_examples=30)
    @given(recipe=st.sampled_from(DIGITS_RECIPES),
           edits=st.lists(st.sampled_from(sorted(CLI_EDITS)).flatmap(
               lambda k: st.tuples(st.just(k), st.sampled_from(CLI_EDITS[k]))), min_size=1, max_size=3))
    def run(recipe: Path, edits: list[tuple[str, Any]]) -> None:
        tree = _raw(recipe)
        for key, value in edits:
            _set_dotted(tree, key, value)
        path = workdir / f"cli_{recipe.name}"
        path.write_text(_dump(tree))
        out = workdir / "cli-run-not-created"
        result = runner.invoke(cli, ["train", str(path), "--dry-run", "--out", str(out)])
        counts["fuzzed"] += 1
        assert "Traceback" not in result.output, result.output
        assert not out.exists(), "a dry run must not create the run directory"
        if result.exit_code == 0:
            assert "# generator" in result.output and "# schedule" in result.output, result.output
            counts["exit 0"] += 1
            return
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert result.exit_code in (1, 2) and len(errors) == 1, (edits, result.exit_code, result.output)
        assert "for the traceback" not in errors[0], (edits, errors[0])  # the catch-all for bugs
        assert isinstance(result.exception, SystemExit), (edits, result.exception)
        counts[f"exit {result.exit_code}"] += 1

    run()
    _report(capsys, "gan train --dry-run", counts)
    assert counts["exit 0"] > 0 and counts["exit 1"] > 0
