"""Cookies of the pages: the login session, CSRF tokens, the one-shot flash message and the language.

Nothing here lives in process memory: several server processes share the load, so every piece of
state a page needs travels in a cookie (signed where it matters) or in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Literal
from urllib.parse import urlsplit

from fastapi import Request, Response

from shujiao.config import Settings
from shujiao.errors import PermissionDenied

CSRF_FIELD = "csrf_token"
CSRF_COOKIE = "shujiao_csrf"
FLASH_COOKIE = "shujiao_flash"
LANG_COOKIE = "lang"
LANGUAGES = ("zh", "en")

FlashKind = Literal["ok", "error"]


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def session_token(request: Request) -> str | None:
    return request.cookies.get(settings_of(request).auth.cookie_name) or None


def _sign(settings: Settings, purpose: str, value: str) -> str:
    key = settings.secret_key.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None,
               httponly: bool = True) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=httponly, samesite="lax",
                        secure=settings_of(request).auth.cookie_secure)


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax",
                           secure=settings_of(request).auth.cookie_secure)


# --- CSRF -------------------------------------------------------------------------------------
# A logged-in form carries HMAC(secret, session token): only pages served to this session can
# know it. Before login there is no session, so the login and application forms use a random
# double-submit cookie that a cross-site page can neither read nor set.


def csrf_for_session(request: Request, token: str) -> str:
    return _sign(settings_of(request), "csrf", token)


def csrf_token_for(request: Request, *, logged_in: bool) -> tuple[str, bool]:
    """The token to put in this page's forms, and whether a new double-submit cookie must be set."""
    token = session_token(request)
    if logged_in and token:
        return csrf_for_session(request, token), False
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 16 <= len(existing) <= 128:
        return existing, False
    return secrets.token_urlsafe(32), True


def check_csrf(request: Request, submitted: str, *, logged_in: bool) -> None:
    token = session_token(request)
    if logged_in and token:
        expected = csrf_for_session(request, token)
    else:
        expected = request.cookies.get(CSRF_COOKIE) or ""
    if not (expected and submitted and hmac.compare_digest(expected.encode(), submitted.encode())):
        raise CsrfFailed("页面已过期或请求来源不可信，请刷新页面后重试",
                         "the form has expired or did not come from this site; reload the page and retry")


# --- flash messages ---------------------------------------------------------------------------


def set_flash(request: Request, response: Response, kind: FlashKind, zh: str, en: str) -> None:
    payload = base64.urlsafe_b64encode(json.dumps([kind, zh, en], ensure_ascii=False).encode()).decode()
    set_cookie(request, response, FLASH_COOKIE, f"{payload}.{_sign(settings_of(request), 'flash', payload)}",
               max_age=120)


def read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    payload, _, signature = raw.rpartition(".")
    if not hmac.compare_digest(signature, _sign(settings_of(request), "flash", payload)):
        return None
    try:
        kind, zh, en = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        return None
    return {"kind": "error" if kind == "error" else "ok", "zh": str(zh), "en": str(en)}


# --- language and local redirects -------------------------------------------------------------


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "zh")
    return lang if lang in LANGUAGES else "zh"


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site (never ``//evil.example`` or ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def same_site_referer(request: Request) -> str | None:
    """The page a form was posted from, if it was one of ours."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc != request.url.netloc:
        return None
    path = local_path(parts.path + (f"?{parts.query}" if parts.query else ""), default="")
    return path or None
