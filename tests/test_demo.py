"""The demo data (`make run`) loads on both databases and holds what the pages promise."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from shujiao.accounting import service as accounting
from shujiao.db import unit_of_work
from shujiao.demo import BUYER, PROVIDER, _actor, load_demo
from shujiao.listing import service as listing
from shujiao.market import service as market
from shujiao.public_data import service as public_data
from shujiao.quality import service as quality
from shujiao.valuation import service as valuation


def test_the_demo_loads_once_with_settled_trades_books_and_a_valuation(settings, session_factory, capsys):
    load_demo(settings)
    assert "demo data loaded" in capsys.readouterr().out
    load_demo(settings)
    assert "already loaded" in capsys.readouterr().out

    with unit_of_work(session_factory) as session:
        trades = market.settled_trades(session)
        assert sorted(trade.amount_fen for trade in trades) == [300_00, 1_200_00]

        buyer = _actor(session, BUYER[0])
        assets = accounting.list_assets(session, buyer)
        assert [a.classification for a in assets] == ["intangible", "intangible"]
        year = accounting.today().year
        tables = accounting.disclosure(session, buyer, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
        assert tables.intangible.problems() == [] and tables.inventory.problems() == []
        cost = tables.intangible.section("cost")
        assert cost.increase("purchased") == 1_500_00 and cost.closing["total"] == 1_500_00

        seller = _actor(session, PROVIDER[0])
        [report] = valuation.list_reports(session, seller)
        assert (report.method, report.status) == ("market", "final")
        comparables = valuation.report_read(report).inputs["comparables"]  # type: ignore[index]
        assert sorted(c["order_id"] for c in comparables) == sorted(t.id for t in trades)
        assert report.value_fen > 0
        # Its quality input is the assessor-signed report of the dataset, shown on the product page.
        score, grade, quality_report_id = quality.latest_score(session, dataset_id=report.subject_id)
        assert valuation.report_read(report).inputs["quality_report_id"] == quality_report_id  # type: ignore[index]
        product_id = next(p.id for p in listing.search_listed(session) if p.dataset_id == report.subject_id)
        # The demo plants one wrong credit-code check character in 97 rows (20 of 2,000); the signed report finds them.
        scores = json.loads(quality.get_report(session, seller, report_id=quality_report_id).score_json)
        accuracy = next(i for i in scores["indicators"] if i["code"] == "accuracy")
        assert next((s["A"], s["B"]) for s in accuracy["sub"] if s["code"] == "format") == (1_980, 2_000)
        badge = quality.product_badge(session, product_id=product_id)
        assert badge is not None and badge["signed_by"] and Decimal(badge["overall"]) == score and badge["grade"] == grade

        # The data bureau's public catalog: one open and one conditional resource, two departments.
        resources = public_data.list_public_resources(session)
        assert sorted(r.open_class for r in resources) == ["conditional", "unconditional"]
        assert {r.department.name for r in resources} == {"贵阳市交通委员会", "贵阳市市场监督管理局"}
        assert all(r.datasets for r in resources)
