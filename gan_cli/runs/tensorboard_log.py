"""TensorBoard event files for a run, so that ``tensorboard --logdir RUN`` shows it while it trains.

Each metrics row becomes one scalar per number at the row's global step, and each sample grid an image at
its step. The records are TensorBoard's own scalar and image summaries, written with TensorFlow's summary
writer (``tf.summary.create_file_writer`` and ``tf.summary.write``): TensorFlow 2.21 no longer installs the
``tensorboard`` package that ``tf.summary.scalar`` and ``tf.summary.image`` need, and writing the same
records directly keeps training free of it. TensorBoard is needed only where a run is viewed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tensorflow as tf
from PIL import Image

from gan_cli.errors import WriteError

#: Columns of a metrics row that place it (``step`` is the x axis) rather than measure something.
POSITION_COLUMNS = ("epoch", "step", "steps_in_row")

#: TensorBoard groups tags by the part before the first "/"; the group of each known column (others: "metrics").
TAG_GROUPS = {
    **dict.fromkeys(("d_loss", "g_loss", "g_adv", "l1", "fm", "cycle", "identity", "d_a_loss", "d_b_loss"), "loss"),
    **dict.fromkeys(("d_real", "d_fake", "augment_p"), "discriminator"),
    **dict.fromkeys(("seconds", "ms_per_step"), "speed"),
    **dict.fromkeys(("fd", "diversity", "label_kl", "classes_covered", "val_l1"), "eval"),
}

#: The image tag of the sample grids.
GRID_TAG = "samples"

#: The plugins TensorBoard files scalar and image summaries under (version 0 of their data: empty content).
_SCALARS_PLUGIN = "scalars"
_IMAGES_PLUGIN = "images"


def scalar_tag(column: str) -> str:
    """The TensorBoard tag of a metrics column, e.g. ``loss/d_loss``, ``eval/fd``, ``metrics/other``."""
    return f"{TAG_GROUPS.get(column, 'metrics')}/{column}"


def _metadata(plugin: str) -> Any:
    return tf.compat.v1.SummaryMetadata(plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name=plugin))


class TensorBoardLog:
    """A run's TensorBoard event files in ``directory``; with ``directory`` None it records nothing.

    The writer (and the directory) is made on the first record, and every record is flushed at once, so a
    TensorBoard watching the run sees each epoch as it ends. Call :meth:`close` when training stops.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._writer: Any = None

    def log_row(self, row: Mapping[str, Any]) -> None:
        """One scalar per number of ``row`` (a ``metrics.csv`` row: losses, D's scores, speed, evaluation) at its
        global ``step``; the position columns and text (``health``) are left out.

        Raises:
            WriteError: the event file cannot be written.
        """
        if self.directory is None:
            return
        step = int(row["step"])
        values = {key: float(value) for key, value in row.items()
                  if key not in POSITION_COLUMNS and isinstance(value, int | float) and not isinstance(value, bool)}
        with self._writing():
            metadata = _metadata(_SCALARS_PLUGIN)
            for key, value in values.items():
                tf.summary.write(scalar_tag(key), tf.constant(value, tf.float32), step=step, metadata=metadata)

    def log_grid(self, png: Path, step: int) -> None:
        """The sample grid ``png`` as the image ``samples`` at ``step``: the PNG's bytes as written, not re-encoded.

        Raises:
            WriteError: the event file cannot be written.
        """
        if self.directory is None:
            return
        encoded = png.read_bytes()
        with Image.open(io.BytesIO(encoded)) as image:
            width, height = image.size
        with self._writing():
            # TensorBoard's image summary: a string vector [width, height, PNG, ...]
            tensor = tf.constant([str(width).encode(), str(height).encode(), encoded], tf.string)
            tf.summary.write(GRID_TAG, tensor, step=step, metadata=_metadata(_IMAGES_PLUGIN))

    def close(self) -> None:
        """Flush and close the event file (nothing happens when nothing was recorded)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The writer as TensorFlow's default (opened on first use), flushed after the block; TensorFlow's I/O
        errors become WriteError naming the directory."""
        try:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(self.directory))
            with self._writer.as_default():
                yield
            self._writer.flush()
        except (tf.errors.OpError, OSError) as exc:
            raise WriteError(f"{self.directory}: cannot write TensorBoard events ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or getattr(exc, "strerror", None) or str(exc)
    return str(message).splitlines()[0]
