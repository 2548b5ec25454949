"""Docs in step with the code: every recipe key, layer type, command and option is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from gan_cli.cli import cli
from gan_cli.recipe.schema import LAYER_TYPES, schema_fields

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = Path(__file__).resolve().parents[1] / "README.md"


def _plain(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return '""' if value == "" else str(value)


def render_reference() -> str:
    """The generated part of docs/recipes.md: every key, then every layer type."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, type_text, default, doc in schema_fields():
        lines.append(f"| `{key}` | {type_text.replace('|', '&#124;')} | `{_plain(default)}` | {doc} |")
    lines += ["", "### Layer types (`architecture: layers`)", "",
              "| type | what it is | parameters (default) |", "|---|---|---|"]
    for name, cls in LAYER_TYPES.items():
        params = ", ".join(f"`{k}` ({_plain(d)})" for k, _, d, _ in schema_fields(cls)) or "none"
        lines.append(f"| `{name}` | {(cls.__doc__ or '').split('``:', 1)[1].strip()} | {params} |")
    return "\n".join(lines) + "\n"


MARKER = "## Every key\n\n"


def test_recipe_reference_is_generated_from_the_schema() -> None:
    text = (DOCS / "recipes.md").read_text()
    assert text.split(MARKER, 1)[1] == render_reference(), (
        "docs/recipes.md is out of date; regenerate it with: python tests/test_docs.py")


def test_recipe_reference_lists_every_key_and_no_stale_ones() -> None:
    text = (DOCS / "recipes.md").read_text()
    keys = {row[0] for row in schema_fields()}
    for key in keys:
        assert f"| `{key}` |" in text, f"docs/recipes.md lacks {key}"
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    assert documented - keys - set(LAYER_TYPES) == set(), "docs/recipes.md documents keys that do not exist"
    for name in LAYER_TYPES:
        assert f"| `{name}` |" in text


def test_recipe_reference_defaults_match_the_schema() -> None:
    text = (DOCS / "recipes.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line.split("|")[3].strip().strip("`")
            for line in text.splitlines() if line.startswith("| `") and "." in line.split("|")[1]}
    for key, _, default, _ in schema_fields():
        if key in rows and isinstance(default, (int, float)) and not isinstance(default, bool):
            assert float(rows[key]) == pytest.approx(default), key


def commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command, sub-commands of groups included (``recipes list``), by the words that call it."""
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix}{name} ")
    return found


def _documents_flag(text: str, flag: str) -> bool:
    return f"`{flag}" in text or f"{flag}/" in text or f"/{flag}" in text


def test_usage_covers_every_command_and_option() -> None:
    text = (DOCS / "usage.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    for param in cli.params:  # gan's own options
        if isinstance(param, click.Option):
            for flag in param.opts:
                assert _documents_flag(text, flag), ("gan", flag)
    for name, command in commands():
        assert any(f"`gan {name}`" in heading for heading in headings), f"docs/usage.md has no heading for gan {name}"
        for param in command.params:
            if isinstance(param, click.Option):
                for flag in param.opts + param.secondary_opts:
                    if flag.startswith("--"):
                        assert _documents_flag(text, flag), (name, flag)
        if not isinstance(command, click.Group):
            assert command.help and "Examples" in command.help, f"gan {name} --help shows examples"


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text()
    assert text.index("make demo") < text.index("## Usage") and "make test" in text


def test_python_dash_m_works() -> None:
    result = subprocess.run([sys.executable, "-m", "gan_cli", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "train" in result.stdout and "sample" in result.stdout


if __name__ == "__main__":
    path = DOCS / "recipes.md"
    head = path.read_text().split(MARKER, 1)[0]
    path.write_text(head + MARKER + render_reference())
    print(f"wrote {path}")
