"""Reports through the service layer; the market method on real trades settled through the market."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shujiao.audit import service as audit
from shujiao.commands import ANONYMOUS
from shujiao.db import unit_of_work
from shujiao.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from shujiao.listing import service as listing
from shujiao.market import service as market
from shujiao.quality import service as quality
from shujiao.valuation import service as valuation
from shujiao.valuation.schemas import ReportCreate
from tests.factories import make_listed_product, make_member, make_operator


def settle(session_factory, buyer, product_id: int) -> int:  # type: ignore[no-untyped-def]
    """A whole trade as the buyer makes it: order, pay, take delivery, accept (→ settled)."""
    with unit_of_work(session_factory) as s:
        order = market.create_order(s, buyer.actor, product_id=product_id)
        market.pay_order(s, buyer.actor, order_id=order.id)
        market.record_delivery(s, buyer.actor, order_id=order.id)
        market.accept_order(s, buyer.actor, order_id=order.id, fee_rate_bp=300)
        return order.id


@pytest.fixture
def exchange(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    """Two products sold and settled at ¥1,000.00 and ¥1,500.00, and one order only paid."""
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=10_000_00)
    cheap = make_listed_product(session_factory, storage, provider, operator, settings=settings,
                                price_fen=1_000_00, title="企业信用评分A")
    dear = make_listed_product(session_factory, storage, provider, operator, settings=settings,
                               price_fen=1_500_00, title="企业信用评分B")
    settled = [settle(session_factory, buyer, cheap), settle(session_factory, buyer, dear)]
    with unit_of_work(session_factory) as s:
        paid = market.create_order(s, buyer.actor, product_id=cheap)
        market.pay_order(s, buyer.actor, order_id=paid.id)
    return {"operator": operator, "provider": provider, "buyer": buyer, "settled": settled, "paid": paid.id,
            "product": cheap}


def market_inputs(first: int, second: int) -> dict:
    # The worked example of test_formulas on the exchange's own trades:
    # A: ¥1,000.00 × (90/80) × 1.1 × 0.95 × 1.2 = ¥1,410.75; B: ¥1,500.00 × 0.9 × 0.8 × 1.05 = ¥1,134.00
    # P = (1,410.75 + 1,134.00) / 2 = 1,272.375 → ¥1,272.38
    return {"method": "market", "quality_score": "90", "comparables": [
        {"order_id": first, "quality_score": "80", "supply_demand_factor": "1.1", "date_factor": "0.95",
         "volume_factor": "1.2"},
        {"order_id": second, "quality_factor": "0.9", "volume_factor": "0.8", "other_factor": "1.05"}]}


def test_the_market_method_on_settled_trades(session_factory, exchange):
    provider, (first, second) = exchange["provider"], exchange["settled"]
    with unit_of_work(session_factory) as s:
        trades = valuation.comparable_trades(s)
        assert [(t.order_id, t.price_fen, t.title, t.domain) for t in trades] == [
            (second, 1_500_00, "企业信用评分B", "信用"), (first, 1_000_00, "企业信用评分A", "信用")]
        assert exchange["paid"] not in [t.order_id for t in trades]
        assert [t.order_id for t in valuation.comparable_trades(s, domain="信用", limit=1)] == [second]
        assert valuation.comparable_trades(s, domain="气象") == []
        settled_at = trades[-1].settled_at
        assert len(valuation.comparable_trades(s, since=settled_at)) == 2
        assert valuation.comparable_trades(s, since=settled_at + dt.timedelta(days=1)) == []

        report = valuation.create_report(s, provider.actor, data=ReportCreate.model_validate({
            "subject_type": "product", "subject_id": exchange["product"], "inputs": market_inputs(first, second)}))
        assert report.value_fen == 127_238 and report.status == "draft"
        result = json.loads(report.result_json)
        rows = result["intermediates"]["comparables"]
        assert [(r["order_id"], r["price"], r["adjusted_price"]) for r in rows] == [
            (first, "1000", "1410.75"), (second, "1500", "1134")]
        assert "企业信用评分A" in rows[0]["reference"]
        assert [(e.action, json.loads(e.change_json)["value_fen"]) for e in audit.events_for_subject(
            s, subject_type="valuation_report", subject_id=report.id)] == [("valuation.report.create", 127_238)]


def test_a_comparable_that_is_not_a_settled_trade_is_refused(session_factory, exchange):
    provider, first = exchange["provider"], exchange["settled"][0]
    for not_settled in (exchange["paid"], 999_999):
        with unit_of_work(session_factory) as s, pytest.raises(InvalidInput) as refused:
            valuation.create_report(s, provider.actor, data=ReportCreate.model_validate({
                "subject_type": "text", "subject_text": "某数据产品",
                "inputs": market_inputs(first, not_settled)}))
        assert refused.value.code == "not_a_settled_trade"
        assert refused.value.details["order_ids"] == [not_settled]


INCOME = {"method": "income", "income": ["1000000"], "discount_rate": "0.1", "remaining_life": 3}


def test_a_draft_is_revised_then_finalized_and_then_never_changes(session_factory, exchange):
    provider = exchange["provider"]
    with unit_of_work(session_factory) as s:
        report = valuation.create_report(s, provider.actor, data=ReportCreate.model_validate({
            "subject_type": "text", "subject_text": "企业信用数据（整体）", "inputs": INCOME}))
        assert report.value_fen == 248_685_199
        revised = valuation.revise_report(s, provider.actor, report_id=report.id, inputs=ReportCreate.model_validate(
            {"subject_type": "text", "subject_text": "x", "inputs": {**INCOME, "remaining_life": 2}}).inputs)
        # 1,000,000 × (1/1.1 + 1/1.21) = ¥1,735,537.19
        assert revised.value_fen == 173_553_719
        valuation.finalize_report(s, provider.actor, report_id=report.id)
        report_id = report.id
    with unit_of_work(session_factory) as s, pytest.raises(Conflict):
        valuation.revise_report(s, provider.actor, report_id=report_id,
                                inputs=ReportCreate.model_validate({"subject_type": "text", "subject_text": "x",
                                                                    "inputs": INCOME}).inputs)
    with unit_of_work(session_factory) as s, pytest.raises(Conflict):
        valuation.finalize_report(s, provider.actor, report_id=report_id)
    with unit_of_work(session_factory) as s:
        final = valuation.get_report(s, provider.actor, report_id=report_id)
        assert (final.status, final.value_fen) == ("final", 173_553_719)
        assert [r.id for r in valuation.list_reports(s, exchange["operator"].actor)] == [report_id]


def test_reports_are_walled_off(session_factory, exchange):
    provider, buyer = exchange["provider"], exchange["buyer"]
    with unit_of_work(session_factory) as s:
        report_id = valuation.create_report(s, provider.actor, data=ReportCreate.model_validate({
            "subject_type": "text", "subject_text": "数据", "inputs": INCOME})).id
    with unit_of_work(session_factory) as s:
        with pytest.raises(NotFound):
            valuation.get_report(s, buyer.actor, report_id=report_id)
        assert valuation.list_reports(s, buyer.actor) == []
        assert valuation.get_report(s, exchange["operator"].actor, report_id=report_id).id == report_id
    # Another member's product is not a subject the buyer may value.
    with unit_of_work(session_factory) as s, pytest.raises(NotFound):
        valuation.create_report(s, buyer.actor, data=ReportCreate.model_validate({
            "subject_type": "product", "subject_id": exchange["product"], "inputs": INCOME}))
    with unit_of_work(session_factory) as s, pytest.raises(NotFound):
        valuation.finalize_report(s, buyer.actor, report_id=report_id)


def test_the_quality_input_can_be_a_quality_report_the_member_may_read(session_factory, settings, storage, exchange):
    provider, buyer = exchange["provider"], exchange["buyer"]
    with unit_of_work(session_factory) as s:
        dataset_id = listing.get_product(s, provider.actor, product_id=exchange["product"]).dataset_id
    with unit_of_work(session_factory) as s:
        quality.save_rules(s, provider.actor, dataset_id=dataset_id, text="fields:\n  - column: 信用评分\n    range: {min: 800, max: 1000}\n")
        report = quality.run_evaluation(s, provider.actor, settings=settings, storage=storage, dataset_id=dataset_id)
        report_id, score = report.id, Decimal(report.overall_score)
    cost = {"method": "cost", "costs": {"collection": "1000"}, "quality_report_id": report_id}
    with unit_of_work(session_factory) as s:
        created = valuation.create_report(s, provider.actor, data=ReportCreate.model_validate({
            "subject_type": "text", "subject_text": "数据", "inputs": cost}))
        # P = TC × k with k = q/100: 1,000 × score/100, to the fen.
        assert created.value_fen == int((Decimal(1000) * score).quantize(Decimal(1)))
    # Another member's unpublished report does not exist for the buyer.
    with unit_of_work(session_factory) as s, pytest.raises(NotFound):
        valuation.create_report(s, buyer.actor, data=ReportCreate.model_validate({
            "subject_type": "text", "subject_text": "数据", "inputs": cost}))


def test_a_subject_needs_naming():
    with pytest.raises(ValidationError):
        ReportCreate.model_validate({"subject_type": "dataset", "inputs": INCOME})
    with pytest.raises(ValidationError):
        ReportCreate.model_validate({"subject_type": "text", "subject_text": " ", "inputs": INCOME})
    with pytest.raises(ValidationError):
        ReportCreate.model_validate({"subject_type": "text", "subject_text": "x",
                                     "inputs": {**INCOME, "method": "magic"}})


def test_settled_trades_are_for_approved_members(session_factory, exchange):
    pending = make_member(session_factory, None, approved=False)
    with unit_of_work(session_factory) as s:
        with pytest.raises(NotAuthenticated):
            valuation.comparables_for(s, ANONYMOUS)
        with pytest.raises(PermissionDenied):
            valuation.comparables_for(s, pending.actor)
        assert len(valuation.comparables_for(s, exchange["operator"].actor)) == 2
