"""The operator's console for registrations: approve, show, bundle, verify, revoke, expire."""

from __future__ import annotations

import json

from sqlalchemy import update
from typer.testing import CliRunner

from shujiao.cli import app
from shujiao.db import unit_of_work, utcnow
from shujiao.registry.models import Certificate
from tests.factories import make_dataset, make_member, make_operator
from tests.registry.test_lifecycle import apply_for, end_publicity
from tests.test_cli import cli_env  # noqa: F401 — the fixture

runner = CliRunner()


def test_the_certificate_life_from_the_console(cli_env, session_factory, storage, settings, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    ids = [apply_for(session_factory, settings, provider, dataset_id, rights=(right,))
           for right in ("holding", "operating")]
    listed = runner.invoke(app, ["cert", "applications"])
    assert listed.exit_code == 0 and all(str(i) in listed.output for i in ids)
    early = runner.invoke(app, ["cert", "approve", *map(str, ids)])
    assert early.exit_code == 1 and "publicity_not_over" in early.output
    for application_id in ids:
        end_publicity(session_factory, application_id)
    approved = runner.invoke(app, ["cert", "approve", *map(str, ids)])
    assert approved.exit_code == 0, approved.output
    numbers = approved.output.split(":", 1)[1].strip().split(", ")
    assert len(numbers) == 2

    shown = runner.invoke(app, ["cert", "show", numbers[0]])
    assert shown.exit_code == 0 and "issued" in shown.output
    bundle = tmp_path / "bundle.json"
    assert runner.invoke(app, ["cert", "bundle", numbers[0], "-o", str(bundle)]).exit_code == 0
    verified = runner.invoke(app, ["cert", "verify", str(bundle)])
    assert verified.exit_code == 0 and "verified" in verified.output
    assert json.loads(bundle.read_text())["number"] == numbers[0]

    revoked = runner.invoke(app, ["cert", "revoke", numbers[0], "--reason", "数据来源争议", "--ruling", "(2026)仲字第7号"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(app, ["cert", "show", numbers[0]]).output

    with unit_of_work(session_factory) as session:
        session.execute(update(Certificate).where(Certificate.number == numbers[1]).values(valid_until=utcnow()))
    expired = runner.invoke(app, ["cert", "expire-due"])
    assert expired.exit_code == 0 and "expired 1 certificate" in expired.output
