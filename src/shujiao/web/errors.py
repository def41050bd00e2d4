"""Errors become ``{"error": {"code", "message"}}`` for the API and a readable page for browsers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shujiao.errors import Conflict, DomainError, InvalidInput

log = logging.getLogger("shujiao")

HTTP_MESSAGES = {
    401: ("请先登录", "login required"),
    403: ("无权访问", "forbidden"),
    404: ("页面或对象不存在", "not found"),
    405: ("不支持该请求方法", "method not allowed"),
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def respond(request: Request, error: DomainError) -> Response:
    if _wants_html(request):
        render = getattr(request.app.state, "render_error", None)
        if render is not None:
            return render(request, error)
        return HTMLResponse(f"<h1>{error.zh}</h1><p>{error.en}</p>", status_code=error.status_code)
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = []
    for item in exc.errors():
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        details.append({"field": location, "problem": str(item.get("msg", ""))})
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
    return summary, details


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        summary, details = _validation_message(exc)
        return respond(request, InvalidInput("请求内容有误", summary or "invalid request", code="invalid_input",
                                             fields=details))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        zh, en = HTTP_MESSAGES.get(exc.status_code, ("请求无法处理", str(exc.detail)))
        error = DomainError(zh, en, code=f"http_{exc.status_code}")
        error.status_code = exc.status_code
        return respond(request, error)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # A unique key raced by a concurrent request (same idempotency key, same username...).
        log.info("integrity conflict on %s: %s", request.url.path, exc.orig)
        return respond(request, Conflict("操作与并发请求冲突，请重试", "conflicts with a concurrent request; retry",
                                         code="concurrent_conflict"))

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        log.info("data error on %s: %s", request.url.path, exc.orig)
        return respond(request, InvalidInput("数据超出允许范围", "a value is out of range", code="out_of_range"))

    @app.exception_handler(OperationalError)
    async def operational_error(request: Request, exc: OperationalError) -> Response:
        log.warning("database unavailable on %s: %s", request.url.path, exc.orig)
        error = DomainError("系统繁忙，请稍后重试", "the database is busy; retry shortly", code="unavailable")
        error.status_code = 503
        return respond(request, error)
