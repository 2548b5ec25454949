"""Where the shipped recipes are, and what a recipe argument names: a file, or a shipped recipe by its name.

The shipped recipes are package data in ``gan_cli/recipe/shipped/``, each named by its file's stem (``digits_gan``).
Wherever a recipe is expected (``gan train NAME``, ``extends: NAME``), a name with no path separator and no
``.yaml``/``.yml`` suffix that is not an existing file means the shipped recipe of that name. This module reads
no recipe (``gan_cli.recipe.loading`` uses it to resolve ``extends:``); the tools built on it are in
``gan_cli.recipe.catalog``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from gan_cli.errors import GanError, RecipeError

#: Longest run (and recipe) name: a run name names a directory; file names have at most 255 bytes.
MAX_NAME_LENGTH = 128
#: Suffixes of recipe files; a name without one (and without a path separator) may name a shipped recipe.
RECIPE_SUFFIXES = (".yaml", ".yml")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")



def shipped_dir() -> Path:
    """The folder of the shipped recipes inside the installed package.

    Raises:
        GanError: the package is not installed as plain files (e.g. imported from a zip archive).
    """
    folder = resources.files("gan_cli").joinpath("recipe", "shipped")
    if not isinstance(folder, Path) or not folder.is_dir():
        raise GanError(f"the shipped recipes are not on the file system ({folder}); reinstall with pip install gan-cli")
    return folder


def shipped_names() -> list[str]:
    """Names of the shipped recipes, sorted."""
    return sorted(path.stem for path in shipped_dir().glob("*.yaml"))


def shipped_path(name: str) -> Path:
    """The file of the shipped recipe ``name``.

    Raises:
        RecipeError: no shipped recipe has that name (the message lists them).
    """
    names = shipped_names()
    if name not in names:
        raise RecipeError(f"{name}: no shipped recipe of that name; choose one of: {', '.join(names)}")
    return shipped_dir() / f"{name}.yaml"


def is_recipe_name(text: str) -> bool:
    """Whether ``text`` reads as a recipe's name rather than a path: no separator, no .yaml/.yml suffix."""
    return bool(_NAME.fullmatch(text)) and len(text) <= MAX_NAME_LENGTH and not text.lower().endswith(RECIPE_SUFFIXES)


def recipe_path(name_or_path: str | Path) -> Path:
    """The recipe file a command-line argument means: an existing file, else the shipped recipe it names.

    Returns the argument as a path when it is neither (loading it then fails with the usual "not found").

    Raises:
        RecipeError: the argument reads as a name (see :func:`is_recipe_name`), is no file, and no shipped
            recipe has it.
    """
    path = Path(name_or_path)
    if path.exists() or not is_recipe_name(str(name_or_path)):
        return path
    names = shipped_names()
    if str(name_or_path) not in names:
        raise RecipeError(f"{name_or_path}: neither a recipe file nor a shipped recipe; give a .yaml path or one of: "
                          f"{', '.join(names)}")
    return shipped_dir() / f"{name_or_path}.yaml"
