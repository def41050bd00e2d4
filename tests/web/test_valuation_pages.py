"""The valuation pages (数据资产评估) in a real Chromium: the income method from the form to a final
report, the market method on a settled trade picked from the list, and a refused form that names the
field by its label and keeps what was typed. The TestClient tests are in tests/valuation/test_pages.py."""

from __future__ import annotations

import re

import pytest

from tests.valuation.test_pages import world  # noqa: F401 - the fixture: a provider, a settled trade, an unpaid order
from tests.web.conftest import browser_log_in


@pytest.mark.browser
def test_value_by_income_and_by_market_then_a_refused_form(world, live_server, browser_page):  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    provider, settled, unpaid = world["provider"], world["settled"], world["unpaid"]
    page = browser_page
    browser_log_in(page, live_server, provider)
    page.click("a[href='/dashboard/valuations']")
    page.wait_for_url(f"{live_server}/dashboard/valuations")

    # 收益法: ¥1,000,000 a year for 3 years at 10 % → ¥2,486,851.99 (the worked example of test_formulas).
    income = page.locator("#income-form")
    income.locator("select[name=subject]").select_option(f"dataset:{world['dataset_id']}")
    income.locator("textarea[name=income]").fill("1000000, 1000000, 1000000")
    income.locator("input[name=discount_rate]").fill("0.1")
    income.locator("input[name=remaining_life]").fill("3")
    page.click("#compute-income")
    page.wait_for_url(re.compile(rf"{re.escape(live_server)}/dashboard/valuations/\d+$"))
    expect(page.locator(".flash-ok")).to_contain_text("已生成评估报告草稿")
    expect(page.locator("#value")).to_have_text("¥2,486,851.99")
    expect(page.locator("#status")).to_have_text("草稿")
    years = page.locator("#intermediates tbody tr")
    expect(years).to_have_count(4)  # three years and the sum
    for row, (factor, present_value) in enumerate((("0.909091", "909,090.91"), ("0.826446", "826,446.28"),
                                                    ("0.751315", "751,314.80"))):
        expect(years.nth(row)).to_contain_text(factor)
        expect(years.nth(row)).to_contain_text(present_value)
    expect(years.nth(3)).to_contain_text("2,486,851.99")
    sensitivity = page.locator("#sensitivity tbody tr")
    expect(sensitivity.first).to_be_visible()
    expect(page.locator("#sensitivity")).to_contain_text("折现率 i")
    expect(page.locator("#sensitivity")).to_contain_text("¥2,577,096.99")  # i = 8 %

    page.click("#finalize")
    expect(page.locator(".flash-ok")).to_contain_text("评估报告已定稿")
    expect(page.locator("#status")).to_have_text("已定稿")
    expect(page.locator("#finalize")).to_have_count(0)

    # 市场法: pick the settled trade from the list (the unpaid order is not offered), ×1.1 supply-demand.
    page.click("a[href='/dashboard/valuations']")
    page.wait_for_url(f"{live_server}/dashboard/valuations")
    expect(page.locator("#trades")).to_contain_text(str(settled))
    expect(page.locator(f"#pick-{unpaid}")).to_have_count(0)
    page.click(f"#pick-{settled}")
    market = page.locator("#market-form")
    expect(market.locator("input[aria-label='order_id 1']")).to_have_value(str(settled))
    market.locator("input[name=subject_text]").fill("同类信用数据")
    market.locator("input[aria-label='supply_demand_factor 1']").fill("1.1")
    page.click("#compute-market")
    page.wait_for_url(re.compile(rf"{re.escape(live_server)}/dashboard/valuations/\d+$"))
    expect(page.locator("#value")).to_have_text("¥2,200.00")  # ¥2,000.00 × 1.1
    expect(page.locator("#intermediates")).to_contain_text(f"order #{settled}")

    # A bad discount rate: the form again, the field named as people know it, the typed values kept.
    page.click("a[href='/dashboard/valuations']")
    page.wait_for_url(f"{live_server}/dashboard/valuations")
    income = page.locator("#income-form")
    income.locator("textarea[name=income]").fill("1000000")
    income.locator("input[name=discount_rate]").fill("1.5")
    income.locator("input[name=remaining_life]").fill("3")
    income.locator("input[name=subject_text]").fill("客户画像数据")
    page.click("#compute-income")
    errors = page.locator("#income-errors")
    expect(errors).to_contain_text("折现率 i discount rate i：须介于 0 和 1 之间")
    expect(errors).not_to_contain_text("inputs.")
    expect(income.locator("input[name=discount_rate]")).to_have_value("1.5")
    expect(income.locator("textarea[name=income]")).to_have_value("1000000")
    expect(income.locator("input[name=subject_text]")).to_have_value("客户画像数据")
    expect(page.locator("#reports tbody tr")).to_have_count(2)  # nothing stored for the refused form
