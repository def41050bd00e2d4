"""The suite refuses to pass without PostgreSQL: a run that cannot reach it fails, never skips."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_an_unreachable_postgres_fails_the_run():
    env = {**os.environ, "SHUJIAO_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1/test"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/market/test_service.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert re.search(r"\b[1-9][0-9]* passed", result.stdout)  # the SQLite half ran
    assert "PostgreSQL is required" in result.stdout
    assert "no PostgreSQL test passed" in result.stdout
