"""The registration pages (数据登记): the public check and comment list, the member's forms and the
operator's review, through TestClient; and a pledge accepted by a bank in a real Chromium."""

from __future__ import annotations

import re
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shujiao.db import unit_of_work, utcnow
from shujiao.members.models import Member
from shujiao.registry import service
from shujiao.registry.models import Application, Certificate
from shujiao.registry.schemas import ApplicationCreate, ApplicationDecision
from tests.factories import make_dataset, make_member, make_operator
from tests.web.conftest import browser_log_in
from tests.web.conftest import Pages

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, kind="provider", name="贵州数智科技有限公司")
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    return {"operator": operator, "provider": provider, "dataset_id": dataset_id}


def end_publicity(factory, application_id):  # type: ignore[no-untyped-def]
    """The comment period passes (the clock moves on)."""
    with unit_of_work(factory) as session:
        session.execute(update(Application).where(Application.id == application_id)
                        .values(publicity_ends_at=utcnow()))


def issue_certificate(factory, settings, operator, member, dataset_id) -> str:  # type: ignore[no-untyped-def]
    """A certificate made through the service layer: apply, submit, comment period over, approve."""
    with unit_of_work(factory) as session:
        application = service.create_application(session, member.actor, settings=settings, data=ApplicationCreate(
            subject_type="dataset", subject_id=dataset_id, title="企业信用评分数据", rights=["holding"],
            source="self_collected"))
        service.submit_application(session, member.actor, settings=settings, application_id=application.id)
        application_id = application.id
    end_publicity(factory, application_id)
    with unit_of_work(factory) as session:
        service.decide_application(session, operator.actor, settings=settings, application_id=application_id,
                                   decision=ApplicationDecision(decision="approve"))
        [number] = service.certificates_of_application(session, application_id=application_id)
    return number


def test_anyone_checks_a_certificate_by_its_number(pages, world, session_factory, settings):  # type: ignore[no-untyped-def]
    number = issue_certificate(session_factory, settings, world["operator"], world["provider"], world["dataset_id"])

    page = pages.get(f"/verify/{number}")
    assert page.status_code == 200
    text = page.text
    assert 'id="cert-status"' in text and 'data-status="valid"' in text and "有效" in text
    for expected in ("贵州数智科技有限公司", "数据资源持有权", "企业信用评分数据", "登记发证", "签名声明",
                     f"/api/v1/certificates/{number}/bundle", f"/api/v1/certificates/{number}/pdf"):
        assert expected in text
    with unit_of_work(session_factory) as session:
        certificate = service.get_certificate(session, number=number)
        [statement] = service.history(session, certificate_id=certificate.id)
        assert certificate.content_sha256 in text and statement.key_id in text

    # The check form takes the number (any case) to its page.
    typed = pages.get(f"/verify?number={number.lower()}")
    assert typed.status_code == 303 and typed.headers["location"] == f"/verify/{number.lower()}"
    assert pages.get(typed.headers["location"]).status_code == 200
    assert "凭证编号" in pages.get("/verify").text

    # English is one click away.
    pages.get("/lang/en?next=/")
    assert 'data-status="valid"' in pages.get(f"/verify/{number}").text
    assert "Offline verification bundle" in pages.get(f"/verify/{number}").text


@pytest.mark.parametrize("number", ["SJ-2026-R-00000001-0", "SJ-2026-R-99999999-X", "not-a-number", "x" * 60])
def test_an_unknown_or_malformed_number_is_a_readable_404(pages, world, number):  # type: ignore[no-untyped-def]
    response = pages.get(f"/verify/{number}")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"] and "登记凭证" in response.text


def test_apply_object_resolve_approve_through_the_pages(pages, other_pages, app, world, session_factory, settings):  # type: ignore[no-untyped-def]
    with ExitStack() as stack:
        _apply_object_resolve_approve(stack, pages, other_pages, app, world, session_factory)


def _apply_object_resolve_approve(stack, pages, other_pages, app, world, session_factory):  # type: ignore[no-untyped-def]
    operator, provider = world["operator"], world["provider"]
    pages.login(provider.username, provider.password)
    dashboard = pages.get("/dashboard/registry")
    assert dashboard.status_code == 200 and "新建登记申请" in dashboard.text
    assert f'<option value="{world["dataset_id"]}">' in dashboard.text

    created = pages.submit("/dashboard/registry", "/dashboard/registry/applications", {
        "subject_type": "dataset", "dataset_id": str(world["dataset_id"]), "rights": ["holding", "operating"],
        "source": "self_collected", "title": "企业信用评分数据", "description": "贵州企业信用综合评分"})
    assert created.status_code == 303, created.text
    detail_url = created.headers["location"]
    application_id = int(detail_url.rsplit("/", 1)[1])
    assert detail_url == f"/dashboard/registry/applications/{application_id}"

    uploaded = pages.submit(detail_url, f"{detail_url}/documents",
                            files={"file": ("来源证明.pdf", b"%PDF-1.4 source proof", "application/pdf")})
    assert uploaded.status_code == 303, uploaded.text
    detail = pages.get(detail_url)
    assert "来源证明.pdf" in detail.text and "草稿" in detail.text
    [document_id] = re.findall(r'href="/api/v1/registrations/documents/(\d+)"', detail.text)
    download = pages.get(f"/api/v1/registrations/documents/{document_id}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 source proof"

    submitted = pages.submit(detail_url, f"{detail_url}/submit")
    assert submitted.status_code == 303
    assert "公示中" in pages.get(detail_url).text

    # Another member sees neither the application's page nor its document.
    other = make_member(session_factory, operator, kind="provider")
    other_pages.login(other.username, other.password)
    assert other_pages.get(detail_url).status_code == 404
    assert other_pages.get(f"/api/v1/registrations/documents/{document_id}").status_code == 404

    # Anyone objects on the public comment page (double-submit CSRF, no login).
    anonymous = Pages(stack.enter_context(TestClient(app, headers=HTML)))
    assert "企业信用评分数据" in anonymous.get("/registry/publicity").text
    objected = anonymous.submit("/registry/publicity", f"/registry/applications/{application_id}/objections", {
        "objector_name": "张三", "contact": "13800000000", "reason": "该数据由我方采集，申请人无权登记"})
    assert objected.status_code == 303, objected.text
    # Without the form's token nothing is recorded.
    forged = anonymous.client.post(f"/registry/applications/{application_id}/objections", data={
        "objector_name": "李四", "contact": "13900000000", "reason": "伪造的跨站请求内容"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "张三" in pages.get(detail_url).text and "李四" not in pages.get(detail_url).text

    # The operator cannot approve with the objection open and the period running; resolves, then approves.
    operator_pages = Pages(stack.enter_context(TestClient(app, headers=HTML)))
    operator_pages.login(operator.username, operator.password)
    queue = operator_pages.get("/operator/registry")
    assert queue.status_code == 200 and "张三" in queue.text and "来源证明.pdf" in queue.text
    refused = operator_pages.submit("/operator/registry", f"/operator/registry/applications/{application_id}/decision",
                                    {"decision": "approve"}, referer=True)
    assert refused.status_code == 303 and refused.headers["location"] == "/operator/registry"
    assert "尚有未处理的异议" in operator_pages.get("/operator/registry").text

    with unit_of_work(session_factory) as session:
        [objection] = service.objections(session, operator.actor, application_id=application_id)
    resolved = operator_pages.submit("/operator/registry", f"/operator/registry/objections/{objection.id}/resolve",
                                     {"decision": "dismissed", "resolution": "异议人未能提供采集证据"})
    assert resolved.status_code == 303
    end_publicity(session_factory, application_id)
    approved = operator_pages.submit("/operator/registry",
                                     f"/operator/registry/applications/{application_id}/decision",
                                     {"decision": "approve"})
    assert approved.status_code == 303
    assert "已批准" in operator_pages.get("/operator/registry").text
    assert "张三" in operator_pages.get(detail_url).text  # the operator opens any application
    operator_pages.get("/lang/en?next=/")
    assert "Registration review" in operator_pages.get("/operator/registry").text
    assert operator_pages.get(detail_url).status_code == 200

    with unit_of_work(session_factory) as session:
        numbers = service.certificates_of_application(session, application_id=application_id)
        assert session.get(Application, application_id).status == "approved"
    assert len(numbers) == 2
    mine = pages.get("/dashboard/registry")
    for number in numbers:
        assert number in mine.text
        assert pages.get(f"/dashboard/registry/certificates/{number}").status_code == 200
        # The member pages of a certificate are for those who may act on it; /verify is for everyone.
        assert other_pages.get(f"/dashboard/registry/certificates/{number}").status_code == 404
        assert "有效" in pages.get(f"/verify/{number}").text


def credit_code_of(factory, handle) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return session.get(Member, handle.member_id).credit_code


def test_the_holder_pledges_in_yuan_and_the_operator_revokes(pages, other_pages, world, session_factory, settings):  # type: ignore[no-untyped-def]
    operator, provider = world["operator"], world["provider"]
    bank = make_member(session_factory, operator, kind="financial", name="测试银行股份有限公司")
    number = issue_certificate(session_factory, settings, operator, provider, world["dataset_id"])
    page = f"/dashboard/registry/certificates/{number}"
    pages.login(provider.username, provider.password)
    bad = pages.submit(page, f"{page}/pledge", {"credit_code": credit_code_of(session_factory, bank), "contract_ref": "ZY-1",
                                                "secured_amount": "12.345"}, referer=True)
    assert bad.status_code == 303 and bad.headers["location"] == page
    assert "担保金额格式不正确" in pages.get(page).text
    pledged = pages.submit(page, f"{page}/pledge", {"credit_code": credit_code_of(session_factory, bank),
                                                    "contract_ref": "ZY-2026-001", "secured_amount": "500000.10"})
    assert pledged.status_code == 303
    with unit_of_work(session_factory) as session:
        certificate = session.scalar(select(Certificate).where(Certificate.number == number))
        assert certificate.pending_action == "pledge"
        assert '"secured_amount_fen": 50000010' in certificate.pending_note
    assert "¥500,000.10" in pages.get(page).text

    other_pages.login(bank.username, bank.password)
    assert number in other_pages.get("/dashboard/registry").text
    accepted = other_pages.submit(page, f"{page}/respond", {"decision": "accept"})
    assert accepted.status_code == 303
    assert 'data-status="pledged"' in pages.get(f"/verify/{number}").text

    # The operator's revoke form: refused while pledged; after the bank releases, revoked by ruling.
    other_pages.submit(page, f"{page}/release", {"note": "贷款已结清"})
    pages.submit("/dashboard", "/logout")
    pages.login(operator.username, operator.password)
    missing_ref = pages.submit("/operator/registry", "/operator/registry/revoke", {
        "number": number, "basis": "dispute_ruling", "reason": "争议裁决"}, referer=True)
    assert missing_ref.status_code == 303 and "争议裁决须注明文号" in pages.get("/operator/registry").text
    revoked = pages.submit("/operator/registry", "/operator/registry/revoke", {
        "number": number, "basis": "dispute_ruling", "reason": "争议裁决", "ruling_ref": "(2026)仲字第1号"})
    assert revoked.status_code == 303
    check = pages.get(f"/verify/{number}").text
    assert 'data-status="revoked"' in check and "已撤销" in check and "解除质押" in check


def test_a_duplicate_is_flagged_and_approved_only_when_reviewed(pages, world, session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = world["operator"]
    first = issue_certificate(session_factory, settings, operator, world["provider"], world["dataset_id"])
    copier = make_member(session_factory, operator, kind="provider")
    _, dataset_id = make_dataset(session_factory, storage, copier, settings=settings)  # the same bytes
    pages.login(copier.username, copier.password)
    created = pages.submit("/dashboard/registry", "/dashboard/registry/applications", {
        "subject_type": "resource", "dataset_id": str(dataset_id), "rights": "processing",
        "source": "purchased", "source_note": "订单 #1", "title": "企业信用评分数据"})
    assert created.status_code == 303, created.text
    detail_url = created.headers["location"]
    application_id = int(detail_url.rsplit("/", 1)[1])
    pages.submit(detail_url, f"{detail_url}/submit")
    assert first in pages.get(detail_url).text and "指纹重复" in pages.get("/dashboard/registry").text
    end_publicity(session_factory, application_id)

    pages.submit("/dashboard", "/logout")
    pages.login(operator.username, operator.password)
    queue = pages.get("/operator/registry").text
    assert f'href="/verify/{first}"' in queue and 'name="duplicate_reviewed"' in queue
    action = f"/operator/registry/applications/{application_id}/decision"
    pages.submit("/operator/registry", action, {"decision": "approve"}, referer=True)
    assert "须核查后确认" in pages.get("/operator/registry").text
    approved = pages.submit("/operator/registry", action, {"decision": "approve", "duplicate_reviewed": "1"})
    assert approved.status_code == 303
    with unit_of_work(session_factory) as session:
        application = session.get(Application, application_id)
        assert application.status == "approved" and application.subject_type == "resource"


@pytest.mark.browser
def test_a_bank_accepts_a_pledge_and_the_public_check_shows_it(session_factory, settings, storage, world,  # type: ignore[no-untyped-def]
                                                               live_server, browser_page):
    from playwright.sync_api import expect

    operator, provider = world["operator"], world["provider"]
    bank = make_member(session_factory, operator, kind="financial", name="测试银行股份有限公司")
    number = issue_certificate(session_factory, settings, operator, provider, world["dataset_id"])
    page = browser_page

    browser_log_in(page, live_server, provider)
    page.goto(f"{live_server}/dashboard/registry")
    page.click(f"#certificates a:has-text('{number}')")
    page.wait_for_url(f"{live_server}/dashboard/registry/certificates/{number}")
    expect(page.locator("#cert-status")).to_have_text("有效")
    page.fill("#pledge-form input[name=credit_code]", credit_code_of(session_factory, bank))
    page.fill("input[name=contract_ref]", "ZY-2026-001")
    page.fill("input[name=secured_amount]", "500000")
    page.click("#pledge")
    expect(page.locator("#pending")).to_contain_text("测试银行股份有限公司")
    expect(page.locator("#pending")).to_contain_text("¥500,000.00")
    page.click("header form button[type=submit]")  # log out
    page.wait_for_url(f"{live_server}/")

    browser_log_in(page, live_server, bank)
    page.goto(f"{live_server}/dashboard/registry")
    page.click(f"#certificates a:has-text('{number}')")
    page.click("#accept")
    expect(page.locator(".flash-ok")).to_have_text("已确认")
    expect(page.locator("#cert-status")).to_have_text("已质押")

    page.goto(f"{live_server}/verify")
    page.fill("input[name=number]", number)
    page.press("input[name=number]", "Enter")
    page.wait_for_url(f"{live_server}/verify/{number}")
    expect(page.locator("#cert-status")).to_have_text("已质押")
    expect(page.locator("#cert-pledgee")).to_have_text("测试银行股份有限公司")
    expect(page.locator("#history .history-event")).to_have_count(3)


def test_the_holder_names_the_transferee_by_credit_code(pages, world, session_factory, settings):  # type: ignore[no-untyped-def]
    operator, provider = world["operator"], world["provider"]
    buyer = make_member(session_factory, operator, kind="buyer")
    number = issue_certificate(session_factory, settings, operator, provider, world["dataset_id"])
    page = f"/dashboard/registry/certificates/{number}"
    pages.login(provider.username, provider.password)
    unknown = pages.submit(page, f"{page}/transfer", {"credit_code": "91110000000000000X"}, referer=True)
    assert unknown.status_code == 303 and "未找到该统一社会信用代码的会员" in pages.get(page).text
    done = pages.submit(page, f"{page}/transfer", {"credit_code": credit_code_of(session_factory, buyer).lower()})
    assert done.status_code == 303
    with unit_of_work(session_factory) as session:
        certificate = session.scalar(select(Certificate).where(Certificate.number == number))
        assert (certificate.pending_action, certificate.pending_member_id) == ("transfer", buyer.member_id)


def test_the_operator_approves_ticked_applications_together(pages, world, session_factory, settings):  # type: ignore[no-untyped-def]
    operator, provider = world["operator"], world["provider"]
    ids = []
    for right in ("holding", "operating", "processing"):
        with unit_of_work(session_factory) as session:
            application = service.create_application(session, provider.actor, settings=settings, data=ApplicationCreate(
                subject_type="dataset", subject_id=world["dataset_id"], title="企业信用评分数据", rights=[right],
                source="self_collected"))
            service.submit_application(session, provider.actor, settings=settings, application_id=application.id)
            ids.append(application.id)
    for application_id in ids[:2]:
        end_publicity(session_factory, application_id)
    pages.login(operator.username, operator.password)
    assert 'form="batch-approve"' in pages.get("/operator/registry").text
    # One of them is still in its comment period: none is approved.
    refused = pages.submit("/operator/registry", "/operator/registry/decisions",
                           {"application_id": [str(i) for i in ids]}, referer=True)  # type: ignore[dict-item]
    assert refused.status_code == 303 and "公示期未满" in pages.get("/operator/registry").text
    done = pages.submit("/operator/registry", "/operator/registry/decisions",
                        {"application_id": [str(i) for i in ids[:2]]})  # type: ignore[dict-item]
    assert done.status_code == 303
    with unit_of_work(session_factory) as session:
        assert [session.get(Application, i).status for i in ids] == ["approved", "approved", "publicity"]
