"""The open-data portal's pages, anonymous and logged in, in Chinese and English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.public_data.conftest import World
from tests.web.conftest import Pages


@pytest.fixture
def pages(app: FastAPI) -> Iterator[Pages]:
    with TestClient(app, headers={"accept": "text/html,application/xhtml+xml"}) as client:
        yield Pages(client)


def test_an_anonymous_visitor_browses_the_catalog_and_downloads(world: World, pages: Pages) -> None:
    html = pages.get("/public-data").text
    assert "公共数据开放目录" in html and "贵阳市交通委员会" in html and "无条件开放" in html and "不予开放" in html
    page = pages.get(f"/public-data/resources/{world.public['unconditional']}").text
    link = f"/api/v1/public-data/datasets/{world.datasets['unconditional']}/download"
    assert link in page
    assert pages.get(link).status_code == 200
    closed = pages.get(f"/public-data/resources/{world.public['closed']}").text
    assert 'id="closed"' in closed and "/download" not in closed
    conditional = pages.get(f"/public-data/resources/{world.public['conditional']}").text
    assert "登录后申请" in conditional and "/download" not in conditional
    pages.get("/lang/en?next=/public-data")
    english = pages.get("/public-data").text
    assert "Public data catalog" in english and "open to all" in english


def test_a_member_applies_and_the_authority_approves_on_the_pages(world: World, pages: Pages, app: FastAPI) -> None:
    url = f"/public-data/resources/{world.public['conditional']}"
    pages.login(world.buyer.username, world.buyer.password)
    response = pages.submit(url, f"{url}/applications", {"purpose": "授信前筛查", "scenario": "银行对公授信"},
                            files={"file": ("授权书.pdf", b"%PDF-1.4")})
    assert response.status_code == 303, response.text
    assert "待审核" in pages.get(url).text
    with TestClient(app, headers={"accept": "text/html"}) as other:
        authority = Pages(other)
        authority.login(world.authority.username, world.authority.password)
        console = authority.get("/public-data/console").text
        assert "一本账" in console and "授信前筛查" in console
        application_id = world.client.get("/api/v1/public-data/applications", headers=world.buyer_h).json()[0]["id"]
        decided = authority.submit("/public-data/console", f"/public-data/console/applications/{application_id}",
                                   {"approve": "yes", "reason": "用途合规"})
        assert decided.status_code == 303
    page = pages.get(url).text
    assert "已批准" in page and f"/api/v1/public-data/datasets/{world.datasets['conditional']}/download" in page


def test_anyone_asks_for_data_on_the_requests_page(world: World, pages: Pages) -> None:
    response = pages.submit("/public-data/requests", "/public-data/requests", {
        "authority_member_id": str(world.authority.member_id), "title": "停车场实时泊位", "reason": "便民",
        "scenario": "导航", "contact": "13900000000"})
    assert response.status_code == 303, response.text
    html = pages.get("/public-data/requests").text
    assert "停车场实时泊位" in html and "待分派" in html and "13900000000" not in html
    # Only the authority's console shows the contact, so that the department can reach the requester.
    pages.login(world.authority.username, world.authority.password)
    assert '<span class="contact">13900000000</span>' in pages.get("/public-data/console").text
    pages.login(world.buyer.username, world.buyer.password)
    assert "13900000000" not in pages.get("/public-data/console").text


def test_the_authority_fills_a_survey_for_a_department_on_the_console(world: World, pages: Pages) -> None:
    survey_id = world.post("/surveys", {"title": "2026年第四季度资源调查", "period": "2026-Q4",
                                        "items": ["目录已更新", "数据已归集"],
                                        "due_at": "2026-12-31T00:00:00+08:00"}).json()["id"]
    pages.login(world.authority.username, world.authority.password)
    console = pages.get("/public-data/console").text
    assert "2026年第四季度资源调查" in console and '<span class="missing">2</span>' in console
    response = pages.submit("/public-data/console", f"/public-data/console/surveys/{survey_id}",
                            {"department_id": str(world.departments[1]), "done_0": "on", "note_1": "下月归集"})
    assert response.status_code == 303, response.text
    survey = world.client.get(f"/api/v1/public-data/surveys/{survey_id}", headers=world.auth).json()
    assert survey["missing_departments"] == [world.departments[0]]
    assert survey["responses"][str(world.departments[1])] == [
        {"item": "目录已更新", "done": True, "note": ""}, {"item": "数据已归集", "done": False, "note": "下月归集"}]
