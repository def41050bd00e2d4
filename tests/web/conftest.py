"""Helpers for page tests: a client that asks for HTML like a browser, and form CSRF tokens."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


class Pages:
    """A TestClient that behaves like a browser on the pages: HTML accepted, forms carry their token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(path, follow_redirects=kwargs.pop("follow_redirects", False), **kwargs)

    def token(self, page: str = "/") -> str:
        return csrf_from(self.client.get(page).text)

    def submit(self, page: str, action: str, data: dict[str, str] | None = None, *, referer: bool = False,
               **kwargs):  # type: ignore[no-untyped-def]
        """Open ``page``, take its form token and post ``data`` to ``action`` (not following redirects)."""
        form = {"csrf_token": self.token(page), **(data or {})}
        headers = {"referer": f"http://testserver{page}"} if referer else {}
        return self.client.post(action, data=form, headers=headers, follow_redirects=False, **kwargs)

    def login(self, username: str, password: str) -> None:
        response = self.submit("/login", "/login", {"username": username, "password": password})
        assert response.status_code == 303, response.text


@pytest.fixture
def pages(app: FastAPI) -> Iterator[Pages]:
    with TestClient(app, headers={"accept": "text/html,application/xhtml+xml"}) as client:
        yield Pages(client)


@pytest.fixture
def other_pages(app: FastAPI) -> Iterator[Pages]:
    """A second browser, for a second user at the same time."""
    with TestClient(app, headers={"accept": "text/html,application/xhtml+xml"}) as client:
        yield Pages(client)


# --- a real browser (tests marked ``browser``) ---------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def browser_page() -> Iterator:  # type: ignore[type-arg]
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is required for the browser tests and is not installed at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def browser_log_in(page, live_server: str, member) -> None:  # type: ignore[no-untyped-def]
    """Log ``member`` in through the login form of a Playwright page; it lands on the dashboard."""
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", member.password)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{live_server}/dashboard")
