"""Contracts over JSON, and the app-level handler that logs every refused use."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from shujiao.db import unit_of_work
from shujiao.deps import CurrentActor, OptionalActor, PathId, SessionDep
from shujiao.usage import service
from shujiao.usage.errors import UsageDenied, UsageNotFound
from shujiao.usage.schemas import ContractRead, DenialRead, RevokeRequest
from shujiao.web import errors as web_errors

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["usage 用量控制"])
JSON_LD = "application/ld+json"


@router.get("/contracts/{order_id}", response_model=ContractRead)
def get_contract(session: SessionDep, actor: CurrentActor, order_id: PathId) -> ContractRead:
    return ContractRead.of(service.get_contract(session, actor, order_id=order_id))


@router.get("/contracts/{order_id}/odrl")
def contract_odrl(session: SessionDep, actor: CurrentActor, order_id: PathId) -> Response:
    return JSONResponse(service.agreement_of(session, actor, order_id=order_id), media_type=JSON_LD)


@router.get("/contracts/{order_id}/denials", response_model=list[DenialRead])
def contract_denials(session: SessionDep, actor: CurrentActor, order_id: PathId) -> Any:
    return service.denials(session, actor, order_id=order_id)


@router.post("/contracts/{order_id}/revoke", response_model=ContractRead)
def revoke_contract(session: SessionDep, actor: CurrentActor, order_id: PathId,
                    body: RevokeRequest | None = None) -> ContractRead:
    service.revoke_contract(session, actor, order_id=order_id, reason=(body or RevokeRequest()).reason)
    return ContractRead.of(service.get_contract(session, actor, order_id=order_id))


@router.post("/contracts/{order_id}/renew", response_model=ContractRead)
def renew_contract(session: SessionDep, actor: CurrentActor, order_id: PathId) -> ContractRead:
    service.renew_contract(session, actor, order_id=order_id)
    return ContractRead.of(service.get_contract(session, actor, order_id=order_id))


@router.get("/products/{product_id}/odrl")
def product_odrl(session: SessionDep, actor: OptionalActor, product_id: PathId) -> Response:
    return JSONResponse(service.product_offer(session, actor, product_id=product_id), media_type=JSON_LD)


def log_refusal(session_factory: sessionmaker[Session], exc: UsageDenied | UsageNotFound) -> None:
    """Log a refusal in a transaction of its own. The app's handler does this for every HTTP
    delivery point; a delivery point outside this app (its own server or job) calls it after its
    own transaction has rolled back."""
    with unit_of_work(session_factory) as session:
        if isinstance(exc, UsageDenied):
            service.record_denial(session, exc.actor, order_id=exc.order_id, action=exc.action, rule=exc.rule)
        else:
            service.record_outsider(session, exc.actor, order_id=exc.order_id, action=exc.action)


def install_denial_logging(app: FastAPI) -> None:
    """Every refusal of ``authorize_use`` at any delivery point is logged here, in a transaction of
    its own: the request's transaction has rolled back by the time the handler runs."""

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, (UsageDenied, UsageNotFound))
        try:
            await run_in_threadpool(log_refusal, request.app.state.session_factory, exc)
        except Exception:  # the refusal stands even if it could not be logged
            logger.exception("usage denial on contract %s not logged", exc.order_id)
        return web_errors.respond(request, exc)

    app.add_exception_handler(UsageDenied, refused)
    app.add_exception_handler(UsageNotFound, refused)
