"""``shujiao gateway bill``: bills ended periods as of a given time; a second run bills nothing."""

from __future__ import annotations

import datetime as dt

from shujiao.cli import app
from tests.test_cli import cli_env, runner  # noqa: F401 — the fixture


def test_bill_from_the_command_line(cli_env, client, api):  # noqa: F811
    for _ in range(2):
        assert client.get(f"/gateway/{api['order_id']}/x", headers={"X-Api-Key": api["key"]}).status_code == 200
    client.app.state.gateway.flush_now()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S")
    billed = runner.invoke(app, ["gateway", "bill", "--now", later])
    assert billed.exit_code == 0, billed.output
    assert "2 calls 4 fen paid" in billed.output and "1 statement(s)" in billed.output
    again = runner.invoke(app, ["gateway", "bill", "--now", later])
    assert again.exit_code == 0 and "0 statement(s)" in again.output
