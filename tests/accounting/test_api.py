"""A year of a member's data assets through the JSON API: purchases settled on the exchange flow in,
a development project, amortization, an impairment, an expiry and an inventory sale — and the
disclosure tables of 财会〔2023〕11号 add up, on the page of numbers and in the Excel file."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from shujiao.accounting import service as accounting
from tests.api import assert_error, headers_of, list_product, market_with_one_product
from tests.factories import make_member

API = "/api/v1/accounting"


def buy(client: TestClient, buyer: dict[str, str], product_id: int) -> int:
    """The whole trade: order, pay, delivery (first download), acceptance."""
    order_id = client.post("/api/v1/orders", json={"product_id": product_id}, headers=buyer).json()["id"]
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer).status_code == 200
    delivery = client.get(f"/api/v1/orders/{order_id}/delivery", headers=buyer).json()
    assert client.get(delivery["download_url"], headers=buyer).status_code == 200
    accepted = client.post(f"/api/v1/orders/{order_id}/accept", headers=buyer)
    assert accepted.json()["status"] == "settled", accepted.text
    return order_id


def post(client: TestClient, path: str, headers: dict[str, str], body: dict[str, Any], status: int = 201) -> Any:
    response = client.post(API + path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def entry(client: TestClient, headers: dict[str, str], asset_id: int, entry_type: str, amount_fen: int,
          on: dt.date, detail: str = "") -> Any:
    return post(client, f"/assets/{asset_id}/entries", headers, {
        "entry_type": entry_type, "detail": detail, "amount_fen": amount_fen, "occurred_on": on.isoformat()})


def sections(table: dict[str, Any]) -> dict[str, dict[str, dict[str, int]]]:
    """The table's rows by section heading and line label (the 其中 lines keyed by their label)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    current = ""
    for row in table["rows"]:
        if row["figures"] is None:
            current = row["label_zh"].split("、", 1)[1]
            out[current] = {}
        else:
            key = row["label_zh"] if row["level"] == 2 else row["label_zh"].split(" ", 1)[1]
            out[current][f"{key}@{len(out[current])}" if row["level"] == 2 else key] = row["figures"]
    return out


def assert_reconciles(table: dict[str, Any]) -> None:
    """opening + increase − decrease = closing in every column, 合计 = the sum of the columns,
    账面价值 = 原值 − 累计摊销 − 减值准备 — checked here from the printed rows, not by the service."""
    assert table["reconciles"] is True
    blocks = sections(table)
    columns = ("purchased", "self_developed", "other")
    for name, lines in blocks.items():
        for figures in lines.values():
            assert figures["total"] == sum(figures[c] for c in columns), (name, figures)
        if name == "账面价值":
            continue
        details_in = [f for k, f in lines.items() if "@" in k and list(lines).index(k) < list(lines).index("本期减少金额")]
        details_out = [f for k, f in lines.items() if "@" in k and list(lines).index(k) > list(lines).index("本期减少金额")]
        for column in (*columns, "total"):
            assert (lines["期初余额"][column] + lines["本期增加金额"][column] - lines["本期减少金额"][column]
                    == lines["期末余额"][column]), (name, column)
            assert lines["本期增加金额"][column] == sum(f[column] for f in details_in)
            assert lines["本期减少金额"][column] == sum(f[column] for f in details_out)
    measures = [name for name in blocks if name != "账面价值"]
    for column in (*columns, "total"):
        for side, carrying in (("期末余额", "期末账面价值"), ("期初余额", "期初账面价值")):
            expected = blocks[measures[0]][side][column] - sum(blocks[m][side][column] for m in measures[1:])
            assert blocks["账面价值"][carrying][column] == expected


def test_a_year_of_data_assets_reconciles_and_the_excel_holds_the_same_numbers(client, session_factory):
    market = market_with_one_product(client, session_factory, deposit_fen=10_000_00, price_fen=1200_00)
    buyer = market.buyer
    inventory_product = list_product(client, market.seller, market.op, price_fen=500_00, title="气象数据")
    year = accounting.today().year
    settled_on = accounting.today()
    first = dt.date(year, 1, 1)

    # 1. A purchase on the exchange flows in as a pending asset carrying the price the buyer paid.
    order_id = buy(client, buyer, market.product_id)
    [bought] = client.get(f"{API}/assets", headers=buyer).json()
    assert (bought["classification"], bought["acquisition"], bought["product_id"]) == (
        "pending", "purchased", market.product_id)
    detail = client.get(f"{API}/assets/{bought['id']}", headers=buyer).json()
    assert [(e["entry_type"], e["detail"], e["amount_fen"], e["source"]) for e in detail["entries"]] == [
        ("cost", "purchase_price", 1200_00, f"order:{order_id}")]
    # The provider's books have nothing from the sale; the exchange fee was the provider's.
    assert client.get(f"{API}/assets", headers=market.seller).json() == []
    post(client, f"/assets/{bought['id']}/classify", buyer, {
        "classification": "intangible", "useful_life_months": 24, "ready_for_use_on": settled_on.isoformat()}, 200)
    entry(client, buyer, bought["id"], "cost", 30_00, settled_on, "assessment_fee")

    # 2. With a default policy, the next purchase is inventory at once.
    assert client.put(f"{API}/policy", headers=buyer, json={"default_classification": "inventory"}).status_code == 200
    buy(client, buyer, inventory_product)
    stock = [a for a in client.get(f"{API}/assets", headers=buyer).json() if a["product_id"] == inventory_product][0]
    assert stock["classification"] == "inventory"
    entry(client, buyer, stock["id"], "impairment", 50_00, settled_on)
    entry(client, buyer, stock["id"], "sale", 200_00, settled_on)

    # 3. A development project: research expensed, development capitalised, ready in May, impaired in September.
    project = post(client, "/assets", buyer, {"name": "自建客户画像数据集", "classification": "intangible",
                                              "acquisition": "self_developed", "useful_life_months": 36})
    entry(client, buyer, project["id"], "research", 50_000_00, dt.date(year, 1, 10))
    entry(client, buyer, project["id"], "development", 240_000_00, dt.date(year, 3, 15))
    post(client, f"/assets/{project['id']}/ready", buyer, {"ready_for_use_on": f"{year}-05-01"}, 200)
    entry(client, buyer, project["id"], "impairment", 10_000_00, dt.date(year, 9, 30))

    # 4. Licensed data that expired in July, and one bought the year before (the opening balance).
    licensed = post(client, "/assets", buyer, {"name": "授权使用的行业数据", "classification": "intangible",
                                               "acquisition": "other", "useful_life_months": 12,
                                               "ready_for_use_on": f"{year}-01-05"})
    entry(client, buyer, licensed["id"], "cost", 6000_00, dt.date(year, 1, 5), "other")
    entry(client, buyer, licensed["id"], "disposal", 0, dt.date(year, 7, 15), "expired")
    older = post(client, "/assets", buyer, {"name": "去年购入的数据", "classification": "intangible",
                                            "acquisition": "purchased", "useful_life_months": 60,
                                            "ready_for_use_on": f"{year - 1}-07-01"})
    entry(client, buyer, older["id"], "cost", 12_000_00, dt.date(year - 1, 7, 1), "purchase_price")

    response = client.get(f"{API}/disclosure", params={"year": year}, headers=buyer)
    assert response.status_code == 200, response.text
    result = response.json()
    for table in (result["intangible"], result["inventory"]):
        assert_reconciles(table)
    intangible = sections(result["intangible"])

    # Figures worked out by hand. The project: 240,000.00 over 36 months is 6,666.66 a month, May–September;
    # after the 10,000.00 impairment the 196,666.70 left goes over the 31 months left: 6,344.08 a month.
    project_amortization = 5 * 666_666 + 3 * 634_408
    bought_months = 13 - settled_on.month
    bought_amortization = bought_months * (1230_00 // 24)
    assert intangible["账面原值"]["期初余额"] == {"purchased": 12_000_00, "self_developed": 0, "other": 0,
                                                 "total": 12_000_00}
    assert intangible["账面原值"]["期末余额"] == {"purchased": 13_230_00, "self_developed": 240_000_00, "other": 0,
                                                 "total": 253_230_00}
    assert intangible["累计摊销"]["期初余额"]["purchased"] == 6 * 200_00
    assert intangible["累计摊销"]["本期增加金额"] == {
        "purchased": 12 * 200_00 + bought_amortization, "self_developed": project_amortization,
        "other": 6 * 500_00, "total": 12 * 200_00 + bought_amortization + project_amortization + 6 * 500_00}
    assert intangible["累计摊销"]["本期减少金额"]["other"] == 6 * 500_00
    assert intangible["账面原值"]["本期减少金额"]["other"] == 6000_00
    assert intangible["减值准备"]["期末余额"]["self_developed"] == 10_000_00
    assert intangible["账面价值"]["期末账面价值"]["self_developed"] == 240_000_00 - project_amortization - 10_000_00
    inventory = sections(result["inventory"])
    assert inventory["账面原值"]["期末余额"]["purchased"] == 300_00
    assert inventory["存货跌价准备"]["期末余额"]["purchased"] == 30_00  # 20.00 released with the cost sold
    assert inventory["账面价值"]["期末账面价值"]["total"] == 270_00
    assert (result["research_expensed_fen"], result["development_capitalised_fen"]) == (50_000_00, 240_000_00)
    assert result["pending_asset_ids"] == []

    schedule = client.get(f"{API}/assets/{project['id']}/schedule", headers=buyer).json()
    assert len(schedule) == 36 and sum(line["amount_fen"] for line in schedule) == 240_000_00 - 10_000_00

    # The Excel file: both tables, the register and the schedules, with the same numbers.
    excel = client.get(f"{API}/disclosure.xlsx", params={"year": year}, headers=buyer)
    assert excel.status_code == 200 and excel.headers["content-type"].startswith("application/vnd.openxml")
    book = load_workbook(io.BytesIO(excel.content))
    assert book.sheetnames == ["无形资产披露", "存货披露", "资产卡片", "摊销表"]
    for sheet_name, table in (("无形资产披露", result["intangible"]), ("存货披露", result["inventory"])):
        sheet = book[sheet_name]
        assert sheet.cell(3, 5).value == "合计"
        for offset, row in enumerate(table["rows"]):
            cells = [sheet.cell(4 + offset, col).value for col in range(1, 6)]
            assert cells[0].strip() == row["label_zh"]
            if row["figures"] is not None:
                assert [int(Decimal(str(v)) * 100) for v in cells[1:]] == [
                    row["figures"][c] for c in ("purchased", "self_developed", "other", "total")]
    register = list(book["资产卡片"].iter_rows(min_row=2, values_only=True))
    assert len(register) == 5
    schedule_rows = [r for r in book["摊销表"].iter_rows(min_row=2, values_only=True) if r[0] == project["id"]]
    assert len(schedule_rows) == 36
    assert sum(Decimal(str(r[3])) for r in schedule_rows) == Decimal("230000.00")
    assert first.year == year


def test_the_flow_in_is_idempotent_and_a_second_purchase_of_a_pending_product_joins_its_card(
        client, session_factory):
    from shujiao.accounting.models import Entry
    from shujiao.audit import service as audit
    from shujiao.commands import SYSTEM, command, require_system
    from shujiao.db import unit_of_work
    from shujiao.market import service as market_service

    market = market_with_one_product(client, session_factory, deposit_fen=1000_00, price_fen=100_00)
    first = buy(client, market.buyer, market.product_id)
    second = buy(client, market.buyer, market.product_id)

    @command("test.accounting.replay")
    def replay(session, actor, *, order_id):  # type: ignore[no-untyped-def]
        require_system(actor)
        order = market_service.get_order(session, actor, order_id=order_id)
        audit.record(session, subject_type="order", subject_id=order_id, change={"replayed": True})
        return accounting.record_order_purchase(session, order=order).id

    with unit_of_work(session_factory) as session:
        again = replay(session, SYSTEM, order_id=first)
        assert session.get(Entry, again).source == f"order:{first}"
    assets = client.get(f"{API}/assets", headers=market.buyer).json()
    assert len(assets) == 1
    entries = client.get(f"{API}/assets/{assets[0]['id']}", headers=market.buyer).json()["entries"]
    assert sorted(e["source"] for e in entries) == sorted([f"order:{first}", f"order:{second}"])
    assert client.get(f"{API}/assets/{assets[0]['id']}", headers=market.buyer).json()["figures"]["cost_fen"] == 200_00
    # Pending, the card is in no disclosure table yet; classified, both purchases are in the inventory table.
    year = {"year": accounting.today().year}
    pending = client.get(f"{API}/disclosure", params=year, headers=market.buyer).json()
    assert pending["pending_asset_ids"] == [assets[0]["id"]]
    assert sections(pending["inventory"])["账面原值"]["期末余额"]["total"] == 0
    post(client, f"/assets/{assets[0]['id']}/classify", market.buyer, {"classification": "inventory"}, 200)
    classified = client.get(f"{API}/disclosure", params=year, headers=market.buyer).json()
    assert sections(classified["inventory"])["账面原值"]["期末余额"]["purchased"] == 200_00


FOREIGN_CALLS = [
    ("GET", "/api/v1/accounting/assets/{asset_id}", None),
    ("GET", "/api/v1/accounting/assets/{asset_id}/schedule", None),
    ("POST", "/api/v1/accounting/assets/{asset_id}/classify", {"classification": "inventory"}),
    ("POST", "/api/v1/accounting/assets/{asset_id}/ready", {"ready_for_use_on": "{today}"}),
    ("POST", "/api/v1/accounting/assets/{asset_id}/entries", {"entry_type": "cost", "detail": "taxes", "amount_fen": 1,
                                                              "occurred_on": "{today}"}),
    ("POST", "/api/v1/accounting/entries/{entry_id}/reverse", {"occurred_on": "{today}", "note": "冲销测试"}),
]


def test_another_member_and_the_operator_get_404_for_every_id(client, session_factory):
    market = market_with_one_product(client, session_factory, deposit_fen=1000_00)
    buy(client, market.buyer, market.product_id)
    [asset] = client.get(f"{API}/assets", headers=market.buyer).json()
    entry_id = client.get(f"{API}/assets/{asset['id']}", headers=market.buyer).json()["entries"][0]["id"]
    stranger = headers_of(client, make_member(session_factory, market.operator, kind="buyer"))
    today = accounting.today().isoformat()
    calls = [(method, path.removeprefix(API).format(asset_id=asset["id"], entry_id=entry_id),
              body and {k: (today if v == "{today}" else v) for k, v in body.items()})
             for method, path, body in FOREIGN_CALLS]
    for who in (stranger, market.seller):
        for method, path, body in calls:
            assert_error(client.request(method, API + path, json=body, headers=who), 404, "not_found")
    # The operator keeps no member's books: it reads nothing (404) and may record nothing (403).
    for method, path, body in calls:
        assert_error(client.request(method, API + path, json=body, headers=market.op),
                     404 if method == "GET" else 403)
    for who in (stranger, market.seller):
        assert client.get(f"{API}/assets", headers=who).json() == []
        year = client.get(f"{API}/disclosure", params={"year": 2026}, headers=who).json()
        assert year["pending_asset_ids"] == []
    detail = client.get(f"{API}/assets/{asset['id']}", headers=market.buyer).json()
    assert detail["classification"] == "pending" and len(detail["entries"]) == 1
    assert_error(client.get(f"{API}/assets"), 401)


def test_bad_input_is_a_4xx_with_a_readable_error(client, session_factory):
    market = market_with_one_product(client, session_factory, deposit_fen=1000_00)
    buyer = market.buyer
    asset = post(client, "/assets", buyer, {"name": "测试资产", "classification": "intangible",
                                            "acquisition": "purchased", "useful_life_months": 12,
                                            "ready_for_use_on": "2026-01-01"})
    cost = entry(client, buyer, asset["id"], "cost", 100_00, dt.date(2026, 1, 1), "purchase_price")
    bad_entries = [
        {"entry_type": "cost", "detail": "bribe", "amount_fen": 1, "occurred_on": "2026-02-01"},
        {"entry_type": "cost", "detail": "taxes", "amount_fen": -5, "occurred_on": "2026-02-01"},
        {"entry_type": "cost", "detail": "taxes", "amount_fen": 1.5, "occurred_on": "2026-02-01"},
        {"entry_type": "cost", "detail": "taxes", "amount_fen": 1, "occurred_on": "1800-02-01"},
        {"entry_type": "cost", "detail": "taxes", "amount_fen": 1, "occurred_on": "not a date"},
        {"entry_type": "disposal", "detail": "expired", "amount_fen": 5, "occurred_on": "2026-02-01"},
        {"entry_type": "teleport", "amount_fen": 1, "occurred_on": "2026-02-01"},
    ]
    for body in bad_entries:
        assert_error(client.post(f"{API}/assets/{asset['id']}/entries", json=body, headers=buyer), 422)
    # More impairment than is left, a reversal of an intangible's impairment, a cost after the life ended.
    for body, code in (
        ({"entry_type": "impairment", "amount_fen": 100_00, "occurred_on": "2026-06-30"}, "unsound_entry"),
        ({"entry_type": "impairment_reversal", "amount_fen": 1, "occurred_on": "2026-06-30"}, "unsound_entry"),
        ({"entry_type": "cost", "detail": "taxes", "amount_fen": 1, "occurred_on": "2027-06-30"}, "unsound_entry"),
        ({"entry_type": "sale", "amount_fen": 1, "occurred_on": "2026-06-30"}, "unsound_entry"),
    ):
        assert_error(client.post(f"{API}/assets/{asset['id']}/entries", json=body, headers=buyer), 422, code)
    assert_error(client.post(f"{API}/assets/{asset['id']}/classify", json={"classification": "inventory"},
                             headers=buyer), 409, "already_classified")
    assert_error(client.post(f"{API}/assets", json={"name": "x", "acquisition": "stolen"}, headers=buyer), 422)
    assert_error(client.post(f"{API}/assets", json={"name": "存货资产", "acquisition": "purchased",
                                                    "classification": "inventory", "useful_life_months": 12},
                             headers=buyer), 422)
    reversed_ = post(client, f"/entries/{cost['id']}/reverse", buyer, {"occurred_on": "2026-01-01", "note": "录错"})
    assert reversed_["amount_fen"] == -100_00 and reversed_["reverses_entry_id"] == cost["id"]
    assert_error(client.post(f"{API}/entries/{cost['id']}/reverse", json={"occurred_on": "2026-01-01",
                                                                          "note": "再冲"}, headers=buyer),
                 409, "already_reversed")
    assert_error(client.post(f"{API}/entries/{reversed_['id']}/reverse", json={"occurred_on": "2026-01-01",
                                                                               "note": "冲冲"}, headers=buyer),
                 409, "not_reversible")
    for params in ({}, {"year": 1999}, {"start": "2026-05-01", "end": "2026-01-01"}, {"start": "2026-01-01"},
                   {"year": "abc"}, {"year": 2026, "start": "2026-01-01", "end": "2026-02-01"}):
        assert_error(client.get(f"{API}/disclosure", params=params, headers=buyer), 422)
        assert_error(client.get(f"{API}/disclosure.xlsx", params=params, headers=buyer), 422)
    assert_error(client.put(f"{API}/policy", json={"default_classification": "inventory",
                                                   "default_useful_life_months": 12}, headers=buyer), 422)
    assert_error(client.get(f"{API}/assets/0", headers=buyer), 422)
    assert_error(client.get(f"{API}/assets/999999", headers=buyer), 404)
    # After a reversal the asset has no cost: the range disclosure still adds up.
    ranged = client.get(f"{API}/disclosure", params={"start": "2026-01-01", "end": "2026-03-31"}, headers=buyer)
    assert ranged.status_code == 200 and ranged.json()["intangible"]["reconciles"]
