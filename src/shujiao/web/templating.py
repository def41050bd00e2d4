"""The Jinja2 environment of the pages and the two ways a page handler answers: render or redirect."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from shujiao.commands import ANONYMOUS, Actor
from shujiao.money import format_fen
from shujiao.web import security
from shujiao.web.labels import label

TEMPLATES = Path(__file__).parent / "templates"
# Mainland China has one time zone and no daylight saving; stored times are UTC.
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "CST")


def format_time(value: dt.datetime | None, with_seconds: bool = False) -> str:
    if value is None:
        return "—"
    return value.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def fen_as_yuan_text(amount_fen: int | None) -> str:
    """Fen as the plain yuan text a form field takes back ("1200.50"), without floats."""
    if amount_fen is None:
        return ""
    yuan, fen = divmod(amount_fen, 100)
    return f"{yuan}.{fen:02d}"


def file_size(size: int | None) -> str:
    if size is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size = size / 1024  # display only; never money
    return str(size)


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_fen
    env.filters["yuan_text"] = fen_as_yuan_text
    env.filters["time"] = format_time
    env.filters["filesize"] = file_size
    env.filters["fromjson"] = json.loads
    env.filters["tojson_pretty"] = lambda text: json.dumps(json.loads(text), ensure_ascii=False, indent=1)
    return env


def current_actor(request: Request) -> Actor:
    return getattr(request.state, "actor", ANONYMOUS)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    actor = current_actor(request)
    lang = security.lang_of(request)
    logged_in = actor.kind in ("user", "person")
    csrf_token, new_csrf_cookie = security.csrf_token_for(request, logged_in=logged_in)
    flash = security.read_flash(request)

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    def tl(group: str, code: object) -> str:
        zh, en = label(group, code)
        return t(zh, en)

    env: jinja2.Environment = request.app.state.templates
    html = env.get_template(template).render(
        request=request, actor=actor, lang=lang, t=t, tl=tl, csrf_token=csrf_token,
        csrf_field=security.CSRF_FIELD, flash=flash, path=request.url.path,
        current_url=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    # Pages show account data; keep them out of shared caches and out of other sites' frames.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    if new_csrf_cookie:
        security.set_cookie(request, response, security.CSRF_COOKIE, csrf_token, max_age=None)
    if flash is not None:
        security.delete_cookie(request, response, security.FLASH_COOKIE)
    return response


def redirect(request: Request, url: str, *, ok: tuple[str, str] | None = None,
             error: tuple[str, str] | None = None) -> RedirectResponse:
    """303 to a GET page (post/redirect/get), with an optional one-shot message for it."""
    response = RedirectResponse(url, status_code=303)
    if ok is not None:
        security.set_flash(request, response, "ok", *ok)
    if error is not None:
        security.set_flash(request, response, "error", *error)
    return response
