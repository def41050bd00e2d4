"""The accounting pages: register, asset card with entries and schedule, disclosure with Excel."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.factories import make_member, make_operator
from tests.web.conftest import Pages, browser_log_in, browser_page, live_server  # noqa: F401 — fixtures


@pytest.fixture
def pages(app: FastAPI) -> Iterator[Pages]:
    with TestClient(app, headers={"accept": "text/html,application/xhtml+xml"}) as client:
        yield Pages(client)


def test_a_member_keeps_its_books_in_the_pages(pages, session_factory):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    member = make_member(session_factory, operator, kind="buyer")
    stranger = make_member(session_factory, operator, kind="buyer")
    pages.login(member.username, member.password)

    register = pages.get("/dashboard/accounting")
    assert register.status_code == 200 and "数据资源入表" in register.text and "还没有数据资产" in register.text
    created = pages.submit("/dashboard/accounting", "/dashboard/accounting/assets", {
        "name": "企业画像数据", "classification": "intangible", "acquisition": "purchased",
        "useful_life_months": "12", "ready_for_use_on": "2026-01-01"})
    assert created.status_code == 303
    card_url = created.headers["location"]
    asset_id = int(re.search(r"/assets/(\d+)$", card_url).group(1))  # type: ignore[union-attr]
    recorded = pages.submit(card_url, f"/dashboard/accounting/assets/{asset_id}/entries", {
        "entry_type": "cost", "detail": "purchase_price", "amount": "1,200.00", "occurred_on": "2026-01-01"})
    assert recorded.status_code == 303, recorded.text
    card = pages.get(card_url)
    assert card.status_code == 200
    assert "¥1,200.00" in card.text and 'id="schedule"' in card.text and "2026-12" in card.text
    assert card.text.count("¥100.00") >= 12  # twelve months of 100 yuan

    refused = pages.submit(card_url, f"/dashboard/accounting/assets/{asset_id}/entries", {
        "entry_type": "impairment", "amount": "99999", "occurred_on": "2026-03-31"})
    assert refused.status_code == 422 and "减值或出售超过账面价值" in refused.text

    disclosure = pages.get("/dashboard/accounting/disclosure?year=2026")
    assert disclosure.status_code == 200
    assert "外购的数据资源无形资产" in disclosure.text and "数据资源存货" in disclosure.text
    assert "表内数字不平" not in disclosure.text
    excel = pages.get("/dashboard/accounting/disclosure.xlsx?year=2026")
    assert excel.status_code == 200
    assert load_workbook(io.BytesIO(excel.content)).sheetnames[0] == "无形资产披露"

    pages.get("/lang/en?next=/dashboard/accounting/disclosure")
    english = pages.get("/dashboard/accounting/disclosure?year=2026")
    assert "Gross carrying amount" in english.text and "Accumulated amortization" in english.text

    other = Pages(pages.client)
    pages.client.cookies.clear()
    other.login(stranger.username, stranger.password)
    assert other.get(card_url).status_code == 404
    assert asset_id  # the card exists, and the stranger cannot see it
    forged = other.submit("/dashboard/accounting", f"/dashboard/accounting/assets/{asset_id}/entries", {
        "entry_type": "cost", "detail": "taxes", "amount": "1", "occurred_on": "2026-02-01"})
    assert forged.status_code == 404


@pytest.mark.browser
def test_in_a_browser_a_member_records_a_cost_and_downloads_the_disclosure(  # type: ignore[no-untyped-def]
        session_factory, live_server, browser_page):  # noqa: F811
    from playwright.sync_api import expect

    operator = make_operator(session_factory)
    member = make_member(session_factory, operator, kind="buyer")
    page = browser_page
    browser_log_in(page, live_server, member)
    page.click("nav.tabs a[href='/dashboard/accounting']")
    page.fill("#new-asset input[name=name]", "自建交通数据集")
    page.select_option("#new-asset select[name=classification]", "intangible")
    page.select_option("#new-asset select[name=acquisition]", "purchased")
    page.fill("#new-asset input[name=useful_life_months]", "10")
    page.fill("#new-asset input[name=ready_for_use_on]", "2026-03-01")
    page.click("#new-asset button[type=submit]")
    expect(page.locator(".flash-ok")).to_have_text("已建立资产卡片")
    page.select_option("#new-entry select[name=entry_type]", "cost")
    page.select_option("#new-entry select[name=detail]", "purchase_price")
    page.fill("#new-entry input[name=amount]", "1000")
    page.fill("#new-entry input[name=occurred_on]", "2026-03-01")
    page.click("#new-entry button[type=submit]")
    expect(page.locator(".flash-ok")).to_have_text("已记账")
    expect(page.locator("#schedule tbody tr")).to_have_count(10)
    page.goto(f"{live_server}/dashboard/accounting/disclosure?year=2026")
    expect(page.locator("#table-intangible")).to_contain_text("¥1,000.00")
    with page.expect_download() as download:
        page.click("#excel")
    assert download.value.suggested_filename == "data-resources-2026.xlsx"
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    closing = [row for row in book["无形资产披露"].iter_rows(values_only=True) if row[0] == "1. 期末账面价值"][0]
    assert str(closing[1]) == "0" and str(closing[4]) == "0"  # ten months from March: all amortized in 2026
