"""Helpers for page tests: a client that asks for HTML like a browser, and form CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
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
