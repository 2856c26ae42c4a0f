"""The import contracts in pyproject.toml (run by ``make check`` as ``lint-imports``) hold for
the code as it is, and catch an import that points up the layers."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("qa_service", "ingest", "eval")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts, for imports the repository must never have."""
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_code_keeps_every_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        # The shared nouns at the bottom never reach up to the command line.
        ("qa_service/core/schema.py", "import qa_service.cli", "imports point down the layers"),
        # Retrieval knows nothing of how answers are checked.
        (
            "qa_service/retrieval/hybrid.py",
            "import qa_service.citations.checker",
            "imports point down the layers",
        ),
        # The evaluation measures the answer service, not the HTTP layer.
        ("eval/run.py", "import qa_service.api.schemas", "never the HTTP layer"),
    ],
)
def test_an_import_up_the_layers_is_caught(
    tree: Path, module: str, wrong_import: str, contract: str
) -> None:
    path = tree / module
    path.write_text(f"{path.read_text()}\n{wrong_import}\n", encoding="utf-8")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
    assert wrong_import.split()[-1] in result.stdout
