from __future__ import annotations

import pytest

from shujiao.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The tests run the sandbox worker themselves (jobs.run_pending), not the server's background loop.
    settings.sandbox.worker_interval_seconds = 0
    return settings
