"""The Delta Sharing REST protocol under ``/delta-sharing`` and the profile download under ``/api/v1``.

Protocol errors are the protocol's JSON body ``{"errorCode", "message"}``, never a 5xx for a
refusal (the official client retries 5xx and 429 for minutes)."""

from __future__ import annotations

import datetime as dt
import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from pydantic import BaseModel, ConfigDict, Field

from shujiao.deps import CurrentActor, PathId, SessionDep, SettingsDep, StorageDep, bearer_token
from shujiao.errors import DomainError, NotAuthenticated
from shujiao.sharing import protocol, service

ERROR_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
               404: "RESOURCE_DOES_NOT_EXIST", 409: "PERMISSION_DENIED", 410: "RESOURCE_DOES_NOT_EXIST",
               422: "INVALID_PARAMETER_VALUE"}


def protocol_error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"errorCode": ERROR_CODES.get(status, "INVALID_PARAMETER_VALUE"),
                         "message": f"{message} [{code}]"}, status_code=status, headers=headers)


def _app_handler_for(request: Request, error: DomainError) -> Callable[..., Any] | None:
    """The app's handler registered for this kind of refusal, if one is more specific than the
    generic DomainError handler (the usage domain logs denials in one)."""
    for kind in type(error).__mro__:
        if kind in (DomainError, Exception):
            return None
        handler = request.app.exception_handlers.get(kind)
        if handler is not None:
            return handler
    return None


async def _run_handler(handler: Callable[..., Any], request: Request, error: DomainError) -> None:
    result = handler(request, error)
    if inspect.isawaitable(result):
        await result


class ProtocolRoute(APIRoute):
    """Turns domain errors and bad input into the protocol's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as error:
                # A refused contract (a refunded order is a 409 elsewhere) is a 403 in the protocol.
                status = 403 if error.status_code == 409 else error.status_code
                response = protocol_error(status, error.code, error.message)
                refusal_handler = _app_handler_for(request, error)
                if refusal_handler is not None:
                    # After the response, when the request's transaction is over (a handler that
                    # writes, like the usage denial log, would otherwise wait on its lock); the
                    # handler's own response is dropped for the protocol's body.
                    response.background = BackgroundTask(_run_handler, refusal_handler, request, error)
                return response
            except RequestValidationError as error:
                return protocol_error(400, "invalid_input", "; ".join(str(e.get("msg")) for e in error.errors()[:3]))

        return handle


router = APIRouter(prefix="/delta-sharing", tags=["delta sharing 数据共享协议"], route_class=ProtocolRoute)
profiles = APIRouter(prefix="/api/v1", tags=["delta sharing 数据共享协议"])

Paging = Query(None, ge=0, le=1000)


def _access(session: SessionDep, request: Request, *, reading: bool = False) -> service.Access:
    return service.open_share(session, token=bearer_token(request), reading=reading)


def _ndjson(lines: list[dict[str, Any]], **headers: str) -> Response:
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    return Response(body, media_type="application/x-ndjson; charset=utf-8", headers={
        "delta-table-version": str(protocol.TABLE_VERSION), **headers})


def _share_item(access: service.Access) -> dict[str, str]:
    return {"name": access.share, "id": access.share}


def _table_item(access: service.Access) -> dict[str, str]:
    return {"name": access.table, "schema": protocol.SCHEMA, "share": access.share, "shareId": access.share,
            "id": protocol.table_id(order_id=access.grant.order_id, product_id=access.grant.product_id)}


@router.get("/shares")
def list_shares(session: SessionDep, request: Request, maxResults: int | None = Paging,
                pageToken: str | None = Query(None, max_length=200)) -> dict[str, Any]:
    return {"items": [_share_item(_access(session, request))]}


@router.get("/shares/{share}")
def get_share(session: SessionDep, request: Request, share: str) -> dict[str, Any]:
    access = _access(session, request)
    access.require_table(share=share)
    return {"share": _share_item(access)}


@router.get("/shares/{share}/schemas")
def list_schemas(session: SessionDep, request: Request, share: str, maxResults: int | None = Paging,
                 pageToken: str | None = Query(None, max_length=200)) -> dict[str, Any]:
    access = _access(session, request)
    access.require_table(share=share)
    return {"items": [{"name": protocol.SCHEMA, "share": access.share}]}


@router.get("/shares/{share}/schemas/{schema}/tables")
def list_tables(session: SessionDep, request: Request, share: str, schema: str, maxResults: int | None = Paging,
                pageToken: str | None = Query(None, max_length=200)) -> dict[str, Any]:
    access = _access(session, request)
    access.require_table(share=share, schema=schema)
    return {"items": [_table_item(access)]}


@router.get("/shares/{share}/all-tables")
def list_all_tables(session: SessionDep, request: Request, share: str, maxResults: int | None = Paging,
                    pageToken: str | None = Query(None, max_length=200)) -> dict[str, Any]:
    access = _access(session, request)
    access.require_table(share=share)
    return {"items": [_table_item(access)]}


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/version")
def table_version(session: SessionDep, request: Request, share: str, schema: str, table: str,
                  startingTimestamp: str | None = Query(None, max_length=64)) -> Response:
    _access(session, request).require_table(share=share, schema=schema, table=table)
    return Response(status_code=200, headers={"delta-table-version": str(protocol.TABLE_VERSION)})


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/metadata")
def table_metadata(session: SessionDep, settings: SettingsDep, storage: StorageDep, request: Request,
                   share: str, schema: str, table: str) -> Response:
    access = _access(session, request)
    access.require_table(share=share, schema=schema, table=table)
    lines = service.table_metadata(session, access=access, settings=settings, storage=storage)
    return _ndjson(lines, **{"delta-sharing-capabilities": protocol.CAPABILITIES})


class QueryBody(BaseModel):
    """The query request's body; hints may be ignored by a server (the protocol says so)."""

    model_config = ConfigDict(extra="ignore")
    predicateHints: list[str] | None = Field(None, max_length=100)
    jsonPredicateHints: str | None = Field(None, max_length=100_000)
    limitHint: int | None = Field(None, ge=0)
    version: int | None = Field(None, ge=0)
    timestamp: str | None = Field(None, max_length=64)


@router.post("/shares/{share}/schemas/{schema}/tables/{table}/query")
def query_table(session: SessionDep, settings: SettingsDep, storage: StorageDep, request: Request,
                share: str, schema: str, table: str, body: QueryBody | None = None) -> Response:
    access = _access(session, request, reading=True)
    access.require_table(share=share, schema=schema, table=table)
    if body is not None and body.version is not None and body.version != protocol.TABLE_VERSION:
        raise service.VersionNotFound(f"表只有版本 {protocol.TABLE_VERSION}",
                                      f"the table has only version {protocol.TABLE_VERSION}")
    base = endpoint_of(request, settings)
    lines = service.read_table(session, access.actor, access=access, settings=settings, storage=storage,
                               file_url=lambda signed: f"{base}/files/{signed}")
    return _ndjson(lines, **{"delta-sharing-capabilities": protocol.CAPABILITIES})


@router.head("/files/{signed}", response_class=FileResponse)
@router.get("/files/{signed}", response_class=FileResponse)
def shared_file(session: SessionDep, settings: SettingsDep, signed: str) -> FileResponse:
    """The pre-signed file: a ranged, streamed response straight from the sharing cache."""
    path = service.signed_file(session, settings=settings, signed=signed[:1000])
    return FileResponse(path, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})


def endpoint_of(request: Request, settings: SettingsDep) -> str:
    base = settings.sharing.public_base_url or str(request.base_url).rstrip("/")
    return f"{base}/delta-sharing"


@profiles.get("/contracts/{order_id}/delta-sharing-profile")
def download_profile(session: SessionDep, actor: CurrentActor, settings: SettingsDep, request: Request,
                     order_id: PathId) -> Response:
    """Issue a new profile for the contract (the previous one stops working) as a profile file.

    Only with an ``Authorization`` header: a page's cookie would let another site rotate a buyer's
    token away with a bare link (the order page has a form with a CSRF token for browsers)."""
    if bearer_token(request) is None:
        raise NotAuthenticated("请携带 Authorization 令牌，或在订单页下载", "send an Authorization bearer token, "
                               "or download it from the order page", code="bearer_required")
    issued = service.issue_profile(session, actor, order_id=order_id, settings=settings)
    return profile_response(issued, endpoint=endpoint_of(request, settings))


def profile_response(issued: service.IssuedProfile, *, endpoint: str) -> Response:
    document = protocol.profile_document(token=issued.token, expires_at=issued.expires_at, endpoint=endpoint)
    return Response(json.dumps(document, indent=2), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="shujiao-contract-{issued.order_id}.share"',
        "Cache-Control": "no-store"})


class ReadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    order_id: int
    file_bytes: int
    num_records: int
    occurred_at: dt.datetime


@profiles.get("/contracts/{order_id}/delta-sharing-reads", response_model=list[ReadRead])
def list_reads(session: SessionDep, actor: CurrentActor, order_id: PathId) -> list[ReadRead]:
    """The contract's Delta Sharing reads (metering), for its buyer and its provider."""
    return [ReadRead.model_validate(read) for read in service.reads_of(session, actor, order_id=order_id)]
