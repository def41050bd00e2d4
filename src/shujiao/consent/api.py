"""Personal data authorization over JSON: persons' phone login, scenarios, consents and receipts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from shujiao.commands import ANONYMOUS
from shujiao.consent import service
from shujiao.consent.schemas import (
    ChallengeRead, ChallengeStart, ConsentDetail, ConsentGrant, ConsentRead, PersonLogin, PersonRead, PersonToken,
    ScenarioCreate, ScenarioRead,
)
from shujiao.deps import CurrentActor, OptionalActor, PathId, SessionDep, SettingsDep, bearer_token
from shujiao.errors import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["consent 个人数据授权"])


@router.post("/persons/challenges", response_model=ChallengeRead, status_code=201)
def start_challenge(session: SessionDep, settings: SettingsDep, body: ChallengeStart) -> ChallengeRead:
    """Send a one-time code to a phone. No SMS gateway is wired in: with ``sms_backend=log`` the code
    goes to the server log, and outside production it is also returned here as ``dev_code``."""
    started = service.start_challenge(session, ANONYMOUS, settings=settings, phone=body.phone)
    dev = settings.consent.sms_backend == "log" and settings.environment != "production"
    return ChallengeRead(challenge_id=started.challenge.id, expires_at=started.challenge.expires_at,
                         dev_code=started.code if dev else None)


@router.post("/persons/token", response_model=PersonToken)
def login(session: SessionDep, settings: SettingsDep, body: PersonLogin) -> Any:
    result = service.login(session, ANONYMOUS, settings=settings, challenge_id=body.challenge_id, code=body.code)
    if result.error is not None:
        # A response, not an exception: the counted attempt and its audit record commit.
        return JSONResponse(result.error.body(), status_code=result.error.status_code)
    assert result.token is not None and result.session_row is not None
    return PersonToken(access_token=result.token, expires_at=result.session_row.expires_at,
                       person_id=result.session_row.person_id)


@router.post("/persons/logout", status_code=204)
def logout(session: SessionDep, actor: OptionalActor, request: Request) -> None:
    token = bearer_token(request)
    if token is None:
        raise InvalidInput("请使用 Bearer 令牌退出", "log out with the bearer token to revoke")
    service.logout(session, actor, token=token)


@router.get("/persons/me", response_model=PersonRead)
def me(session: SessionDep, actor: OptionalActor) -> PersonRead:
    return service.me(session, actor)


@router.get("/consent/scenarios", response_model=list[ScenarioRead])
def open_scenarios(session: SessionDep, limit: int = Query(100, ge=1, le=500),
                   offset: int = Query(0, ge=0, le=1_000_000)) -> list[ScenarioRead]:
    """The scenarios of listed products that want persons' data (public)."""
    return service.open_scenarios(session, limit=limit, offset=offset)


@router.get("/products/{product_id}/consent-scenarios", response_model=list[ScenarioRead])
def product_scenarios(session: SessionDep, actor: OptionalActor, product_id: PathId) -> list[ScenarioRead]:
    return service.product_scenarios(session, actor, product_id=product_id)


@router.post("/products/{product_id}/consent-scenarios", response_model=ScenarioRead, status_code=201)
def declare_scenario(session: SessionDep, actor: CurrentActor, settings: SettingsDep, product_id: PathId,
                     body: ScenarioCreate) -> ScenarioRead:
    row = service.declare_scenario(session, actor, settings=settings, product_id=product_id, data=body)
    return next(s for s in service.product_scenarios(session, actor, product_id=product_id) if s.id == row.id)


@router.post("/consent/scenarios/{scenario_id}/consents", response_model=ConsentDetail, status_code=201)
def grant(session: SessionDep, actor: OptionalActor, settings: SettingsDep, scenario_id: PathId,
          body: ConsentGrant | None = None) -> ConsentDetail:
    row = service.grant(session, actor, settings=settings, scenario_id=scenario_id, days=body.days if body else None)
    return service.consent_detail(session, actor, consent_id=row.id)


@router.get("/consents", response_model=list[ConsentRead])
def my_consents(session: SessionDep, actor: OptionalActor) -> list[ConsentRead]:
    return service.my_consents(session, actor)


@router.get("/consents/{consent_id}", response_model=ConsentDetail)
def consent_detail(session: SessionDep, actor: OptionalActor, consent_id: PathId) -> ConsentDetail:
    return service.consent_detail(session, actor, consent_id=consent_id)


@router.post("/consents/{consent_id}/revoke", response_model=ConsentDetail)
def revoke(session: SessionDep, actor: OptionalActor, settings: SettingsDep, consent_id: PathId) -> ConsentDetail:
    service.revoke(session, actor, settings=settings, consent_id=consent_id)
    return service.consent_detail(session, actor, consent_id=consent_id)
