"""Shared fixtures: a throw-away copy of the repository for build tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", ".hypothesis", "__pycache__", "*.egg-info")


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """A copy of the repository in which a test may break things and build."""
    dest = tmp_path / "repo"
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    return dest


def run_analysis(repo: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m analysis ARGS`` in ``repo``, importing that copy's package (and its notebooks' too)."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
    )
