"""Errors a user can fix: each carries one line that says what is wrong and how to fix it."""


class GanError(Exception):
    """Base class for problems caused by the user's input (recipe, data, run directory).

    The CLI prints the message as one line and exits non-zero; anything else is a bug and shows a
    traceback only with ``--debug``.
    """

    #: The exit status of a command this error ends.
    exit_code = 1


class UsageError(GanError):
    """The command line asks for what cannot be: an option's value out of range for the run it names, options
    that do not go together, an output that already exists. Exit code 2, as click's own usage errors."""

    exit_code = 2


class RecipeError(GanError):
    """A recipe file or ``--set`` override is invalid."""


class OverrideSyntaxError(RecipeError, UsageError):
    """A ``--set`` that is not ``KEY=VALUE`` with a dotted key (a usage error: exit code 2)."""


class DataError(GanError):
    """A data source cannot be read: files missing, wrong format, or inconsistent images."""


class RunDirError(GanError):
    """A run directory is missing, incomplete, or would be overwritten."""


class WriteError(RunDirError):
    """A file cannot be written (disk full, permissions); what was there before is intact."""


class TrainingInterrupted(GanError):
    """Training stopped by Ctrl-C (exit code 130) or SIGTERM (143); the message says which checkpoint a resume
    continues from."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TrainingDiverged(GanError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""
