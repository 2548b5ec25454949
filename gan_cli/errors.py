"""Errors a user can fix: each carries one line that says what is wrong and how to fix it."""


class GanError(Exception):
    """Base class for problems caused by the user's input (recipe, data, run directory).

    The CLI prints the message as one line and exits non-zero; anything else is a bug and shows a
    traceback only with ``--debug``.
    """


class RecipeError(GanError):
    """A recipe file or ``--set`` override is invalid."""


class DataError(GanError):
    """A data source cannot be read: files missing, wrong format, or inconsistent images."""


class RunDirError(GanError):
    """A run directory is missing, incomplete, or would be overwritten."""


class TrainingInterrupted(GanError):
    """Training stopped by Ctrl-C; the message says which checkpoint a resume continues from."""

    exit_code = 130


class TrainingDiverged(GanError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""
