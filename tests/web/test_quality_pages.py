"""The quality pages (数据质量评价): the rules editor with its inline error, the evaluation and its
report, the commission and the assessor's signature, the report on the product page; through
TestClient, and rules → evaluation → report in a real Chromium."""

from __future__ import annotations

import re

import pytest

from shujiao.db import unit_of_work
from shujiao.quality import service
from tests.quality.test_service import BAD_CODE, RULES, list_dataset, world  # noqa: F401 - world is a fixture
from tests.web.conftest import browser_log_in
from tests.web.test_registry_pages import credit_code_of


def test_the_rules_editor_shows_a_fault_inline_and_keeps_the_text(pages, world, session_factory):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    url = f"/dashboard/quality/datasets/{dataset_id}"
    pages.login(provider.username, provider.password)
    assert f'href="{url}"' in pages.get("/dashboard/resources").text  # the dataset links here
    assert f'href="{url}"' in pages.get("/dashboard/quality").text
    page = pages.get(url)
    assert page.status_code == 200 and 'id="rules-draft"' in page.text and "validator: credit_code" in page.text
    assert 'id="run-evaluation"' not in page.text  # nothing to run before rules are saved

    broken = "fields:\n  - column: 统一社会信用代码\n    validator: passport\n"
    refused = pages.submit(url, f"{url}/rules", {"rules_text": broken})
    assert refused.status_code == 422
    assert 'id="rules-error"' in refused.text and "passport" in refused.text and "统一社会信用代码" in refused.text
    assert "validator: passport" in refused.text  # the typed text comes back in the editor, not the draft
    with unit_of_work(session_factory) as session:
        assert service.current_rules(session, dataset_id=dataset_id) is None

    saved = pages.submit(url, f"{url}/rules", {"rules_text": RULES})
    assert saved.status_code == 303 and saved.headers["location"] == url
    page = pages.get(url).text
    assert "v1" in page and 'id="run-evaluation"' in page and "已保存规则第 1 版" in page

    # English is one click away.
    pages.get(f"/lang/en?next={url}")
    assert "Quality rules" in pages.get(url).text


def test_evaluate_commission_sign_and_show_on_the_product(pages, other_pages, world, session_factory, settings,  # type: ignore[no-untyped-def]
                                                          storage):
    provider, assessor, dataset_id = world["provider"], world["assessor"], world["dataset_id"]
    url = f"/dashboard/quality/datasets/{dataset_id}"
    pages.login(provider.username, provider.password)
    pages.submit(url, f"{url}/rules", {"rules_text": RULES})
    ran = pages.submit(url, f"{url}/run")
    assert ran.status_code == 303
    report_url = ran.headers["location"]
    own_report_id = int(report_url.rsplit("/", 1)[1])
    report = pages.get(report_url).text
    with unit_of_work(session_factory) as session:
        stored = service.get_report(session, provider.actor, report_id=own_report_id)
    for expected in (str(stored.overall_score), "数据格式合规性", "X = A/B = 5/7", "71.43", "问题最多的字段", BAD_CODE,
                     "字段画像", "未经第三方评估机构签署", f"/api/v1/quality/reports/{own_report_id}/pdf"):
        assert expected in report, expected

    commissioned = pages.submit(url, f"{url}/commissions",
                                {"credit_code": credit_code_of(session_factory, assessor), "note": "请评估"})
    assert commissioned.status_code == 303
    assert "四川数据资产评估有限公司" in pages.get(url).text

    other_pages.login(assessor.username, assessor.password)
    queue = other_pages.get("/dashboard/quality").text
    assert 'id="assessor-queue"' in queue and "贵州数智科技有限公司" in queue and f'href="{url}"' in queue
    assessor_view = other_pages.get(url).text
    assert 'id="rules-form"' not in assessor_view and 'id="rules-text"' in assessor_view  # reads, cannot edit
    ran = other_pages.submit(url, f"{url}/run")
    assert ran.status_code == 303
    assessor_report_url = ran.headers["location"]
    report_id = int(assessor_report_url.rsplit("/", 1)[1])
    assert 'id="sign-form"' in other_pages.get(assessor_report_url).text
    assert 'id="sign-form"' not in other_pages.get(report_url).text  # not the provider's own report
    signed = other_pages.submit(assessor_report_url, f"{assessor_report_url}/sign",
                                {"opinion": "数据质量总体良好。"})
    assert signed.status_code == 303
    page = other_pages.get(assessor_report_url).text
    assert 'id="signature-verified"' in page and "数据质量总体良好。" in page and 'id="sign-form"' not in page

    product_id = list_dataset(session_factory, world["operator"], provider, dataset_id)
    assert f'<option value="{product_id}">' in pages.get(assessor_report_url).text
    attached = pages.submit(assessor_report_url, f"{assessor_report_url}/attach", {"product_id": str(product_id)})
    assert attached.status_code == 303 and attached.headers["location"] == f"/products/{product_id}"
    assert f'<a href="/products/{product_id}">' in pages.get(assessor_report_url).text  # where it is shown

    pages.client.cookies.clear()  # anyone
    product_page = pages.get(f"/products/{product_id}").text
    assert 'id="product-quality"' in product_page and "四川数据资产评估有限公司" in product_page
    assert f'href="/quality/reports/{report_id}"' in product_page
    public = pages.get(f"/quality/reports/{report_id}")
    assert public.status_code == 200 and 'id="public-summary"' in public.text
    assert BAD_CODE not in public.text and "字段画像" not in public.text and "四川数据资产评估有限公司" in public.text
    assert pages.get(report_url).status_code == 404  # the provider's own report is not public


def test_another_member_gets_404_on_every_quality_page(pages, world, session_factory, settings, storage):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    with unit_of_work(session_factory) as session:
        service.save_rules(session, provider.actor, dataset_id=dataset_id, text=RULES)
    with unit_of_work(session_factory) as session:
        report_id = service.run_evaluation(session, provider.actor, settings=settings, storage=storage,
                                           dataset_id=dataset_id).id
    intruder = world["intruder"]
    pages.login(intruder.username, intruder.password)
    url = f"/dashboard/quality/datasets/{dataset_id}"
    assert pages.get(url).status_code == 404
    assert pages.get(f"/quality/reports/{report_id}").status_code == 404
    for action, data in ((f"{url}/rules", {"rules_text": RULES + "key: [企业名称]\n"}), (f"{url}/run", {}),
                         (f"/quality/reports/{report_id}/sign", {"opinion": "冒签"})):
        response = pages.submit("/dashboard/quality", action, data)
        assert response.status_code == 404, action
    with unit_of_work(session_factory) as session:
        assert len(service.reports_of_dataset(session, provider.actor, dataset_id=dataset_id)) == 1
        assert service.current_rules(session, dataset_id=dataset_id).version == 1


@pytest.mark.browser
def test_edit_rules_run_an_evaluation_and_read_the_report(world, live_server, browser_page):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    provider, dataset_id = world["provider"], world["dataset_id"]
    page = browser_page
    browser_log_in(page, live_server, provider)

    page.goto(f"{live_server}/dashboard/resources")
    page.click(f"a[href='/dashboard/quality/datasets/{dataset_id}']")
    page.wait_for_url(f"{live_server}/dashboard/quality/datasets/{dataset_id}")
    expect(page.locator("#rules-draft")).to_be_visible()
    page.fill("textarea[name=rules_text]", "fields:\n  - column: 信用评分\n    range: {min: 0, max: }\n  - [")
    page.click("#save-rules")
    expect(page.locator("#rules-error")).to_contain_text("YAML")
    page.fill("textarea[name=rules_text]", RULES)
    page.click("#save-rules")
    expect(page.locator(".flash-ok")).to_contain_text("已保存规则第 1 版")

    page.click("#run-evaluation")
    page.wait_for_url(re.compile(rf"{re.escape(live_server)}/quality/reports/\d+$"))
    expect(page.locator(".flash-ok")).to_contain_text("评价完成")
    expect(page.locator("#overall")).to_have_text(re.compile(r"^\d{1,3}\.\d{2}$"))
    expect(page.locator("#grade")).to_have_text(re.compile("^[ABCD]$"))
    expect(page.locator("#sub-accuracy-format")).to_contain_text("5/7")
    expect(page.locator("#sub-accuracy-format")).to_contain_text("71.43")
    expect(page.locator("#indicators tr.indicator-row")).to_have_count(6)
    expect(page.locator("#worst-fields")).to_contain_text(BAD_CODE)
