"""The valuation pages: a form per method, the report page, finalizing, refusals and tenancy."""

from __future__ import annotations

import re

import pytest

from shujiao.db import unit_of_work
from shujiao.market import service as market
from shujiao.valuation import service as valuation
from tests.factories import make_dataset, make_listed_product, make_member, make_operator
from tests.valuation.test_service import settle
from tests.web.conftest import Pages, other_pages, pages  # noqa: F401 — the fixtures

PAGE = "/dashboard/valuations"


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, kind="provider")
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=10_000_00)
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings,
                                     price_fen=2_000_00)
    settled = settle(session_factory, buyer, product_id)
    with unit_of_work(session_factory) as s:
        unpaid = market.create_order(s, buyer.actor, product_id=product_id).id
    return {"operator": operator, "provider": provider, "buyer": buyer, "dataset_id": dataset_id,
            "settled": settled, "unpaid": unpaid}


def _report_id(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/dashboard/valuations/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def test_income_form_report_page_and_finalize(pages, world):  # noqa: F811
    pages.login(world["provider"].username, world["provider"].password)
    listing = pages.get(PAGE)
    assert listing.status_code == 200
    assert "收益法" in listing.text and "成本法" in listing.text and "市场法" in listing.text
    assert f'value="dataset:{world["dataset_id"]}"' in listing.text
    assert f"<td>{world['settled']}</td>" in listing.text and f"<td>{world['unpaid']}</td>" not in listing.text

    report_id = _report_id(pages.submit(PAGE, f"{PAGE}/income", {
        "subject": f"dataset:{world['dataset_id']}", "variant": "direct", "income": "1000000",
        "discount_rate": "0.1", "remaining_life": "3"}))
    page = pages.get(f"{PAGE}/{report_id}").text
    # 100万/yr × 3 years at 10 % (test_formulas): ¥2,486,851.99; factor 0.909091; i = 8 % → ¥2,577,096.99
    assert "¥2,486,851.99" in page and "0.909091" in page and "¥2,577,096.99" in page
    assert "中评协〔2023〕17号" in page and 'data-status="draft"' in page

    done = pages.submit(f"{PAGE}/{report_id}", f"{PAGE}/{report_id}/finalize")
    assert done.status_code == 303
    final = pages.get(f"{PAGE}/{report_id}").text
    assert 'data-status="final"' in final and f"{report_id}/finalize" not in final


def test_cost_and_market_forms(pages, world, session_factory):  # noqa: F811
    pages.login(world["provider"].username, world["provider"].password)
    # The worked example of test_formulas: TC = 349,800, k = 0.80325 → ¥280,976.85
    cost_id = _report_id(pages.submit(PAGE, f"{PAGE}/cost", {
        "subject": "text", "subject_text": "客户画像数据", "cost_planning": "20000", "cost_collection": "100000",
        "cost_storage": "30000", "cost_cleaning": "40000", "cost_labelling": "60000", "cost_integration": "20000",
        "cost_security": "15000", "cost_indirect": "10000", "cost_opportunity": "5000", "taxes": "19800",
        "profit_rate": "0.1", "depreciation_rate": "0.1", "quality_score": "85", "other_factors": "应用场景: 1.05"}))
    page = pages.get(f"{PAGE}/{cost_id}").text
    assert "¥280,976.85" in page and "0.803250" in page and "349,800.00" in page

    # ¥2,000.00 × 1.1 (supply-demand) = 2,200; outside ¥1,800.00 × 0.9 (quality) = 1,620 → mean ¥1,910.00
    form = {"subject": "text", "subject_text": "同类数据",
            "order_id": [str(world["settled"]), ""], "price": ["", "1800"], "reference": ["", "外部案例"],
            "quality_factor": ["", "0.9"], "comparable_quality_score": ["", ""],
            "supply_demand_factor": ["1.1", ""], "date_factor": ["", ""], "volume_factor": ["", ""],
            "other_factor": ["", ""]}
    market_id = _report_id(pages.submit(PAGE, f"{PAGE}/market", form))
    page = pages.get(f"{PAGE}/{market_id}").text
    assert "¥1,910.00" in page and f"order #{world['settled']}" in page

    # An order that is not settled is refused: the form again with the reason and the rows as typed.
    refused = pages.submit(PAGE, f"{PAGE}/market", {**form, "order_id": [str(world["unpaid"]), ""]}, referer=True)
    assert refused.status_code == 422 and "已结算" in _errors(refused.text, "market")
    assert f'aria-label="order_id 1" value="{world["unpaid"]}"' in refused.text
    assert 'aria-label="reference 2" value="外部案例"' in refused.text
    with unit_of_work(session_factory) as s:
        assert len(valuation.list_reports(s, world["provider"].actor)) == 2


def _errors(html: str, form: str) -> str:
    """The text of the error box of one form (``<div id="income-errors">`` …)."""
    match = re.search(rf'<div id="{form}-errors">(.*?)</div>\s*</div>', html, re.S)
    assert match, f"no error box on the {form} form"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1)))


def _value_of(html: str, name: str, form: str = "income") -> str:
    """What the box ``name`` of one form (``<form … id="cost-form">``) holds."""
    block = re.search(rf'<form [^>]*id="{form}-form">(.*?)</form>', html, re.S)
    assert block, form
    match = re.search(rf'name="{name}"[^>]*? value="([^"]*)"', block.group(1))
    assert match, name
    return match.group(1)


def test_a_refused_form_names_fields_by_their_labels_and_keeps_what_was_typed(pages, world):  # noqa: F811
    pages.login(world["provider"].username, world["provider"].password)
    income = {"subject": f"dataset:{world['dataset_id']}", "variant": "share", "income": "1000000, 1100000",
              "discount_rate": "1.5", "remaining_life": "abc", "share_rate": "0", "mid_year": "1"}
    refused = pages.submit(PAGE, f"{PAGE}/income", income)
    assert refused.status_code == 422
    errors = _errors(refused.text, "income")
    assert "折现率 i discount rate i：须介于 0 和 1 之间" in errors
    assert "剩余经济寿命期 n（年） remaining economic life n (years)：须为整数" in errors
    assert "分成率 K share rate K：须介于 0 和 1 之间（不含 0）" in errors
    assert "(discount rate i: must be between 0 and 1 (0 excluded)" in errors
    assert "inputs." not in errors  # no pydantic paths
    assert _value_of(refused.text, "discount_rate") == "1.5" and _value_of(refused.text, "remaining_life") == "abc"
    assert ">1000000, 1100000</textarea>" in refused.text
    assert f'value="dataset:{world["dataset_id"]}" selected' in refused.text
    assert '<option value="share" selected>' in refused.text and 'name="mid_year" value="1" checked' in refused.text
    assert 'id="cost-errors"' not in refused.text and 'name="taxes" value=""' in refused.text  # other forms blank

    series = pages.submit(PAGE, f"{PAGE}/income", {**income, "variant": "direct", "share_rate": "",
                                                    "discount_rate": "0.1", "remaining_life": "3",
                                                    "income": "1000000, x"})
    assert "逐年收益 R_t（元） 第 2 年 yearly income R_t (yuan) year 2：须为数字" in _errors(series.text, "income")

    cost = pages.submit(PAGE, f"{PAGE}/cost", {"subject": "text", "subject_text": "客户画像", "cost_planning": "-5",
                                               "cost_storage": "3000", "depreciation_rate": "1",
                                               "other_factors": "场景: 0"})
    assert cost.status_code == 422
    errors = _errors(cost.text, "cost")
    assert "前期费用（规划） planning：须介于 0 和 1000000000000000 之间" in errors
    assert "贬值率 δ depreciation rate δ：须介于 0 和 1 之间（不含 1）" in errors
    assert "其他调整系数 场景 other adjustment factors 场景：须介于 0 和 100 之间（不含 0）" in errors
    assert _value_of(cost.text, "cost_planning", "cost") == "-5"
    assert _value_of(cost.text, "subject_text", "cost") == "客户画像" and _value_of(cost.text, "subject_text") == ""
    assert ">场景: 0</textarea>" in cost.text

    # Row 2 of the form is left empty: the refused comparable is named by its row on the form (3).
    market = pages.submit(PAGE, f"{PAGE}/market", {
        "subject": "text", "subject_text": "同类数据", "order_id": [str(world["settled"]), "", ""],
        "price": ["", "", "1800"], "reference": ["", "", ""], "supply_demand_factor": ["0", "", ""]})
    assert market.status_code == 422
    errors = _errors(market.text, "market")
    assert "可比案例第 1 行 供求调整系数 comparable row 1 supply-demand factor：须介于 0 和 100 之间（不含 0）" in errors
    assert "可比案例第 3 行 comparable row 3：外部可比案例须注明来源" in errors
    assert 'aria-label="price 3" value="1800"' in market.text
    assert 'aria-label="supply_demand_factor 1" value="0"' in market.text
    # Errors are written in both languages whichever language the page is in.
    pages.get(f"/lang/en?next={PAGE}")
    english = pages.submit(PAGE, f"{PAGE}/income", {**income, "remaining_life": "3", "share_rate": "0.3"})
    assert "discount rate i: must be between 0 and 1" in _errors(english.text, "income")


def test_a_settled_trade_is_picked_from_the_list(pages, world):  # noqa: F811
    pages.login(world["provider"].username, world["provider"].password)
    listing = pages.get(PAGE).text
    assert f'id="pick-{world["settled"]}" href="/dashboard/valuations?pick={world["settled"]}#market-form"' in listing
    assert f'id="pick-{world["unpaid"]}"' not in listing
    picked = pages.get(f"{PAGE}?pick={world['settled']}").text
    assert f'aria-label="order_id 1" value="{world["settled"]}"' in picked
    assert f'id="pick-{world["settled"]}"' not in picked  # already picked
    assert pages.get(f"{PAGE}?pick=abc").status_code == 422


def test_bad_form_input_is_shown_not_a_500(pages, world):  # noqa: F811
    pages.login(world["provider"].username, world["provider"].password)
    refused = pages.submit(PAGE, f"{PAGE}/income", {"income": "1000000", "discount_rate": "abc",
                                                    "remaining_life": "3"})
    assert refused.status_code == 422 and "折现率 i discount rate i：须为数字" in refused.text
    assert pages.submit(PAGE, f"{PAGE}/cost", {"other_factors": "no colon here"}).status_code == 422
    assert pages.submit(PAGE, f"{PAGE}/market", {"order_id": "abc"}).status_code == 422
    assert pages.submit(PAGE, f"{PAGE}/income", {"subject": "dataset:x", "income": "1"}).status_code == 422


def test_another_members_report_is_404(pages, other_pages, world):  # noqa: F811
    pages.login(world["provider"].username, world["provider"].password)
    report_id = _report_id(pages.submit(PAGE, f"{PAGE}/income", {
        "subject": "text", "subject_text": "数据", "income": "1", "discount_rate": "0.1", "remaining_life": "1"}))
    other_pages.login(world["buyer"].username, world["buyer"].password)
    assert other_pages.get(f"{PAGE}/{report_id}").status_code == 404
    assert other_pages.submit(PAGE, f"{PAGE}/{report_id}/finalize").status_code == 404
    foreign_dataset = other_pages.submit(PAGE, f"{PAGE}/income", {
        "subject": f"dataset:{world['dataset_id']}", "income": "1", "discount_rate": "0.1", "remaining_life": "1"})
    assert foreign_dataset.status_code == 404
    assert f"{PAGE}/{report_id}" not in other_pages.get(PAGE).text
    # The operator may read any report.
    operator = Pages(other_pages.client)
    operator.client.cookies.clear()
    operator.login(world["operator"].username, world["operator"].password)
    assert operator.get(f"{PAGE}/{report_id}").status_code == 200
