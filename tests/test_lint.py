"""The code passes ruff's lint and format checks (settings in ruff.toml), so `python -m pytest` (what `.ci/run` runs)
is also the lint job. Fix a failure with `ruff check --fix . && ruff format .`."""

import subprocess
import sys

import pytest

from tests.conftest import repo_root


@pytest.mark.parametrize("check", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(check):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *check], cwd=repo_root(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
