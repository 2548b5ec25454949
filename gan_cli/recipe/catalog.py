"""The shipped recipes (package data in ``gan_cli/recipe/shipped/``) and the tools for sharing recipes: list, show,
copy for editing, validate.

A shipped recipe is named by its file's stem (``digits_gan``); wherever a recipe is expected, a name with no
path separator and no ``.yaml``/``.yml`` suffix that is not an existing file means the shipped recipe of that
name (``gan train digits_gan``, ``extends: mnist_gan``). No TensorFlow here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from gan_cli.errors import GanError, RecipeError, UsageError
from gan_cli.recipe.loading import load_recipe
from gan_cli.recipe.schema import dump_recipe
from gan_cli.recipe.shipped import (
    MAX_NAME_LENGTH,
    RECIPE_SUFFIXES,
    is_recipe_name,
    recipe_path,
    shipped_dir,
    shipped_names,
)


@dataclass(frozen=True)
class RecipeSummary:
    """One line of ``gan recipes list``."""

    name: str
    description: str
    path: Path


def list_shipped() -> list[RecipeSummary]:
    """Every shipped recipe with its ``description`` (after ``extends:``), sorted by name.

    Raises:
        RecipeError: a shipped recipe does not load (a packaging bug).
    """
    return [RecipeSummary(name, load_recipe(shipped_dir() / f"{name}.yaml").description, shipped_dir() / f"{name}.yaml")
            for name in shipped_names()]


def show_recipe(name_or_path: str | Path) -> str:
    """The recipe as written, then ``---`` and the fully resolved recipe (``extends:`` merged, every default
    filled in, exactly what ``gan train`` uses): one YAML stream of two documents, each headed by a comment.

    Raises:
        RecipeError: unknown name, unreadable or invalid recipe.
    """
    path = recipe_path(name_or_path)
    resolved = dump_recipe(load_recipe(path))  # validates before anything is shown
    written = path.read_text(encoding="utf-8")
    return (f"# {path}, as written\n{written.rstrip()}\n---\n"
            f"# {path}, resolved: extends merged and every default filled in (what gan train uses)\n{resolved}")


def new_recipe(name: str, source: str | Path, folder: str | Path = ".", force: bool = False) -> Path:
    """Copy a recipe (a shipped name or a file) to ``FOLDER/NAME.yaml`` for editing, with ``name: NAME``.

    The copy gets its own header comment (what it was made from, how to train it) and a ``description`` that
    says where it came from; the other comments and the layout are kept. A shipped recipe's
    ``extends: other.yaml`` becomes ``extends: other`` (the shipped recipe's name), and another relative
    ``extends:`` is rewritten relative to FOLDER, so the copy loads as its source did.

    Returns:
        The new file's path.

    Raises:
        RecipeError: NAME is not a valid recipe name, or the source is unknown or invalid.
        UsageError: the file exists and ``force`` is false.
    """
    name = name[: -len(suffix)] if (suffix := _recipe_suffix(name)) else name
    if not is_recipe_name(name):
        raise RecipeError(f"{name!r}: a recipe name is letters, digits, '.', '_' and '-' (at most {MAX_NAME_LENGTH}), "
                          "without a folder; run gan recipes new in the folder it belongs in")
    source_path = recipe_path(source)
    original = load_recipe(source_path)  # refuse to copy a broken recipe
    target = Path(folder) / f"{name}.yaml"
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists; edit it, choose another NAME, or add --force to overwrite it")
    text = _retarget_extends(_set_name(source_path.read_text(encoding="utf-8"), name), source_path, Path(folder))
    made_from = f"made from {source}"
    text = _set_description(text, f"{made_from}: {original.description}" if original.description else made_from)
    text = _set_header(text, f"# {name}: {made_from} by gan recipes new; train with: gan train {target}")
    target.write_text(text, encoding="utf-8")
    load_recipe(target)  # the copy must load as its source did
    return target


def validate_files(paths: Iterable[str | Path]) -> list[tuple[Path, str | None]]:
    """Load and fully validate each recipe file (a folder stands for its .yaml/.yml files).

    Returns:
        ``(file, None)`` for each valid recipe, ``(file, problem)`` for each invalid one, in order; the
        problem is one line and starts with the file.
    """
    results: list[tuple[Path, str | None]] = []
    for given in paths:
        path = Path(given)
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in RECIPE_SUFFIXES) if path.is_dir() else [path]
        if not files:
            results.append((path, f"{path}: no .yaml or .yml recipes in this folder"))
        for file in files:
            try:
                load_recipe(file)
            except GanError as exc:
                message = str(exc)
                results.append((file, message if message.startswith(f"{file}:") else f"{file}: {message}"))
            else:
                results.append((file, None))
    return results


def _recipe_suffix(name: str) -> str | None:
    return next((s for s in RECIPE_SUFFIXES if name.lower().endswith(s)), None)


def _set_name(text: str, name: str) -> str:
    """``text`` with its top-level ``name:`` line replaced (or added after ``extends:`` or the leading comments)."""
    value = name if yaml.safe_load(name) == name else f'"{name}"'  # quote names YAML reads otherwise (true, 1e3)
    line = f"name: {value}"
    pattern = re.compile(r"^name:.*$", re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(line, text, count=1)
    lines = text.splitlines(keepends=True)
    at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("extends:")), None)
    if at is None:
        at = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), len(lines))
    lines.insert(at, line + "\n")
    return "".join(lines)


def _set_description(text: str, description: str) -> str:
    """``text`` with its top-level ``description:`` (and any indented lines continuing it) replaced, or added
    after the ``name:`` line."""
    line = f"description: {json.dumps(description, ensure_ascii=False)}"  # a JSON string is a YAML string
    pattern = re.compile(r"^description:.*(?:\n[ \t]+.*)*$", re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(lambda _: line, text, count=1)
    return re.sub(r"^name:.*$", lambda found: f"{found.group(0)}\n{line}", text, count=1, flags=re.MULTILINE)


def _set_header(text: str, header: str) -> str:
    """``text`` with its leading comment block (the source's own header) replaced by ``header`` (one line: any
    control character in it, e.g. from a file name, becomes ``?``)."""
    header = "".join(c if c.isprintable() else "?" for c in header)
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), len(lines))
    return header + "\n" + "".join(lines[start:])


def _retarget_extends(text: str, source: Path, folder: Path) -> str:
    """``text``'s top-level ``extends:`` made to name the same recipe from ``folder``: a shipped recipe's
    sibling ``other.yaml`` as ``other``, any other relative path relative to ``folder``."""
    shipped = source.parent.resolve() == shipped_dir().resolve()

    def retarget(match: re.Match[str]) -> str:
        value = match.group(1).strip("'\"")
        base = source.parent / value
        if Path(value).is_absolute() or not base.is_file():
            return match.group(0)  # a shipped name, or a path that did not resolve: left as written
        if shipped:
            return f"extends: {base.stem}"
        return f"extends: {os.path.relpath(base, folder)}"

    return re.sub(r"^extends:[ \t]*(\S+)[ \t]*(?:#.*)?$", retarget, text, count=1, flags=re.MULTILINE)
