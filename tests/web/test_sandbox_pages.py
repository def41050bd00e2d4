"""The data sandbox pages, through TestClient on SQLite and PostgreSQL (and once in Chromium): the
provider's policy form and review queue, the buyer's SQL form, jobs and results, refusals shown
as the rule's message, bad policies shown as errors, and 404 for anyone outside the contract."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shujiao.commands import SYSTEM
from shujiao.config import Settings
from shujiao.db import unit_of_work, utcnow
from shujiao.sandbox import checker, execution, service
from tests.factories import make_member
from tests.sandbox.test_api import POLICY, World, make_table, run_worker, true_answer
from tests.web.conftest import browser_log_in

BY_DISTRICT = "SELECT district, COUNT(*) AS n FROM data GROUP BY district ORDER BY district"
ROWS = 2_000  # 8 districts × 5 years: every cell but the victim's has well over k rows


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The tests run the worker themselves, not the server's background loop.
    settings.sandbox.worker_interval_seconds = 0
    return settings


@pytest.fixture
def world(client, session_factory) -> World:  # type: ignore[no-untyped-def]
    return World(client, session_factory, make_table(ROWS), POLICY)


@pytest.fixture
def reviewed_world(client, session_factory) -> World:  # type: ignore[no-untyped-def]
    return World(client, session_factory, make_table(ROWS), {**POLICY, "review": True})


def contract_url(world: World) -> str:
    return f"/contracts/{world.order_id}/sandbox"


def product_url(world: World) -> str:
    return f"/products/{world.product_id}/sandbox"


def log_in(pages: Any, handle: Any) -> None:
    pages.login(handle.username, handle.password)


def submit_query(pages: Any, world: World, sql: str, epsilon: str = "") -> Any:
    return pages.submit(contract_url(world), f"/contracts/{world.order_id}/sandbox/jobs",
                        {"sql": sql, "epsilon": epsilon})


def policy_form(**changes: Any) -> dict[str, Any]:
    """The policy form as the page sends it: one row per dataset column (in file order), the rest
    as prefilled for the test world's policy; ``changes`` replaces fields, ``uses`` the column rows."""
    uses = changes.pop("uses", {"district": ("group", "", ""), "year": ("group", "", ""),
                                 "amount": ("aggregate", "0", "5000")})
    names = ["person", "phone_hash", "district", "year", "amount"]
    rows = [uses.get(name, ("", "", "")) for name in names]
    form = {"min_group_size": "10", "column_name": names, "column_use": [r[0] for r in rows],
            "column_lower": [r[1] for r in rows], "column_upper": [r[2] for r in rows],
            "epsilon_per_period": "1", "period_days": "30", "default_query_epsilon": "0.1", "confidence": "0.95",
            "delta": "1E-7", "engine": "duckdb", "psi_key_column": "", "psi_reveal": "size",
            "max_result_rows": "10000", "time_limit_seconds": "120"}
    form.update(changes)
    return form


def policy_now(session_factory: Any, world: World) -> Any:
    with unit_of_work(session_factory) as session:
        return service.policy_of(session, product_id=world.product_id)


def cells(html: str, table_id: str) -> list[list[str]]:
    """The body rows of the table ``table_id`` as cell texts."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert table, f"no table {table_id}"
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)]


def test_provider_sets_the_policy_through_the_form(pages, other_pages, world, session_factory) -> None:  # type: ignore[no-untyped-def]
    log_in(pages, world.market.seller_handle)
    product = pages.get(f"/products/{world.product_id}")
    assert f'href="{product_url(world)}"' in product.text
    page = pages.get(product_url(world))
    assert page.status_code == 200
    assert "记录数少于 10 的分组不予输出" in page.text  # the current policy in words
    for column in ("person", "phone_hash", "district", "year", "amount"):
        assert f'name="column_name" value="{column}"' in page.text
    assert 'name="column_lower" value="0"' in page.text and 'name="column_upper" value="5000"' in page.text

    saved = pages.submit(product_url(world), f"/products/{world.product_id}/sandbox/policy", policy_form(
        min_group_size="20", review="1", allow_min_max="1", psi_key_column="phone_hash",
        uses={"district": ("group", "", ""), "amount": ("aggregate", "0", "8000")}))
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == product_url(world)
    shown = pages.get(product_url(world))
    assert "沙箱输出策略已保存" in shown.text and "记录数少于 20 的分组不予输出" in shown.text
    assert "每个结果经提供方审核后发布" in shown.text and "支持按 phone_hash 隐私求交" in shown.text
    policy = policy_now(session_factory, world)
    assert policy.min_group_size == 20 and policy.review and policy.allow_min_max and policy.dp is None
    assert policy.group_columns == ["district"] and policy.aggregate_columns == ["amount"]
    assert str(policy.rule("amount").upper) == "8000" and policy.psi_key_column == "phone_hash"

    # The buyer's page follows the new policy, PSI form included; a PSI run is listed with its size.
    log_in(other_pages, world.market.buyer_handle)
    buyer_page = other_pages.get(contract_url(world))
    assert "可分组、筛选的列：district" in buyer_page.text and 'id="psi-form"' in buyer_page.text
    psi = other_pages.submit(contract_url(world), f"/contracts/{world.order_id}/sandbox/psi",
                             {"ids": "h0000001\nh0000002\n\n h0000003 \n"})
    assert psi.status_code == 303, psi.text
    runs = cells(other_pages.get(contract_url(world)).text, "psi-runs")
    assert len(runs) == 1 and runs[0][2] == "3" and "排队中" in runs[0][1]


def test_buyer_submits_a_query_and_sees_the_result_table(pages, world) -> None:  # type: ignore[no-untyped-def]
    log_in(pages, world.market.buyer_handle)
    order = pages.get(f"/orders/{world.order_id}")
    assert f'href="{contract_url(world)}"' in order.text  # reached from the contract on the order page
    page = pages.get(contract_url(world))
    assert page.status_code == 200
    assert "只返回聚合结果，记录数少于 10 的分组不予输出" in page.text
    assert '<td class="mono">district</td><td>可分组、可筛选</td>' in page.text
    assert '<td class="mono">amount</td><td>仅可聚合（求和、平均、计数）</td>' in page.text and "[0, 5000]" in page.text
    assert "隐私预算" not in page.text  # exact mode: no budget

    submitted = submit_query(pages, world, BY_DISTRICT)
    assert submitted.status_code == 303, submitted.text
    assert submitted.headers["location"] == contract_url(world) + "#jobs"
    queued = pages.get(contract_url(world))
    assert 'data-status="queued"' in queued.text and "排队中" in queued.text
    assert 'class="table result"' not in queued.text

    assert len(run_worker(world.client)) == 1
    released = pages.get(contract_url(world))
    assert 'data-status="released"' in released.text and "已发布" in released.text
    job_id = int(re.search(r'id="result-(\d+)"', released.text).group(1))  # type: ignore[union-attr]
    expected = true_answer(world.table, "SELECT district, COUNT(*) FROM data WHERE year <> 2018 "
                                        "GROUP BY district ORDER BY district")  # the victim's cell is withheld
    assert cells(released.text, f"result-{job_id}") == [[district, str(n)] for district, n in expected]
    with unit_of_work(world.client.app.state.session_factory) as session:
        job = service.get_job(session, world.market.buyer_handle.actor, job_id=job_id)
    assert job.query_sha256[:16] in released.text


def test_a_refused_query_shows_the_rule_and_is_recorded(pages, world) -> None:  # type: ignore[no-untyped-def]
    log_in(pages, world.market.buyer_handle)
    refused = submit_query(pages, world, "SELECT * FROM data")
    assert refused.status_code == 422
    rule = checker.QueryRefused("row_level_not_allowed", "")
    assert 'id="refusal"' in refused.text and "row_level_not_allowed" in refused.text
    assert rule.zh in refused.text and rule.en in refused.text
    assert "SELECT * FROM data</textarea>" in refused.text  # kept for editing

    # An ε on an exact-mode product is refused too; a non-number never reaches the service.
    with_epsilon = submit_query(pages, world, BY_DISTRICT, epsilon="0.5")
    assert with_epsilon.status_code == 422 and "epsilon_not_allowed" in with_epsilon.text
    not_a_number = submit_query(pages, world, BY_DISTRICT, epsilon="很多")
    assert not_a_number.status_code == 422 and "ε：须为数字" in not_a_number.text

    jobs = pages.get(contract_url(world)).text
    assert jobs.count('data-status="refused"') == 2  # both refusals are jobs; the bad form is not
    assert rule.zh in jobs and "已拒绝" in jobs


def test_a_dp_contract_shows_the_budget_the_epsilon_and_error_bounds(pages, client, session_factory) -> None:  # type: ignore[no-untyped-def]
    dp = {"epsilon_per_period": "1", "period_days": 30, "default_query_epsilon": "0.25"}
    world = World(client, session_factory, make_table(ROWS), {**POLICY, "dp": dp})
    log_in(pages, world.market.buyer_handle)
    page = pages.get(contract_url(world)).text
    assert "差分隐私：每个合约每 30 天隐私预算 ε = 1" in page and 'name="epsilon"' in page and "0.25" in page
    assert submit_query(pages, world, BY_DISTRICT, epsilon="0.4").status_code == 303
    page = pages.get(contract_url(world)).text
    assert '<dd id="budget-spent">0.4</dd>' in page and '<dd id="budget-remaining">0.6</dd>' in page
    assert "ε = 0.4" in page
    # The DP release lands from its branch: store the worker's outcome here as the worker would.
    with unit_of_work(session_factory) as session:
        job = service.claim_next_job(session, SYSTEM, now=utcnow())
        job_id, attempt = job.id, job.attempts
    outcome = execution.Outcome(columns=["district", "n"], rows=[["南明区", 251.37]], error_bounds={"n": 7.5},
                                dropped_groups=2)
    with unit_of_work(session_factory) as session:
        service.finish_job(session, SYSTEM, job_id=job_id, attempt=attempt, outcome=outcome, now=utcnow())
    page = pages.get(contract_url(world)).text
    assert cells(page, f"result-{job_id}") == [["南明区", "251.37"]]
    assert "± 7.5" in page and "误差界置信度 95%" in page and "因噪声阈值未输出的分组 2" in page


def test_provider_approves_from_the_queue_and_the_buyer_sees_the_result(pages, other_pages, reviewed_world) -> None:  # type: ignore[no-untyped-def]
    world = reviewed_world
    log_in(pages, world.market.buyer_handle)
    assert submit_query(pages, world, BY_DISTRICT).status_code == 303
    run_worker(world.client)
    waiting = pages.get(contract_url(world)).text
    assert 'data-status="awaiting_approval"' in waiting and "待提供方审核" in waiting
    assert 'class="table result"' not in waiting  # not the buyer's until approved

    log_in(other_pages, world.market.seller_handle)
    queue = other_pages.get(product_url(world)).text
    job_id = int(re.search(r'id="approve-(\d+)"', queue).group(1))  # type: ignore[union-attr]
    assert BY_DISTRICT in queue and f'id="result-{job_id}"' in queue  # the provider sees what it releases
    approved = other_pages.submit(product_url(world), f"/sandbox/jobs/{job_id}/review",
                                  {"decision": "approve", "note": "同意发布"})
    assert approved.status_code == 303 and approved.headers["location"] == product_url(world) + "#review"
    assert "没有待审核的结果" in other_pages.get(product_url(world)).text

    released = pages.get(contract_url(world)).text
    assert 'data-status="released"' in released and f'id="result-{job_id}"' in released
    assert "同意发布" in released and "南明区" in released


def test_an_outsider_gets_404_on_both_pages(pages, world, session_factory) -> None:  # type: ignore[no-untyped-def]
    outsider = make_member(session_factory, world.market.operator, kind="provider", name="另一家数据公司")
    log_in(pages, outsider)
    for url in (contract_url(world), product_url(world)):
        assert pages.get(url).status_code == 404, url
    token = pages.token("/dashboard")
    posts = {f"/contracts/{world.order_id}/sandbox/jobs": {"sql": BY_DISTRICT},
             f"/products/{world.product_id}/sandbox/policy": policy_form(min_group_size="2")}
    for action, data in posts.items():
        response = pages.client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 404, action
    assert policy_now(session_factory, world).min_group_size == 10
    with unit_of_work(session_factory) as session:
        assert service.list_jobs(session, world.market.buyer_handle.actor, order_id=world.order_id) == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"min_group_size": "1"}, "最小分组记录数 k：须介于 2 和 100000 之间"),
    ({"uses": {"district": ("aggregate", "0", "1")}}, "列 district 不是数值列，不能聚合"),
    ({"uses": {"amount": ("aggregate", "10", "1")}}, "列 amount：下界须小于上界"),
    ({"uses": {"district": ("group", "", "")}, "psi_key_column": "district"}, "求交键列不能同时开放查询"),
], ids=["k=1", "text-aggregate", "bounds", "psi-open"])
def test_a_bad_policy_form_shows_the_error(pages, world, session_factory, changes, message) -> None:  # type: ignore[no-untyped-def]
    log_in(pages, world.market.seller_handle)
    response = pages.submit(product_url(world), f"/products/{world.product_id}/sandbox/policy", policy_form(**changes))
    assert response.status_code == 422, response.text
    assert message in response.text and 'id="policy-form"' in response.text
    assert policy_now(session_factory, world) == service.SandboxPolicy.model_validate(POLICY)


@pytest.mark.browser
def test_buyer_runs_a_query_in_the_browser(world, live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    browser_log_in(page, live_server, world.market.buyer_handle)
    page.goto(f"{live_server}/orders/{world.order_id}")
    page.click("#sandbox-link")
    page.wait_for_url(f"{live_server}{contract_url(world)}")
    expect(page.locator("#policy-description")).to_contain_text("只返回聚合结果")
    page.fill("textarea[name=sql]", BY_DISTRICT)
    page.click("#submit-job")
    expect(page.locator(".flash-ok")).to_contain_text("查询已提交")
    expect(page.locator("#jobs [data-status]").first).to_have_text("排队中")

    assert len(run_worker(world.client)) == 1
    page.reload()
    expect(page.locator("#jobs [data-status]").first).to_have_text("已发布")
    table = page.locator("#jobs table.result")
    expect(table.locator("thead th")).to_have_text(["district", "n"])
    expect(table.locator("tbody tr")).to_have_count(8)
    expect(table.locator("tbody tr").first.locator("td").first).to_have_text(sorted(
        ["南明区", "云岩区", "花溪区", "乌当区", "白云区", "观山湖区", "清镇市", "修文县"])[0])
    expect(page.locator("#jobs")).to_contain_text("8 行")
