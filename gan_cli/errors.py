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
