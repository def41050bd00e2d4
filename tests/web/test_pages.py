"""The server-rendered pages, through TestClient: who sees what, CSRF, errors shown and nothing changed."""

from __future__ import annotations

import io

import pytest

from shujiao.catalog import service as catalog
from shujiao.db import unit_of_work
from shujiao.ledger import service as ledger
from shujiao.listing import service as listing
from shujiao.listing.schemas import ProductCreate
from shujiao.market import service as market
from shujiao.members import service as members
from tests.factories import (
    CSV_BYTES,
    make_dataset,
    make_listed_product,
    make_member,
    make_operator,
    random_credit_code,
)

OPERATOR_PAGES = ["/operator/members", "/operator/reviews", "/operator/ledger", "/operator/orders", "/operator/audit"]


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, kind="provider", name="贵州数智科技有限公司")
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=500_00)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings, price_fen=100_00)
    return {"operator": operator, "provider": provider, "buyer": buyer, "product_id": product_id}


def _orders(session_factory, operator):  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as s:
        return [(o.id, o.status) for o in market.all_orders(s, operator.actor)]


def _ledger_state(session_factory, operator, member_id):  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as s:
        check = ledger.check(s, operator.actor)
        balance = ledger.member_balance(s, operator.actor, member_id=member_id)
        return check.entries, balance.balance_fen


# --- anonymous ------------------------------------------------------------------------------


def test_anonymous_pages_render_in_chinese(pages, world):  # type: ignore[no-untyped-def]
    home = pages.get("/")
    assert home.status_code == 200
    assert "数交" in home.text and "Shujiao" in home.text
    assert "企业信用评分数据" in home.text and "贵州数智科技有限公司" in home.text
    assert "¥100.00" in home.text

    product = pages.get(f"/products/{world['product_id']}")
    assert product.status_code == 200
    for expected in ("信息披露", "一般数据", "信用评分", "SHA-256", "登录后购买", "¥100.00"):
        assert expected in product.text

    assert pages.get("/login").status_code == 200
    assert "统一社会信用代码" in pages.get("/apply").text
    assert pages.get("/static/style.css").status_code == 200


def test_home_search_finds_products_by_chinese_words(pages, world, session_factory, storage, settings):  # type: ignore[no-untyped-def]
    make_listed_product(session_factory, storage, world["provider"], world["operator"], settings=settings, title="贵阳交通流量数据")
    found = pages.get("/?q=交通")
    assert "贵阳交通流量数据" in found.text and "企业信用评分数据" not in found.text
    assert "企业信用评分数据" in pages.get("/?q=信用").text
    nothing = pages.get("/?q=气象卫星")
    assert nothing.status_code == 200 and "没有找到匹配的数据产品" in nothing.text


def test_english_is_one_click_away(pages, world):  # type: ignore[no-untyped-def]
    switched = pages.get("/lang/en?next=/login")
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    page = pages.get("/login")
    assert "Log in" in page.text and 'lang="en"' in page.text
    assert pages.get("/lang/zh?next=//evil.example/").headers["location"] == "/"
    assert "登录" in pages.get("/login").text


def test_unknown_page_is_a_readable_404(pages, world):  # type: ignore[no-untyped-def]
    response = pages.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"] and "页面或对象不存在" in response.text


# --- login and logout -----------------------------------------------------------------------


def test_login_sets_a_safe_session_cookie_and_logout_revokes_it(pages, world, settings):  # type: ignore[no-untyped-def]
    buyer = world["buyer"]
    response = pages.submit("/login", "/login", {"username": buyer.username, "password": buyer.password,
                                                 "next": "/orders/999"})
    assert response.status_code == 303 and response.headers["location"] == "/orders/999"
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith(settings.auth.cookie_name + "="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie

    dashboard = pages.get("/dashboard")
    assert dashboard.status_code == 200
    assert "¥500.00" in dashboard.text and "已准入" in dashboard.text and buyer.username in dashboard.text

    out = pages.submit("/dashboard", "/logout")
    assert out.status_code == 303
    assert pages.get("/dashboard").headers["location"] == "/login?next=/dashboard"


def test_wrong_password_shows_an_error_and_sets_no_session(pages, world, settings):  # type: ignore[no-untyped-def]
    response = pages.submit("/login", "/login", {"username": world["buyer"].username, "password": "wrong-password"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert settings.auth.cookie_name not in response.cookies


def test_login_never_redirects_off_site(pages, world):  # type: ignore[no-untyped-def]
    buyer = world["buyer"]
    response = pages.submit("/login", "/login", {"username": buyer.username, "password": buyer.password,
                                                 "next": "https://evil.example/"})
    assert response.headers["location"] == "/dashboard"


# --- CSRF -----------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused_and_changes_nothing(pages, world, session_factory):  # type: ignore[no-untyped-def]
    pages.login(world["buyer"].username, world["buyer"].password)
    action = f"/products/{world['product_id']}/buy"
    for form in ({}, {"csrf_token": "forged"}):
        response = pages.client.post(action, data=form, follow_redirects=False)
        assert response.status_code == 403
        assert "请求来源不可信" in response.text
    assert _orders(session_factory, world["operator"]) == []

    assert pages.submit(f"/products/{world['product_id']}", action).status_code == 303
    assert len(_orders(session_factory, world["operator"])) == 1


def test_operator_money_form_without_csrf_is_refused(pages, world, session_factory):  # type: ignore[no-untyped-def]
    operator, buyer = world["operator"], world["buyer"]
    pages.login(operator.username, operator.password)
    before = _ledger_state(session_factory, operator, buyer.member_id)
    response = pages.client.post("/operator/ledger/deposits", follow_redirects=False,
                                 data={"member_id": str(buyer.member_id), "amount": "100", "reference": "B1"})
    assert response.status_code == 403
    assert _ledger_state(session_factory, operator, buyer.member_id) == before


def test_anonymous_forms_use_a_double_submit_cookie(pages, world, settings):  # type: ignore[no-untyped-def]
    buyer = world["buyer"]
    token = pages.token("/login")
    assert pages.client.cookies.get("shujiao_csrf") == token
    # A cross-site form cannot know the cookie's value.
    refused = pages.client.post("/login", data={"username": buyer.username, "password": buyer.password,
                                                "csrf_token": "guessed-value-of-enough-length"},
                                follow_redirects=False)
    assert refused.status_code == 403 and settings.auth.cookie_name not in refused.cookies


# --- tenants --------------------------------------------------------------------------------


def test_member_cannot_open_another_members_order_or_draft(pages, other_pages, world, session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator, provider, buyer = world["operator"], world["provider"], world["buyer"]
    stranger = make_member(session_factory, operator, kind="buyer", deposit_fen=100_00)
    with unit_of_work(session_factory) as s:
        order_id = market.create_order(s, buyer.actor, product_id=world["product_id"]).id
    resource_id, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    with unit_of_work(session_factory) as s:
        draft_id = listing.create_product(s, provider.actor, data=ProductCreate(
            resource_id=resource_id, dataset_id=dataset_id, title="未上架的草稿产品", description="草稿",
            price_fen=1_00)).id

    pages.login(stranger.username, stranger.password)
    assert pages.get(f"/orders/{order_id}").status_code == 404
    assert pages.get(f"/products/{draft_id}").status_code == 404
    refused = pages.submit("/dashboard", f"/orders/{order_id}/pay")
    assert refused.status_code == 404
    assert _orders(session_factory, operator) == [(order_id, "created")]

    other_pages.login(buyer.username, buyer.password)
    page = other_pages.get(f"/orders/{order_id}")
    assert page.status_code == 200 and "待支付" in page.text and "创建订单" in page.text
    assert other_pages.get(f"/products/{draft_id}").status_code == 404

    pages.login(provider.username, provider.password)
    assert pages.get(f"/products/{draft_id}").status_code == 200
    assert pages.get(f"/orders/{order_id}").status_code == 200


def test_operator_pages_are_for_the_operator_only(pages, other_pages, world):  # type: ignore[no-untyped-def]
    for path in OPERATOR_PAGES:
        anonymous = pages.get(path)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")

    pages.login(world["buyer"].username, world["buyer"].password)
    for path in OPERATOR_PAGES:
        assert pages.get(path).status_code == 403, path
    refused = pages.submit("/dashboard", f"/operator/members/{world['buyer'].member_id}/approve")
    assert refused.status_code == 403

    operator = world["operator"]
    other_pages.login(operator.username, operator.password)
    for path in OPERATOR_PAGES:
        page = other_pages.get(path)
        assert page.status_code == 200, path
    assert "平衡" in other_pages.get("/operator/ledger").text
    audit = other_pages.get("/operator/audit?subject_type=member")
    assert "members.approve" in audit.text and "ledger.deposit" not in audit.text


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["12.345", "abc", "-5", "1e3", ""])
def test_bad_yuan_amount_shows_an_error_and_changes_nothing(pages, world, session_factory, amount):  # type: ignore[no-untyped-def]
    operator, buyer = world["operator"], world["buyer"]
    pages.login(operator.username, operator.password)
    before = _ledger_state(session_factory, operator, buyer.member_id)
    data = {"member_id": str(buyer.member_id), "amount": amount, "reference": "BANK-1"}
    response = pages.submit("/operator/ledger", "/operator/ledger/deposits", data)
    assert response.status_code == 422
    assert "金额格式不正确" in response.text and "invalid amount" in response.text
    assert _ledger_state(session_factory, operator, buyer.member_id) == before

    # From the browser (with a Referer) the form page comes back with the message on top.
    back = pages.submit("/operator/ledger", "/operator/ledger/deposits", data, referer=True)
    assert back.status_code == 303 and back.headers["location"] == "/operator/ledger"
    assert "金额格式不正确" in pages.get("/operator/ledger").text
    assert "金额格式不正确" not in pages.get("/operator/ledger").text  # shown once
    assert _ledger_state(session_factory, operator, buyer.member_id) == before


def test_deposit_in_yuan_is_recorded_in_fen(pages, world, session_factory):  # type: ignore[no-untyped-def]
    operator, buyer = world["operator"], world["buyer"]
    pages.login(operator.username, operator.password)
    response = pages.submit("/operator/ledger", "/operator/ledger/deposits",
                            {"member_id": str(buyer.member_id), "amount": "1,234.5", "reference": "BANK-2"})
    assert response.status_code == 303
    assert _ledger_state(session_factory, operator, buyer.member_id)[1] == 500_00 + 1_234_50
    assert "¥1,734.50" in pages.get("/operator/ledger").text


def test_bad_price_on_a_new_product_changes_nothing(pages, world, session_factory, storage, settings):  # type: ignore[no-untyped-def]
    provider = world["provider"]
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    pages.login(provider.username, provider.password)
    form = {"dataset_id": str(dataset_id), "title": "新产品", "description": "描述", "price": "十元"}
    assert pages.submit("/dashboard/products", "/dashboard/products", form).status_code == 422
    with unit_of_work(session_factory) as s:
        assert len(listing.list_own_products(s, provider.actor)) == 1

    form["price"] = "88.8"
    assert pages.submit("/dashboard/products", "/dashboard/products", form).status_code == 303
    with unit_of_work(session_factory) as s:
        newest = listing.list_own_products(s, provider.actor)[0]
        assert (newest.title, newest.price_fen, newest.status) == ("新产品", 88_80, "draft")


# --- member application ---------------------------------------------------------------------


def test_application_errors_are_shown_in_chinese_and_english(pages, world, session_factory):  # type: ignore[no-untyped-def]
    form = {"name": "X", "credit_code": "123", "kind": "buyer", "username": "ab", "password": "short"}
    response = pages.submit("/apply", "/apply", form)
    assert response.status_code == 422
    for expected in ("统一社会信用代码无效", "invalid unified social credit code", "机构名称", "至少 2 个字符",
                     "at least 8 characters"):
        assert expected in response.text, expected
    assert 'value="123"' in response.text  # what was typed comes back, except the password
    with unit_of_work(session_factory) as s:
        assert members.list_members(s, world["operator"].actor, status="pending") == []


def test_application_then_login_shows_pending_status(pages, world, session_factory):  # type: ignore[no-untyped-def]
    form = {"name": "黔南数据服务有限公司", "credit_code": random_credit_code(), "kind": "provider",
            "username": "qiannan", "password": "qiannan-pass-1"}
    response = pages.submit("/apply", "/apply", form)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    again = pages.submit("/apply", "/apply", {**form, "username": "qiannan2"})
    assert again.status_code == 409 and "该统一社会信用代码已申请" in again.text

    pages.login("qiannan", "qiannan-pass-1")
    dashboard = pages.get("/dashboard")
    assert "待审核" in dashboard.text and "黔南数据服务有限公司" in dashboard.text
    with unit_of_work(session_factory) as s:
        pending = members.list_members(s, world["operator"].actor, status="pending")
        assert [m.name for m in pending] == ["黔南数据服务有限公司"]


# --- the operator's decisions ---------------------------------------------------------------


def test_operator_rejects_an_application_with_a_reason(pages, world, session_factory):  # type: ignore[no-untyped-def]
    applicant = make_member(session_factory, None, kind="buyer", approved=False, name="待审机构甲")
    pages.login(world["operator"].username, world["operator"].password)
    assert "待审机构甲" in pages.get("/operator/members").text
    no_reason = pages.submit("/operator/members", f"/operator/members/{applicant.member_id}/reject", {"reason": ""})
    assert no_reason.status_code == 422 and "驳回须说明理由" in no_reason.text
    done = pages.submit("/operator/members", f"/operator/members/{applicant.member_id}/reject",
                        {"reason": "材料不全"})
    assert done.status_code == 303
    with unit_of_work(session_factory) as s:
        member = members.get_member(s, world["operator"].actor, member_id=applicant.member_id)
        assert (member.status, member.decision_reason) == ("rejected", "材料不全")


def test_review_rejection_reason_reaches_the_provider(pages, other_pages, world, session_factory, storage, settings):  # type: ignore[no-untyped-def]
    provider, operator = world["provider"], world["operator"]
    resource_id, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    with unit_of_work(session_factory) as s:
        product = listing.create_product(s, provider.actor, data=ProductCreate(
            resource_id=resource_id, dataset_id=dataset_id, title="待审产品", description="说明", price_fen=5_00))
        listing.submit_product(s, provider.actor, product_id=product.id)
        product_id = product.id

    pages.login(operator.username, operator.password)
    queue = pages.get("/operator/reviews")
    assert "待审产品" in queue.text and "数据来源合法" in queue.text
    half = {"legal_source": "1", "personal_information": "1", "decision": "approve"}
    refused = pages.submit("/operator/reviews", f"/operator/reviews/{product_id}", half)
    assert refused.status_code == 422 and "批准上架须确认全部合规检查项" in refused.text
    rejected = pages.submit("/operator/reviews", f"/operator/reviews/{product_id}",
                            {**half, "decision": "reject", "reason": "缺少数据来源证明"})
    assert rejected.status_code == 303

    other_pages.login(provider.username, provider.password)
    mine = other_pages.get("/dashboard/products")
    assert "已驳回" in mine.text and "缺少数据来源证明" in mine.text


# --- provider's data ------------------------------------------------------------------------


def test_dataset_upload_through_the_page(pages, world, session_factory):  # type: ignore[no-untyped-def]
    provider = world["provider"]
    pages.login(provider.username, provider.password)
    created = pages.submit("/dashboard/resources", "/dashboard/resources",
                           {"name": "企业名录", "domain": "工商", "grade": "general", "sensitivity": "1"})
    assert created.status_code == 303
    with unit_of_work(session_factory) as s:
        resource = catalog.list_resources(s, provider.actor)[0]
    action = f"/dashboard/resources/{resource.id}/datasets"
    token = pages.token("/dashboard/resources")
    bad = pages.client.post(action, data={"csrf_token": token}, follow_redirects=False,
                            files={"file": ("notes.txt", io.BytesIO(b"hello"), "text/plain")})
    assert bad.status_code == 422 and "仅支持 CSV 或 Parquet 文件" in bad.text
    good = pages.client.post(action, data={"csrf_token": token}, follow_redirects=False,
                             files={"file": ("名录.csv", io.BytesIO(CSV_BYTES), "text/csv")})
    assert good.status_code == 303
    with unit_of_work(session_factory) as s:
        [dataset] = catalog.list_datasets(s, provider.actor, resource_id=resource.id)
        assert (dataset.filename, dataset.row_count) == ("名录.csv", 2)
    assert "名录.csv" in pages.get("/dashboard/resources").text


# --- a whole trade through the pages (the browser test does the same in Chromium) -----------


def test_trade_through_the_pages(pages, world, session_factory):  # type: ignore[no-untyped-def]
    buyer, operator = world["buyer"], world["operator"]
    pages.login(buyer.username, buyer.password)
    bought = pages.submit(f"/products/{world['product_id']}", f"/products/{world['product_id']}/buy")
    order_url = bought.headers["location"]
    order_id = int(order_url.rsplit("/", 1)[1])
    assert pages.submit(order_url, f"{order_url}/pay").status_code == 303
    link = pages.submit(order_url, f"{order_url}/download")
    assert link.status_code == 303 and link.headers["location"].startswith("/api/v1/downloads/")
    assert pages.get(link.headers["location"]).content == CSV_BYTES
    assert pages.submit(order_url, f"{order_url}/accept").status_code == 303
    page = pages.get(order_url)
    assert "已结算" in page.text and "¥3.00" in page.text  # 3% fee
    with unit_of_work(session_factory) as s:
        assert market.get_order(s, operator.actor, order_id=order_id).status == "settled"
        assert ledger.check(s, operator.actor).balanced


def test_member_admin_adds_a_colleague_on_the_dashboard(pages, world, session_factory):  # type: ignore[no-untyped-def]
    provider = world["provider"]
    pages.login(provider.username, provider.password)
    assert 'action="/dashboard/users"' in pages.get("/dashboard").text
    added = pages.submit("/dashboard", "/dashboard/users",
                         {"username": "clerk-1", "password": "clerk-password", "role": "staff"})
    assert added.status_code == 303
    bad = pages.submit("/dashboard", "/dashboard/users", {"username": "x", "password": "1", "role": "staff"},
                       referer=True)
    assert bad.status_code == 303  # back to the form with the message, nothing added
    with unit_of_work(session_factory) as s:
        names = [u.username for u in members.list_users(s, provider.actor)]
    assert names == [provider.username, "clerk-1"]

    pages.client.cookies.clear()
    pages.login("clerk-1", "clerk-password")
    dashboard = pages.get("/dashboard").text
    assert "clerk-1" in dashboard and 'action="/dashboard/users"' not in dashboard
    refused = pages.submit("/dashboard", "/dashboard/users",
                           {"username": "clerk-2", "password": "clerk-password", "role": "admin"})
    assert refused.status_code == 403
    with unit_of_work(session_factory) as s:
        assert len(members.list_users(s, provider.actor)) == 2
