"""The server signs checkpoints by itself while the log grows."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from shujiao.app import create_app
from shujiao.commands import SYSTEM
from shujiao.crypto import service as keys
from shujiao.db import unit_of_work
from shujiao.tlog import service as tlog


def test_the_server_publishes_a_checkpoint_every_interval(settings, session_factory):
    with unit_of_work(session_factory) as session:
        keys.init_keys(session, SYSTEM, settings=settings)  # three records: the log grew
    fast = settings.model_copy(update={"log": settings.log.model_copy(update={"checkpoint_interval_seconds": 1})})
    app = create_app(fast)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with unit_of_work(session_factory) as session:
                latest = tlog.latest_checkpoint(session)
            if latest is not None:
                break
            time.sleep(0.2)
    app.state.engine.dispose()
    assert latest is not None and latest.tree_size == 3
