"""The console: an order left unaccepted is settled by the timer and flows into the buyer's books;
the disclosure comes out as text and as Excel."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook
from typer.testing import CliRunner

from shujiao.accounting import service as accounting
from shujiao.accounting.schemas import Classify
from shujiao.cli import app
from shujiao.db import unit_of_work
from shujiao.delivery import service as delivery
from shujiao.market import service as market
from tests.factories import make_listed_product, make_member, make_operator
from tests.test_cli import cli_env  # noqa: F401 — the fixture

runner = CliRunner()


def test_auto_settled_purchase_flows_in_and_the_disclosure_is_written(cli_env, session_factory, storage,  # noqa: F811
                                                                        settings, tmp_path):
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=500_00)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings,
                                     price_fen=240_00)
    with unit_of_work(session_factory) as session:
        order = market.create_order(session, buyer.actor, product_id=product_id)
        market.pay_order(session, buyer.actor, order_id=order.id)
        issued = delivery.issue_link(session, buyer.actor, order_id=order.id, ttl=dt.timedelta(minutes=5))
    with unit_of_work(session_factory) as session:
        b"".join(delivery.download(session, buyer.actor, token=issued.token, settings=settings,
                                   storage=storage).chunks)
    settled = runner.invoke(app, ["market", "settle-due"])
    assert settled.exit_code == 0 and "settled 1" in settled.output, settled.output

    with unit_of_work(session_factory) as session:
        [asset] = accounting.list_assets(session, buyer.actor)
        assert [e.source for e in accounting.asset_entries(session, buyer.actor, asset_id=asset.id)] == [
            f"order:{order.id}"]
        accounting.classify_asset(session, buyer.actor, asset_id=asset.id, data=Classify(
            classification="intangible", useful_life_months=12, ready_for_use_on=accounting.today()))
    year = accounting.today().year
    out = tmp_path / "books.xlsx"
    shown = runner.invoke(app, ["accounting", "disclosure", "--member", str(buyer.member_id), "--year", str(year),
                                "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "账面原值" in shown.output and "¥240.00" in shown.output and "wrote" in shown.output
    book = load_workbook(out)
    register = list(book["资产卡片"].iter_rows(min_row=2, values_only=True))
    assert [(row[0], str(row[7])) for row in register] == [(asset.id, "240")]

    nobody = runner.invoke(app, ["accounting", "disclosure", "--member", "999999", "--year", str(year)])
    assert nobody.exit_code == 1 and "no member 999999" in nobody.output
    bad = runner.invoke(app, ["accounting", "disclosure", "--member", "1", "--year", "1900"])
    assert bad.exit_code != 0
