"""``gan report``: one self-contained HTML page per run or per comparison, checked in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_cli.cli import cli
from gan_cli.runs.run_dir import TRANSLATION_COLUMNS, read_metrics, write_metrics

#: Debian's package; ``make test`` installs it when it can (see the Makefile's ``browser`` step).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1", "--force-color-profile=srgb")
IMAGES = re.compile(r'<img( class="pixelated")?[^>]*? src="data:image/(png|gif);base64,([A-Za-z0-9+/=]+)"')


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny real runs (16 steps, a grid per epoch) that differ in the generator's learning rate."""
    from conftest import TINY_RECIPE

    folder = tmp_path_factory.mktemp("report-runs")
    recipe = folder / "tiny.yaml"
    recipe.write_text(TINY_RECIPE)
    made = {"base": folder / "base", "fast": folder / "fast"}
    for name, extra in (("base", ()), ("fast", ("--set", "optimizers.generator.learning_rate=0.001"))):
        code, output = invoke("train", recipe, "--out", made[name], *extra)
        assert code == 0, output
    return made


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / run.name
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoints", "*.keras"))
    return copy


def embedded_images(page: str) -> list[tuple[bool, str, np.ndarray]]:
    """``(pixelated, kind, RGB pixels)`` of every ``<img>`` in the page."""
    found = []
    for match in IMAGES.finditer(page):
        with Image.open(io.BytesIO(base64.b64decode(match.group(3)))) as picture:
            found.append((bool(match.group(1)), match.group(2), np.asarray(picture.convert("RGB"))))
    return found


def locate(screen: np.ndarray, picture: np.ndarray) -> tuple[int, int] | None:
    """Where ``picture`` appears pixel for pixel in ``screen`` (top-left corner), or None."""
    def packed(pixels: np.ndarray) -> np.ndarray:
        wide = pixels.astype(np.int32)
        return (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]

    big, small = packed(screen), packed(picture)
    values, counts = np.unique(big, return_counts=True)
    colours = np.unique(small)
    where = np.searchsorted(values, colours).clip(0, len(values) - 1)
    present = values[where] == colours
    if not present.any():
        return None
    rarest = colours[present][np.argmin(counts[where][present])]  # few places to try
    anchor_y, anchor_x = (int(v[0]) for v in np.nonzero(small == rarest))
    height, width = small.shape
    for y, x in zip(*np.nonzero(big == rarest)):
        top, left = int(y) - anchor_y, int(x) - anchor_x
        if (0 <= top <= big.shape[0] - height and 0 <= left <= big.shape[1] - width
                and np.array_equal(big[top:top + height, left:left + width], small)):
            return top, left
    return None


def screenshot(page: Path, tmp_path: Path, size: tuple[int, int] = (1100, 2600)) -> np.ndarray:
    assert CHROMIUM is not None
    shot = tmp_path / "shot.png"
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                    f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()],
                   capture_output=True, timeout=60, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    with Image.open(shot) as picture:
        return np.asarray(picture.convert("RGB"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it with apt-get when "
                                             "run as root; or: apt-get install -y chromium)")
def test_report_shows_sample_grids_and_loss_curves_in_a_browser(runs: dict[str, Path], tmp_path: Path) -> None:
    code, output = invoke("report", runs["base"])
    page = runs["base"] / "report.html"
    assert code == 0 and output.strip() == f"wrote {page}", output
    text = page.read_text()
    images = embedded_images(text)
    grids = [pixels for pixelated, kind, pixels in images if pixelated and kind == "png"]
    curves = [pixels for pixelated, kind, pixels in images if not pixelated and kind == "png"]
    assert len(grids) == 2 and len(curves) == 1  # epoch 1 and 2; one loss figure
    screen = screenshot(page, tmp_path)
    for name, pixels in [("grid epoch 1", grids[0]), ("grid epoch 2", grids[1]), ("loss curves", curves[0])]:
        assert pixels.std() > 0, name
        assert locate(screen, pixels) is not None, f"{name} is not shown 1:1 in the rendered page"
    assert text.index("epoch 1</figcaption>") < text.index("epoch 2</figcaption>")


def test_report_is_self_contained_and_escapes_what_it_quotes(runs: dict[str, Path], tmp_path: Path) -> None:
    run = copy_run(runs["base"], tmp_path)
    with (run / "recipe.yaml").open("a") as handle:
        handle.write('# <script>alert("x")</script> & <b>bold</b>\n')
    rows = read_metrics(run / "metrics.csv")
    rows[1]["health"] = "mode collapse: <diversity> fell"
    write_metrics(run / "metrics.csv", rows)
    code, output = invoke("report", run, "--out", tmp_path / "page.html")
    assert code == 0, output
    text = (tmp_path / "page.html").read_text()
    assert "<script" not in text and "<b>bold" not in text and "<diversity>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    assert "<td>2</td><td>mode collapse: &lt;diversity&gt; fell</td>" in text  # the warning with its epoch
    assert not re.search(r"https?://", text)
    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]*)""", text)
    assert references and all(r.startswith("data:") for r in references)
    assert "@import" not in text and "url(" not in text and "<link" not in text and "<script" not in text


def test_report_of_a_partial_run_with_eval_best_and_animation(runs: dict[str, Path], tmp_path: Path) -> None:
    run = copy_run(runs["base"], tmp_path)
    (run / "summary.json").unlink()  # as while training: only metrics.csv and some grids
    result = {"tool": "gan 0.1.0", "created": "2026-01-01T00:00:00+00:00", "evaluated": str(run / "generator.keras"),
              "n_fake": 200, "n_real": 200, "split": "test", "seed": 0, "evaluator_sha256": "9000631def954e87" * 4,
              "evaluator": {"kind": "classifier", "source": "digits", "test_accuracy": 0.9933},
              "floor": {"fd": 14.065, "n_stand_in": 200, "n_reference": 200},
              "metrics": {"fd": 337.031, "kid": {"mean": 17.81419, "std": 1.36605}}, "checkpoint": {"step": 16}}
    (run / "eval.json").write_text(json.dumps(result))
    (run / "best").mkdir()
    (run / "best" / "generator.json").write_text(json.dumps({"fd": 123.456, "step": 8, "epoch": 1.0, "n": 200,
                                                             "against": "test"}))
    frames = [Image.new("L", (6, 6), shade) for shade in (0, 255)]
    frames[0].save(run / "progress.gif", save_all=True, append_images=frames[1:])
    code, output = invoke("report", run)
    assert code == 0, output
    text = (run / "report.html").read_text()
    assert "No summary.json yet" in text and "<th>steps</th><td>16</td>" in text
    assert "337.031 (floor 14.065: 200 real train vs 200 test images)" in text and "17.81419" in text
    assert "9000631def954e87" in text and "200 fake vs 200 real (test split)" in text
    assert "<th>FD</th><td>123.456</td>" in text and "best/generator.json" in text
    assert "data:image/gif;base64," in text


def test_report_of_a_translation_run_shows_its_own_terms(runs: dict[str, Path], tmp_path: Path) -> None:
    run = copy_run(runs["base"], tmp_path)
    (run / "recipe.yaml").write_text((run / "recipe.yaml").read_text().replace("family: gan", "family: cyclegan"))
    rows = [{"epoch": e, "step": 4 * e, "steps_in_row": 4, "d_loss": 0.5, "g_loss": 9.0 - e, "d_real": 0.6,
             "d_fake": 0.4, "g_adv": 0.9,
             "cycle": 0.8 / e, "identity": 0.4 / e, "d_a_loss": 0.3, "d_b_loss": 0.2, "seconds": e,
             "ms_per_step": 20.0, "val_l1": 0.4 / e, "health": ""} for e in (1, 2, 3)]
    write_metrics(run / "metrics.csv", rows, TRANSLATION_COLUMNS)  # CycleGAN's columns
    (run / "summary.json").unlink()
    result = {"n_fake": 64, "n_real": 64, "split": "train", "seed": 0, "evaluator_sha256": "ab" * 32,
              "evaluator": {"kind": "classifier", "source": "digits", "test_accuracy": 0.99},
              "floor": {"fd": 20.1, "n_stand_in": 64, "n_reference": 64}, "metrics": {"fd": 42.5},
              "translation": {"direction": "a2b", "n_inputs": 64, "inputs_split": "test",
                              "output": {"l1": 0.1234, "psnr": 17.5, "ssim": 0.8765},
                              "copy_input": {"l1": 0.3, "psnr": 9.25, "ssim": 0.5, "fd": 99.0}}}
    (run / "eval.json").write_text(json.dumps(result))
    code, output = invoke("report", run)
    assert code == 0, output
    text = (run / "report.html").read_text()
    assert "cyclegan" in text and "<th>final val_l1</th><td>0.1333</td>" in text
    assert "<tr><th>output</th><td>0.1234</td><td>17.50</td><td>0.8765</td><td>42.500</td></tr>" in text
    assert "<tr><th>copy input</th><td>0.3000</td><td>9.25</td><td>0.5000</td><td>99.000</td></tr>" in text
    curves = [pixels for pixelated, kind, pixels in embedded_images(text) if not pixelated and kind == "png"]
    assert len(curves) == 1 and curves[0].shape[0] == 780  # three panels: losses, D scores, generator terms


def test_two_runs_give_a_comparison_naming_the_differing_recipe_key(runs: dict[str, Path], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = invoke("report", runs["base"], runs["fast"])
    assert code == 0 and output.strip() == "wrote report.html", output
    text = (tmp_path / "report.html").read_text()
    table = text[text.index('<table class="compare">'):text.index("</table>", text.index('class="compare"'))]
    assert "<th>base</th><th>fast</th>" in table
    row = re.search(r"<tr><th><code>optimizers\.generator\.learning_rate</code></th>(.*?)</tr>", table)
    assert row is not None and re.findall(r"<code>([^<]*)</code>", row.group(1)) == ["0.0002", "0.001"]
    assert "optimizers.discriminator.learning_rate" not in table and "data.source" not in table  # the same
    assert "<th>ms/step</th>" in table and "<th>final g_loss</th>" in table
    assert text.count('id="run-') == 2 and "Loss curves, overlaid" in text


@pytest.mark.parametrize("make", ["not_a_run", "missing"])
def test_a_folder_that_is_not_a_run_is_a_one_line_error(make: str, tmp_path: Path) -> None:
    folder = tmp_path / make
    if make == "not_a_run":
        folder.mkdir()
        (folder / "notes.txt").write_text("hello")
    code, output = invoke("report", folder)
    assert code != 0
    assert output.count("\n") == 1 and output.startswith("Error: ") and str(folder) in output
    assert not (folder / "report.html").exists()
