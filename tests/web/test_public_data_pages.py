"""The open-data portal in Chromium: an anonymous visitor finds open data by department and
downloads it; closed data offers nothing to download."""

from __future__ import annotations

import pytest

from tests.public_data.conftest import OPEN_CSV, World, world  # noqa: F401 - the fixture


@pytest.mark.browser
def test_an_anonymous_visitor_downloads_open_data_in_the_browser(world: World, live_server, browser_page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{live_server}/public-data")
    department = page.locator(f"#department-{world.departments[0]}")
    expect(department).to_contain_text("贵阳市交通委员会")
    department.locator("tr[data-open-class=unconditional] a").click()
    page.wait_for_url(f"{live_server}/public-data/resources/{world.public['unconditional']}")
    expect(page.locator("#open-class")).to_have_text("无条件开放")
    with page.expect_download() as info:
        page.locator("#datasets a.btn").click()
    download = info.value
    assert download.suggested_filename == "data.csv"
    with open(download.path(), "rb") as saved:
        assert saved.read() == OPEN_CSV
    page.goto(f"{live_server}/public-data/resources/{world.public['closed']}")
    expect(page.locator("#closed")).to_contain_text("不予开放")
    expect(page.locator("a", has_text="下载")).to_have_count(0)
