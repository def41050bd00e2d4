"""The personal data authorization pages (我的授权), through TestClient on SQLite and PostgreSQL
(and once in Chromium, on a phone-sized screen): phone-code login, consent, the receipt and uses,
revocation, English beside Chinese, CSRF, another person's consent a 404; the provider's scenario form."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.consent.helpers import csv_bytes, download_rows, paid_order, people_table, personal_product, phone
from tests.factories import make_member
from tests.api import headers_of, list_product, market_with_one_product
from tests.web.conftest import csrf_from

DEV_CODE = re.compile(r'id="dev-code">[^<]*<strong class="mono">(\d{6})</strong>')
CHALLENGE = re.compile(r'name="challenge_id" value="(\d+)"')


def person_log_in(pages: Any, number: str) -> None:
    sent = pages.submit("/me/consents", "/me/login/code", {"phone": number})
    assert sent.status_code == 200, sent.text
    code, challenge = DEV_CODE.search(sent.text).group(1), CHALLENGE.search(sent.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_from(sent.text), "challenge_id": challenge, "code": code, "phone": number}
    done = pages.client.post("/me/login", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/me/consents", done.text


@pytest.fixture
def world(client, session_factory):  # type: ignore[no-untyped-def]
    return personal_product(client, session_factory, csv_bytes(people_table(client, people=3)))


def test_a_person_consents_sees_the_receipt_and_use_and_revokes(client, pages, other_pages, world) -> None:  # type: ignore[no-untyped-def]
    anonymous = pages.get("/me/consents")
    assert anonymous.status_code == 200 and 'id="phone-form"' in anonymous.text and "我的授权" in anonymous.text
    wrong = pages.submit("/me/consents", "/me/login/code", {"phone": "12"})
    assert wrong.status_code == 422 and "手机号" in wrong.text
    person_log_in(pages, phone(0))
    mine = pages.get("/me/consents")
    assert f'id="scenario-{world.scenario["id"]}"' in mine.text and "小微企业主信用评估" in mine.text
    assert 'name="viewport"' in mine.text  # mobile-friendly: one column at phone width (style.css)
    granted = pages.submit("/me/consents", f"/me/scenarios/{world.scenario['id']}/consent", {"days": "30"})
    assert granted.status_code == 303
    detail_url = granted.headers["location"]
    consent_id = int(detail_url.rsplit("/", 1)[1])
    order_id = paid_order(client, world.market, world.product_id)
    assert download_rows(client, world.market, order_id).status_code == 200
    detail = pages.get(detail_url)
    assert detail.status_code == 200 and "KI-CR-v1.1.0" in detail.text and "piiPrincipalId" in detail.text
    assert "文件下载" in detail.text and 'id="uses"' in detail.text
    # English on request.
    pages.get("/lang/en?next=/me/consents")
    assert "My authorizations" in pages.get(detail_url).text and "file download" in pages.get(detail_url).text
    # Another person gets 404; a form without its token is refused.
    person_log_in(other_pages, phone(1))
    assert other_pages.get(detail_url).status_code == 404
    assert other_pages.submit("/me/consents", f"/me/consents/{consent_id}/revoke").status_code == 404
    assert pages.client.post(f"/me/consents/{consent_id}/revoke", data={}, follow_redirects=False).status_code == 403
    revoked = pages.submit(detail_url, f"/me/consents/{consent_id}/revoke")
    assert revoked.status_code == 303
    after = pages.get(detail_url).text
    assert "revoked" in after and f'action="/me/consents/{consent_id}/revoke"' not in after
    assert pages.submit("/me/consents", "/me/logout").status_code == 303
    assert 'id="phone-form"' in pages.get("/me/consents").text


def test_a_provider_declares_a_scenario_on_its_product_page(client, session_factory, pages) -> None:  # type: ignore[no-untyped-def]
    market = market_with_one_product(client, session_factory)
    product_id = list_product(client, market.seller, market.op, content=csv_bytes(people_table(client, people=2)))
    pages.login(market.seller_handle.username, market.seller_handle.password)
    url = f"/products/{product_id}/consent"
    assert 'id="scenario-form"' in pages.get(url).text
    bad = pages.submit(url, url, {"name": "场景", "purpose": "credit_assessment", "data_items": "age, nope",
                                  "key_column": "person_key", "max_days": "30", "on_missing": "exclude"})
    assert bad.status_code == 422 and "nope" in bad.text
    ok = pages.submit(url, url, {"name": "小微企业主信用评估", "purpose": "credit_assessment", "data_items": "age，amount",
                                 "key_column": "person_key", "max_days": "365", "on_missing": "refuse"})
    assert ok.status_code == 303, ok.text
    page = pages.get(url).text
    assert "小微企业主信用评估" in page and 'id="scenario-form"' not in page and 'class="live-consents">0<' in page
    scenarios = client.get(f"/api/v1/products/{product_id}/consent-scenarios").json()
    assert [(s["data_items"], s["on_missing"]) for s in scenarios] == [(["age", "amount"], "refuse")]
    # Another member may read a listed product's scenario but not declare one.
    outsider = make_member(session_factory, market.operator)
    pages.submit("/", "/logout")
    pages.login(outsider.username, outsider.password)
    assert 'id="scenario-form"' not in pages.get(url).text
    assert pages.submit(url, url, {"name": "x" * 5, "purpose": "marketing", "data_items": "age",
                                   "key_column": "person_key", "max_days": "3"}).status_code in (404, 409)
    assert headers_of(client, outsider)


@pytest.mark.browser
def test_a_person_consents_and_revokes_on_a_phone(world, live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/me/consents")
    page.fill("input[name=phone]", phone(2))
    page.click("#phone-form button[type=submit]")
    code = page.locator("#dev-code strong").inner_text()
    page.fill("input[name=code]", code)
    page.click("#code-form button[type=submit]")
    page.wait_for_url(f"{live_server}/me/consents")
    page.click(f"#scenario-{world.scenario['id']} button[type=submit]")
    expect(page.locator("#receipt")).to_contain_text("KI-CR-v1.1.0")
    page.click("#consent-summary button[type=submit]")
    expect(page.locator("#consent-status")).to_contain_text("已撤回")
    # Nothing wider than the phone's screen but the receipt's own scroll box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
