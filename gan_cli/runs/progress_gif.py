"""The progress GIF: a run's sample grids, in training order, as one animation with each frame captioned.

Frames are ``RUN/samples/epoch_NNNN.png`` in epoch order, and ``step_NNNNNNN.png`` (the grid of a run that
``train.steps`` stopped inside an epoch) placed by its step. Each frame is the grid exactly as written, over a
thin strip saying which epoch (or step) it shows; the last frame stays on screen longer. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from gan_cli.errors import RunDirError
from gan_cli.files import atomic_path, read_json_object
from gan_cli.runs.run_dir import (
    RunDir,
    SampleGridFile,
    evenly_spaced,
    open_run,
    read_metrics,
    run_steps_per_epoch,
    sample_grid_files,
)

#: Frames per second of ``gan animate`` and the GIF written at the end of training.
DEFAULT_FPS = 4.0
#: The last frame is shown this long (or two frames' time, when that is longer).
HOLD_LAST_MS = 2000
#: At most this many frames: a run with more grids is shown at evenly spaced ones (always the first and last).
MAX_FRAMES = 200
#: Caption strip: text colour on background, in grey levels (frames in colour use the same greys).
CAPTION_INK, CAPTION_PAPER = 0, 255

def sample_grids(run: RunDir, steps_per_epoch: int | None = None) -> list[SampleGridFile]:
    """The run's sample grids in training order; ``steps_per_epoch`` places ``step_`` grids among the epoch
    grids (None: read from ``summary.json`` or ``metrics.csv``; without either they come after the epoch grids,
    by step)."""
    if steps_per_epoch is None:
        steps_per_epoch = run_steps_per_epoch(read_json_object(run.summary),
                                              read_metrics(run.metrics) if run.metrics.is_file() else ())
    return sample_grid_files(run, steps_per_epoch)


def animate_run(root: str | Path, out: str | Path | None = None, fps: float = DEFAULT_FPS) -> tuple[Path, int]:
    """``gan animate RUN``: write the run's progress GIF to ``out`` (default ``RUN/progress.gif``).

    Returns:
        The path written and its number of frames.

    Raises:
        RunDirError: not a run directory, or fewer than two sample grids to animate.
        WriteError: ``out`` cannot be written.
    """
    run = open_run(root)
    grids = sample_grids(run)
    if len(grids) < 2:
        found = "no sample grids" if not grids else f"one sample grid ({grids[0].path.name})"
        raise RunDirError(f"{run.samples}: {found}; a progress GIF needs at least two: train longer "
                          "(gan train RUN --resume --set train.epochs=N) or lower sampling.every_epochs")
    path = Path(out) if out is not None else run.progress_gif
    return path, write_gif(grids, path, fps)


def update_progress_gif(run: RunDir, steps_per_epoch: int | None = None) -> Path | None:
    """At the end of training: (re)write ``RUN/progress.gif`` when the run has at least two grids.

    Returns:
        The path written, or None (fewer than two grids).

    Raises:
        WriteError: the GIF cannot be written.
    """
    grids = sample_grids(run, steps_per_epoch)
    if len(grids) < 2:
        return None
    write_gif(grids, run.progress_gif)
    return run.progress_gif


def write_gif(grids: Sequence[SampleGridFile], path: Path, fps: float = DEFAULT_FPS) -> int:
    """Write ``grids`` (at most MAX_FRAMES of them, evenly spaced) as a looping GIF, atomically; returns the
    number of frames.

    Each frame is a grid over its caption; all frames share the size of the largest grid. Grey grids stay
    exact grey levels; colour grids get each frame's own 256-colour palette.

    Raises:
        RunDirError: a grid cannot be read.
        WriteError: ``path`` cannot be written.
    """
    if not grids:
        raise ValueError("write_gif needs at least one grid")
    if not 0 < fps <= 100:
        raise ValueError(f"fps must be in (0, 100], got {fps}")
    chosen = [grids[i] for i in evenly_spaced(len(grids), MAX_FRAMES)]
    pictures = [_read(grid.path) for grid in chosen]
    mode = "L" if all(p.mode == "L" for p in pictures) else "RGB"
    font = ImageFont.load_default()
    strip = _text_height(font) + 6
    width = max(p.width for p in pictures)
    height = max(p.height for p in pictures) + strip
    frames = []
    for grid, picture in zip(chosen, pictures):
        frame = Image.new(mode, (width, height), _grey(mode, CAPTION_PAPER))
        frame.paste(picture.convert(mode), (0, 0))
        ImageDraw.Draw(frame).text((3, height - strip + 2), grid.label(), fill=_grey(mode, CAPTION_INK), font=font)
        frames.append(frame)
    frame_ms = 1000 / fps
    durations = [round(frame_ms)] * (len(frames) - 1) + [round(max(HOLD_LAST_MS, 2 * frame_ms))]
    with atomic_path(path, suffix=".gif") as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return len(frames)


def _read(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return image if image.mode in ("L", "RGB") else image.convert("RGB")
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read this sample grid ({exc}); delete it and run gan animate "
                          "again") from None


def _grey(mode: str, level: int) -> int | tuple[int, int, int]:
    return level if mode == "L" else (level, level, level)


def _text_height(font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> int:
    return int(font.getbbox("epoch 0123456789")[3])
