"""The shape docs/architecture.md describes: data flows one way, and the light paths never import TensorFlow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gan_cli"

#: Stage of each top-level module or subpackage, left (0) to right along the data flow.
STAGES = {
    "__init__": 0, "errors": 0, "files": 0, "console": 0,
    "recipe": 1,
    "data": 2, "device": 2,
    "nets": 3,
    "families": 4,
    "runs": 5,
    "sampling": 6,
    "evaluation": 7,
    "training": 8,
    "run_info": 9, "run_report": 9,
    "cli": 10,
    "__main__": 11,
}


def module_stage(path: Path) -> tuple[str, int]:
    top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    return top, STAGES[top]


def imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gan_cli"):
            parts = node.module.split(".")
            if len(parts) == 1:
                tops.update(alias.name for alias in node.names)
            else:
                tops.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "gan_cli" and len(parts) > 1:
                    tops.add(parts[1])
    return tops


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_import_only_from_stages_to_their_left(path: Path) -> None:
    top, stage = module_stage(path)
    for imported in imported_tops(path):
        if imported in (top, "__version__"):
            continue
        assert STAGES[imported] < stage or imported == "errors", f"{top} imports {imported}"


def test_every_module_opens_with_a_docstring() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), path


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_help_validation_and_recipe_errors_never_import_tensorflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {batch_size: 0}\n")
    code = f"""
import sys
from click.testing import CliRunner
from gan_cli.cli import cli
runner = CliRunner()
assert runner.invoke(cli, ["--help"]).exit_code == 0
assert runner.invoke(cli, ["train", "--help"]).exit_code == 0
assert runner.invoke(cli, ["sample", "--help"]).exit_code == 0
result = runner.invoke(cli, ["train", {str(bad)!r}])
assert result.exit_code != 0 and "train.batch_size" in result.output, result.output
from gan_cli.training.plan import plan_training
from gan_cli.recipe.schema import dump_recipe
dump_recipe(plan_training({str(PACKAGE.parent / 'recipes' / 'mnist_gan.yaml')!r}, out={str(tmp_path / 'r')!r}).recipe)
import gan_cli.data
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""
    assert run_python(code) == "[]"
