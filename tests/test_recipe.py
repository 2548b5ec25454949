"""Recipe loading: defaults, extends, --set overrides, and every kind of validation error."""

from __future__ import annotations

import time
import typing
from pathlib import Path

import pytest
import yaml

from gan_cli.errors import RecipeError
from gan_cli.recipe.loading import load_recipe, parse_recipe
from gan_cli.recipe.schema import DataSource, DenseLayer, Recipe, changed_keys, dump_recipe, schema_fields

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def error_of(path: Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(RecipeError) as info:
        load_recipe(path, overrides or [])
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_are_the_tutorial(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path / "empty.yaml", "{}\n"))  # every default (an empty file is refused)
    assert recipe.generator.latent_dim == 100
    assert recipe.generator.widths == (256, 512, 1024)
    assert recipe.generator.output_activation == "tanh"
    assert recipe.discriminator.widths == (1024, 512, 256)
    assert recipe.discriminator.dropout == 0.3
    assert recipe.discriminator.output_activation == "sigmoid"
    assert recipe.loss.name == "bce" and recipe.loss.label_smoothing == pytest.approx(0.1)
    assert recipe.optimizers.generator.learning_rate == pytest.approx(2e-4)
    assert recipe.optimizers.discriminator.beta_1 == pytest.approx(0.5)
    assert recipe.train.batch_size == 128 and recipe.train.epochs == 400
    assert recipe.name == "empty"


def test_mnist_recipe_is_the_tutorial_exactly() -> None:
    recipe = load_recipe(REPO / "recipes" / "mnist_gan.yaml")
    assert recipe.data.source == "mnist"
    g, d = recipe.generator, recipe.discriminator
    assert (g.architecture, g.latent_dim, g.widths, g.activation, g.negative_slope) == \
        ("mlp", 100, (256, 512, 1024), "leaky_relu", 0.2)
    assert (g.kernel_stddev, g.kernel_stddev_layers, g.output_activation) == (0.02, "first", "tanh")
    assert (d.architecture, d.widths, d.dropout, d.output_activation) == ("mlp", (1024, 512, 256), 0.3, "sigmoid")
    assert (d.kernel_stddev, d.kernel_stddev_layers, d.batch_norm) == (0.02, "first", False)
    assert 1 - recipe.loss.label_smoothing == pytest.approx(0.9)
    for opt in (recipe.optimizers.generator, recipe.optimizers.discriminator):
        assert (opt.name, opt.learning_rate, opt.beta_1) == ("adam", 2e-4, 0.5)
    assert (recipe.train.batch_size, recipe.train.epochs, recipe.train.batch_selection) == (128, 400, "random")
    assert (recipe.sampling.grid, recipe.sampling.every_epochs, recipe.sampling.invert) == ((10, 10), 20, True)


@pytest.mark.parametrize("path", sorted((REPO / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_loads_and_round_trips(path: Path) -> None:
    recipe = load_recipe(path)
    assert path.read_text().startswith("#"), "each recipe opens with a comment saying how to run it"
    assert parse_recipe(yaml.safe_load(dump_recipe(recipe))) == recipe


def test_extends_merges_sections_and_records_the_base(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "train: {epochs: 7, batch_size: 32}\ndata: {source: digits}\n")
    child = write(tmp_path / "child.yaml", "extends: base.yaml\ntrain: {epochs: 3}\n")
    recipe = load_recipe(child)
    assert (recipe.train.epochs, recipe.train.batch_size, recipe.data.source) == (3, 32, "digits")
    write(tmp_path / "bad_base.yaml", "train: {batch_size: 0}\n")
    message = error_of(write(tmp_path / "c2.yaml", "extends: bad_base.yaml\n"))
    assert "bad_base.yaml" in message and "train.batch_size" in message


def test_extends_cycle_and_missing_base(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    assert "cycle" in error_of(tmp_path / "a.yaml")
    assert "not found" in error_of(write(tmp_path / "c.yaml", "extends: nope.yaml\n"))


def test_set_overrides_parse_yaml_values(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", "data: {source: digits}\n")
    recipe = load_recipe(path, ["train.batch_size=64", "generator.widths=[32, 64]", "seed=5",
                                "optimizers.generator.learning_rate=1e-3", "data.image_size=16x16"])
    assert recipe.train.batch_size == 64
    assert recipe.generator.widths == (32, 64)
    assert recipe.seed == 5
    assert recipe.optimizers.generator.learning_rate == pytest.approx(1e-3)
    assert recipe.data.image_size == (16, 16)


@pytest.mark.parametrize("override, expected", [
    ("train.batch_size=0", ["--set train.batch_size=0", "train.batch_size", "out of range", "[1, 65536]"]),
    ("data.source=digts", ["data.source", "'digts'", "did you mean 'digits'", "valid choices", "mnist"]),
    ("train.epoch=3", ["train.epoch", "unknown key", "did you mean 'epochs'", "valid keys"]),
    ("generator.architecture=mpl", ["generator.architecture", "did you mean 'mlp'", "dcgan"]),
    ("loss.name=hinge_loss", ["loss.name", "valid choices: bce, least_squares"]),
    ("optimizers.generator.name=adamw", ["optimizers.generator.name", "did you mean 'adam'"]),
    ("train.batch_size=big", ["train.batch_size", "expected an integer", "'big'"]),
    ("train.epochs=2.5", ["train.epochs", "expected an integer"]),
    ("sampling.invert=maybe", ["sampling.invert", "expected true or false"]),
    ("loss.label_smoothing=0.7", ["loss.label_smoothing", "[0.0, 0.5]"]),
    ("discriminator.dropout=1", ["discriminator.dropout", "[0.0, 1.0)"]),
    ("data.channels=2", ["data.channels", "valid choices: 1, 3"]),
    ("sampling.grid=3", ["sampling.grid", "expected a list of 2"]),
    ("train=3", ["train", "expected a mapping"]),
    ("optimizers.generator={name: sgd, beta_1: 0.5}", ["beta_1", "does not apply to sgd"]),
    ("generator.layers=[{type: dens, units: 3}]", ["generator.layers[0].type", "did you mean 'dense'"]),
    ("generator.layers=[{type: dense}]", ["generator.layers[0].units", "missing"]),
    ("nonsense", ["expected KEY=VALUE"]),
])
def test_bad_values_fail_with_one_clear_line(tmp_path: Path, override: str, expected: list[str]) -> None:
    path = write(tmp_path / "r.yaml", "data: {source: digits}\n")
    message = error_of(path, [override])
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_errors_name_the_file_for_keys_it_set(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", "train:\n  batch_size: -1\n")
    message = error_of(path)
    assert message.startswith(str(path)) and "train.batch_size" in message and "-1" in message


def test_invalid_yaml_and_wrong_top_level(tmp_path: Path) -> None:
    assert "not valid YAML at line 2" in error_of(write(tmp_path / "a.yaml", "train:\n  epochs: : 3\n"))
    assert "must be a YAML mapping" in error_of(write(tmp_path / "b.yaml", "- 1\n- 2\n"))
    assert "not found" in error_of(tmp_path / "missing.yaml")


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch {marker}']", "!!python/name:os.system",
                                 "!!python/object/new:os.system ['touch {marker}']", "!!python/tuple [1, 2]", "!foo 3"])
def test_yaml_tags_are_not_executed(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "marker"
    path = write(tmp_path / "evil.yaml", f"name: {tag.format(marker=marker)}\n")
    message = error_of(path)
    assert message.startswith(f"{path}: not valid YAML at line 1") and "is not allowed" in message, message
    assert tag.split()[0] in message and not marker.exists()
    set_message = error_of(REPO / "recipes" / "digits_gan.yaml", [f"name={tag.format(marker=marker)}"])
    assert set_message.startswith("--set name=") and "is not allowed" in set_message and not marker.exists()


def _laughs(levels: int = 9, fanout: int = 10) -> str:
    """The "billion laughs": each level holds ``fanout`` aliases of the previous one (10**9 values built)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    return "train:\n  " + "\n  ".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.yaml", _laughs())
    start = time.perf_counter()
    message = error_of(path)
    assert time.perf_counter() - start < 0.5
    assert message.startswith(f"{path}: refused at line") and "expand to more than 100,000 values" in message
    start = time.perf_counter()
    flow = "{" + _laughs(6).removeprefix("train:\n  ").strip().replace("\n  ", ", ") + "}"  # 10**7 values
    message = error_of(REPO / "recipes" / "digits_gan.yaml", [f"train={flow}"])
    assert time.perf_counter() - start < 0.5
    assert message.startswith("--set train=") and "refused" in message


@pytest.mark.parametrize("text, fragment", [
    ("a: &a [*a]\n", "recursive structure"),
    ("a: " + "[" * 100 + "]" * 100 + "\n", "nested more than 64 levels deep"),
    ("a: &a [x]\nb: [" + ", ".join(["*a"] * 101) + "]\n", "more than 100 YAML aliases"),
    ("a: &a " + "[" * 40 + "x" + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n", "aliases nest lists"),
])
def test_alias_and_nesting_limits(tmp_path: Path, text: str, fragment: str) -> None:
    message = error_of(write(tmp_path / "r.yaml", text))
    assert "refused" in message and fragment in message, message


def test_extends_chains_have_a_limit(tmp_path: Path) -> None:
    for i in range(40):
        write(tmp_path / f"r{i}.yaml", f"extends: r{i + 1}.yaml\n" if i < 39 else "train: {epochs: 2}\n")
    assert load_recipe(tmp_path / "r8.yaml").train.epochs == 2  # a chain of 32 recipes
    assert "more than 32 recipes extend each other" in error_of(tmp_path / "r0.yaml")


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path / "r.yaml", """
optimizers:
  generator: &adam {name: adam, learning_rate: 0.001, beta_1: 0.5}
  discriminator: {<<: *adam, learning_rate: 0.0004}
"""))
    assert recipe.optimizers.generator.learning_rate == pytest.approx(1e-3)
    assert (recipe.optimizers.discriminator.learning_rate, recipe.optimizers.discriminator.beta_1) == (4e-4, 0.5)


def test_recipe_files_have_a_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * (2**20 // 10) + "train: {epochs: 1}\n")
    message = error_of(path)
    assert message.startswith(str(path)) and "larger than the limit of 1,048,576 bytes (1 MiB)" in message
    assert "longer than the limit" in error_of(REPO / "recipes" / "digits_gan.yaml", ["name=" + "x" * 2**21])


def test_layer_lists_validate_each_layer(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", """
generator:
  architecture: layers
  layers:
    - {type: dense, units: 64, kernel_stddev: 0.02}
    - {type: activation, name: leaky_relu}
    - {type: dense, units: 784, activation: tanh}
""")
    recipe = load_recipe(path)
    assert recipe.generator.layers is not None
    assert recipe.generator.layers[0] == DenseLayer(units=64, kernel_stddev=0.02)


def test_optimizer_params_of_another_optimizer_are_dropped_when_defaulted(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path / "r.yaml", "optimizers: {generator: {name: rmsprop, rho: 0.8}}\n"))
    assert recipe.optimizers.generator.beta_1 is None
    assert recipe.optimizers.generator.rho == pytest.approx(0.8)


def test_changed_keys_lists_dotted_paths() -> None:
    a = parse_recipe({})
    b = parse_recipe({"train": {"epochs": 9}, "generator": {"widths": [4]}})
    assert changed_keys(a, b) == ["generator.widths", "train.epochs"]


def test_schema_documents_every_field() -> None:
    rows = schema_fields()
    keys = {row[0] for row in rows}
    assert {"data.source", "data.path", "train.epochs", "train.steps", "train.batch_size", "seed"} <= keys
    assert all(row[3] for row in rows), "every field has a description"
    assert next(r for r in rows if r[0] == "data.source")[1] == " | ".join(typing.get_args(DataSource))


def test_recipe_is_frozen() -> None:
    recipe = Recipe()
    with pytest.raises(AttributeError):
        recipe.seed = 3  # type: ignore[misc]


def test_names_are_safe_for_paths(tmp_path: Path) -> None:
    assert load_recipe(write(tmp_path / "my recipe.yaml", "{}")).name == "my_recipe"
    message = error_of(write(tmp_path / "r.yaml", "name: ../../etc\n"))
    assert "name" in message and "not allowed" in message


def test_switching_optimizer_drops_inherited_parameters() -> None:
    path = REPO / "recipes" / "digits_gan.yaml"
    for override in ("optimizers.generator={name: rmsprop, learning_rate: 5e-5}", "optimizers.generator.name=sgd"):
        spec = load_recipe(path, [override]).optimizers.generator
        assert spec.beta_1 is None and spec.name in ("rmsprop", "sgd")


@pytest.mark.parametrize("text, fragment", [
    # found by tests/reliability/test_recipe_fuzz.py: each used to escape as another exception, or to hang
    ("train: {epochs: .nan}\n", "train.epochs: expected an integer, got nan"),
    ("train: {epochs: .inf}\n", "train.epochs: expected an integer, got inf"),
    ("name: 2020-13-45\n", "cannot read '2020-13-45' as timestamp (month must be in 1..12)"),
    ("sampling: {invert: !!bool maybe}\n", "cannot read 'maybe' as bool"),
    ("loss: {gradient_penalty: !!float x}\n", "cannot read 'x' as float"),
    ("{[1]: 2}\n", "a key must be a plain value, not a list or mapping"),
    ("seed: 0x" + "f" * 5000 + "\n", "integer too large"),
    ("generator: {architecture: layers, layers: [{type: [1]}]}\n", "generator.layers[0].type: unknown layer type [1]"),
    ("data: {'a[': 1}\n", "data.'a[': unknown key"),
    ('"a\\nb": 1\n', "'a\\nb': unknown key"),
    ("sampling: {grid: " + "1" * 5000 + "x2}\n", "sampling.grid: expected a list of 2"),
    ("extends: " + "a" * 5000 + "\n", "extends: 'aaaa"),
    ('data: {source: npz, path: "a\\0b"}\n', "data.path: 'a\\x00b' contains a NUL character"),
    ("name: " + "a" * 129 + "\n", "is 129 characters long; at most 128 are allowed"),
    ("a: b\x00c\n", "character U+0000 is not allowed"),
    # upper bounds: a typo cannot ask the builders for 10**12 units
    ("train: {batch_size: 1000000000000}\n", "train.batch_size: 1000000000000 is out of range; expected a value "
                                             "in [1, 65536]"),
    ("data: {image_size: 5000x5000}\n", "data.image_size[0]: 5000 is out of range; expected a value in [1, 4096]"),
    ("generator: {widths: [1000000000]}\n", "generator.widths[0]: 1000000000 is out of range"),
    ("generator: {latent_dim: 65537}\n", "generator.latent_dim: 65537 is out of range; expected a value in [1, "
                                         "65536]"),
    ("train: {epochs: 1000001}\n", "train.epochs: 1000001 is out of range; expected a value in [1, 1000000]"),
    ("sampling: {grid: 101x10}\n", "sampling.grid[0]: 101 is out of range; expected a value in [1, 100]"),
    ("generator: {architecture: layers, layers: [{type: conv2d, filters: 8, kernel_size: 65}]}\n",
     "generator.layers[0].kernel_size: 65 is out of range; expected a value in [1, 64]"),
    ("loss: {label_smoothing: .nan}\n", "finite"),
    ("optimizers: {generator: {learning_rate: .inf}}\n", "finite"),
    ("seed: 5000000000\n", "[0, 4294967295]"),
    ("train:\n  epochs: 2\n  epochs: 3\n", "duplicate key 'epochs'"),
    ("generator: {layers: [{type: flatten}]}\n", "only used with architecture: layers"),
    ("generator: {architecture: layers}\n", "needs a list of layers"),
])
def test_more_invalid_recipes(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in error_of(write(tmp_path / "r.yaml", text))


def test_binary_recipe_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    assert "not a text file" in error_of(path)
