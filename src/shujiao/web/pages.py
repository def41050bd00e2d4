"""Wiring of the HTML pages: templates, static files, each domain's page router and the error page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from shujiao.accounting.pages import router as accounting_pages
from shujiao.audit.pages import router as audit_pages
from shujiao.catalog.pages import router as catalog_pages
from shujiao.fingerprint.pages import router as fingerprint_pages
from shujiao.commands import ANONYMOUS
from shujiao.errors import DomainError
from shujiao.gateway.pages import router as gateway_pages
from shujiao.ledger.pages import router as ledger_pages
from shujiao.listing.pages import router as listing_pages
from shujiao.market.pages import router as market_pages
from shujiao.members import service as members
from shujiao.members.pages import router as members_pages
from shujiao.public_data.pages import router as public_data_pages
from shujiao.quality.pages import router as quality_pages
from shujiao.registry.pages import router as registry_pages
from shujiao.consent.pages import router as consent_pages
from shujiao.sandbox.pages import router as sandbox_pages
from shujiao.sharing.pages import router as sharing_pages
from shujiao.usage.pages import router as usage_pages
from shujiao.valuation.pages import router as valuation_pages
from shujiao.web import security
from shujiao.web.templating import make_environment, redirect, render

STATIC = Path(__file__).parent / "static"

site = APIRouter(include_in_schema=False)


@site.get("/lang/{code}")
def switch_language(request: Request, code: str, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    response = RedirectResponse(security.local_path(next), status_code=303)
    if code in security.LANGUAGES:
        security.set_cookie(request, response, security.LANG_COOKIE, code, max_age=365 * 24 * 3600)
    return response


def _resolve_actor_for_error_page(request: Request) -> None:
    """Errors raised before the page's own dependencies ran still show who is logged in."""
    if hasattr(request.state, "actor"):
        return
    request.state.actor = ANONYMOUS
    token = security.session_token(request)
    if not token:
        return
    try:
        with request.app.state.session_factory() as session:
            request.state.actor = members.actor_for_token(session, token) or ANONYMOUS
    except Exception:  # noqa: BLE001 - the error page must render even when the database cannot
        pass


def render_error(request: Request, error: DomainError) -> HTMLResponse | RedirectResponse:
    message = (error.zh, error.en)
    if error.status_code == 401:
        back = request.url.path if request.method == "GET" else (security.same_site_referer(request) or "/")
        return redirect(request, f"/login?next={quote(back)}", error=message)
    # A refused form goes back to the page it came from, with the reason on top; the transaction
    # was already rolled back. A failed CSRF check stays a plain 403: nothing about it is trusted.
    if request.method == "POST" and not isinstance(error, security.CsrfFailed):
        back = security.same_site_referer(request)
        if back:
            return redirect(request, back, error=message)
    _resolve_actor_for_error_page(request)
    return render(request, "error.html", status_code=error.status_code, error=error,
                  back=security.same_site_referer(request))


def install(app: FastAPI) -> None:
    app.state.templates = make_environment()
    app.state.render_error = render_error
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(site)
    for router in (listing_pages, members_pages, catalog_pages, market_pages, ledger_pages, audit_pages,
                   registry_pages,
                   quality_pages, valuation_pages, accounting_pages, fingerprint_pages, gateway_pages,
                   sharing_pages, sandbox_pages, public_data_pages, consent_pages):
        app.include_router(router)
    app.include_router(usage_pages)
