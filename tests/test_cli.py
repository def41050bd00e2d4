"""The command line against a real database: operator bootstrap, ledger check, automatic settlement."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from shujiao import cli_support
from shujiao.cli import app
from shujiao.db import unit_of_work
from shujiao.delivery import service as delivery
from shujiao.market import service as market
from tests.factories import make_listed_product, make_member, make_operator

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, settings):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHUJIAO_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SHUJIAO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUJIAO_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("SHUJIAO_MARKET__AUTO_SETTLE_DAYS", "0")
    cli_support.settings.cache_clear()
    cli_support.session_factory.cache_clear()
    yield
    cli_support.session_factory().kw["bind"].dispose()
    cli_support.settings.cache_clear()
    cli_support.session_factory.cache_clear()


def test_operator_create_and_ledger_check(cli_env):
    created = runner.invoke(app, ["operator", "create", "--username", "boss", "--password", "boss-password"])
    assert created.exit_code == 0, created.output
    again = runner.invoke(app, ["operator", "create", "--username", "boss", "--password", "boss-password"])
    assert again.exit_code == 1 and "username_taken" in again.output
    weak = runner.invoke(app, ["operator", "create", "--username", "x", "--password", "1"])
    assert weak.exit_code == 1
    checked = runner.invoke(app, ["ledger", "check"])
    assert checked.exit_code == 0 and "balanced" in checked.output


def test_settle_due_settles_delivered_orders(cli_env, session_factory, storage, settings):
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=100_00)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings, price_fen=10_00)
    with unit_of_work(session_factory) as session:
        order = market.create_order(session, buyer.actor, product_id=product_id)
        market.pay_order(session, buyer.actor, order_id=order.id)
        issued = delivery.issue_link(session, buyer.actor, order_id=order.id, ttl=dt.timedelta(minutes=1))
    with unit_of_work(session_factory) as session:
        delivery.download(session, buyer.actor, token=issued.token, settings=settings, storage=storage)

    result = runner.invoke(app, ["market", "settle-due"])
    assert result.exit_code == 0, result.output
    assert "settled 1 order" in result.output
    with unit_of_work(session_factory) as session:
        assert market.get_order(session, buyer.actor, order_id=order.id).status == "settled"
    assert runner.invoke(app, ["ledger", "check"]).exit_code == 0
