"""What the ``gan`` command prints and how: ``--quiet``, ``--verbose`` and colour (``NO_COLOR``).

Library code reports through a plain ``echo(line)`` callable. Two kinds of line are recognised by their first word,
a convention the library keeps: ``warning: ...`` (something the user should act on) and ``done: ...`` (the result
of a long command). ``--quiet`` keeps only those, the results a command prints itself, and errors;
``--verbose`` adds detail (TensorFlow's own warnings, the models' sizes before training).
Colour goes only to a terminal (click strips it elsewhere) and never when ``NO_COLOR`` is set to anything
non-empty (https://no-color.org).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import click

QUIET, NORMAL, VERBOSE = -1, 0, 1

#: Lines ``--quiet`` still shows, by their first word.
_KEPT_WHEN_QUIET = ("warning:", "done:", "SIGINT:", "SIGTERM:")
_COLOURS = {"warning:": "yellow", "Error:": "red", "WARNING:": "yellow"}


def verbosity() -> int:
    """QUIET, NORMAL or VERBOSE, from the root command's ``--quiet`` / ``--verbose`` (NORMAL outside a command)."""
    context = click.get_current_context(silent=True)
    if context is None:
        return NORMAL
    params = context.find_root().params
    return QUIET if params.get("quiet") else VERBOSE if params.get("verbose") else NORMAL


def colour_allowed() -> bool:
    """False when ``NO_COLOR`` is set to a non-empty value."""
    return not os.environ.get("NO_COLOR")


def say(line: str, err: bool = False) -> None:
    """Print one line, its leading ``warning:`` / ``Error:`` coloured where colour is allowed."""
    first, _, rest = line.partition(" ")
    if first in _COLOURS and colour_allowed():
        line = click.style(first, fg=_COLOURS[first], bold=True) + (" " + rest if rest else "")
    click.echo(line, err=err)


def library_echo() -> Callable[[str], None]:
    """The ``echo`` to hand to library code: every line, or with ``--quiet`` only warnings and results."""
    if verbosity() != QUIET:
        return say

    def quiet(line: str) -> None:
        if line.startswith(_KEPT_WHEN_QUIET):
            say(line)

    return quiet


def progress_bars(requested: bool | None) -> bool | None:
    """``--progress/--no-progress`` as given; unset means off with ``--quiet`` and otherwise only on a terminal
    (None, tqdm's own test)."""
    if requested is None and verbosity() == QUIET:
        return False
    return requested
