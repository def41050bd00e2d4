"""The individual's pages (个人数据授权): log in with a phone code, "my authorizations" (我的授权) —
the scenarios that want one's data, one's consents, their receipts and every use — grant and revoke;
and the provider's scenario declaration for a product. Mobile first: one column, large buttons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shujiao.commands import ANONYMOUS, Actor
from shujiao.consent import core, service
from shujiao.consent.schemas import ScenarioCreate
from shujiao.deps import PathId, SessionDep, SettingsDep
from shujiao.errors import DomainError
from shujiao.listing import service as listing
from shujiao.web import security
from shujiao.web.deps import FormActor, FormUser, PageActor, PageUser
from shujiao.web.forms import validate
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
HOME = "/me/consents"


def _errors(exc: DomainError) -> list[dict[str, str]]:
    return exc.details.get("fields") or [{"field": "", "zh": exc.zh, "en": exc.en}]


def _login_page(request: Request, *, step: str = "phone", phone: str = "", challenge_id: int | None = None,
                dev_code: str | None = None, errors: list[dict[str, str]] | None = None,
                status_code: int = 200) -> Response:
    return render(request, "consent/login.html", status_code=status_code, step=step, phone=phone,
                  challenge_id=challenge_id, dev_code=dev_code, errors=errors or [])


@router.get("/me/consents")
def my_consents(request: Request, session: SessionDep, actor: PageActor) -> Response:
    if actor.kind != "person":
        return _login_page(request)
    return render(request, "consent/mine.html", consents=service.my_consents(session, actor),
                  scenarios=service.open_scenarios(session), purposes=core.PURPOSES)


@router.post("/me/login/code")
def send_code(request: Request, session: SessionDep, settings: SettingsDep, actor: FormActor,
              phone: Annotated[str, Form(max_length=32)] = "") -> Response:
    try:
        started = service.start_challenge(session, ANONYMOUS, settings=settings, phone=phone)
    except DomainError as exc:
        session.rollback()
        return _login_page(request, phone=phone, errors=_errors(exc), status_code=exc.status_code)
    dev = settings.consent.sms_backend == "log" and settings.environment != "production"
    return _login_page(request, step="code", phone=phone, challenge_id=started.challenge.id,
                       dev_code=started.code if dev else None)


@router.post("/me/login")
def login(request: Request, session: SessionDep, settings: SettingsDep, actor: FormActor,
          challenge_id: Annotated[int, Form(ge=1, le=2**53)], code: Annotated[str, Form(max_length=12)] = "",
          phone: Annotated[str, Form(max_length=32)] = "") -> Response:
    result = service.login(session, ANONYMOUS, settings=settings, challenge_id=challenge_id, code=code)
    if result.error is not None:  # rendered, not raised: the counted attempt commits
        return _login_page(request, step="code", phone=phone, challenge_id=challenge_id,
                           errors=_errors(result.error), status_code=result.error.status_code)
    assert result.token is not None
    response = redirect(request, HOME, ok=("登录成功", "logged in"))
    security.set_cookie(request, response, settings.auth.cookie_name, result.token,
                        max_age=settings.consent.session_ttl_hours * 3600)
    return response


@router.post("/me/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep, actor: FormActor) -> Response:
    token = security.session_token(request)
    if token and actor.kind == "person":
        service.logout(session, actor, token=token)
    response = redirect(request, HOME, ok=("已退出登录", "logged out"))
    security.delete_cookie(request, response, settings.auth.cookie_name)
    return response


def _person_or_login(request: Request, actor: Actor) -> Response | None:
    if actor.kind != "person":
        return redirect(request, HOME, error=("请先以个人身份登录", "log in as a person first"))
    return None


@router.post("/me/scenarios/{scenario_id}/consent")
def grant(request: Request, session: SessionDep, settings: SettingsDep, actor: FormActor, scenario_id: PathId,
          days: Annotated[str, Form(max_length=8)] = "") -> Response:
    if (refused := _person_or_login(request, actor)) is not None:
        return refused
    try:
        period = int(days) if days.strip() else None
    except ValueError:
        return redirect(request, HOME, error=("授权期限须为天数", "the period is a number of days"))
    try:
        row = service.grant(session, actor, settings=settings, scenario_id=scenario_id, days=period)
    except DomainError as exc:
        session.rollback()
        return redirect(request, HOME, error=(exc.zh, exc.en))
    return redirect(request, f"/me/consents/{row.id}", ok=("已授权，授权凭证已签发", "consent granted; receipt issued"))


@router.get("/me/consents/{consent_id}")
def consent_page(request: Request, session: SessionDep, actor: PageActor, consent_id: PathId) -> Response:
    if (refused := _person_or_login(request, actor)) is not None:
        return refused
    return render(request, "consent/detail.html", consent=service.consent_detail(session, actor, consent_id=consent_id))


@router.post("/me/consents/{consent_id}/revoke")
def revoke(request: Request, session: SessionDep, settings: SettingsDep, actor: FormActor,
           consent_id: PathId) -> Response:
    if (refused := _person_or_login(request, actor)) is not None:
        return refused
    service.revoke(session, actor, settings=settings, consent_id=consent_id)
    return redirect(request, f"/me/consents/{consent_id}", ok=("授权已撤回，此后的交付不再包含您的数据",
                                                               "consent revoked; later deliveries leave your data out"))


# --- the provider's declaration -----------------------------------------------------------------

def _product_page(request: Request, session: Any, actor: Actor, product_id: int, *, form: dict[str, Any] | None = None,
                  errors: list[dict[str, str]] | None = None, status_code: int = 200) -> Response:
    product = listing.get_product(session, actor, product_id=product_id)  # 404 unless listed or one's own
    scenarios = service.product_scenarios(session, actor, product_id=product.id)
    may_declare = product.member_id == actor.member_id and not any(s.status == "active" for s in scenarios)
    return render(request, "consent/product.html", status_code=status_code, product=product, scenarios=scenarios,
                  may_declare=may_declare, purposes=core.PURPOSES, on_missing=core.ON_MISSING, errors=errors or [],
                  form=form or {"name": "", "purpose": "credit_assessment", "description": "", "data_items": "",
                                "key_column": "", "max_days": "365", "sensitive": False, "on_missing": "exclude"})


@router.get("/products/{product_id}/consent")
def product_page(request: Request, session: SessionDep, actor: PageUser, product_id: PathId) -> Response:
    return _product_page(request, session, actor, product_id)


@router.post("/products/{product_id}/consent")
def declare(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, product_id: PathId,
            name: Annotated[str, Form(max_length=200)] = "", purpose: Annotated[str, Form(max_length=40)] = "",
            description: Annotated[str, Form(max_length=2000)] = "",
            data_items: Annotated[str, Form(max_length=4000)] = "",
            key_column: Annotated[str, Form(max_length=200)] = "", max_days: Annotated[str, Form(max_length=8)] = "",
            sensitive: Annotated[str | None, Form(max_length=8)] = None,
            on_missing: Annotated[str, Form(max_length=16)] = "exclude") -> Response:
    form = {"name": name, "purpose": purpose, "description": description, "data_items": data_items,
            "key_column": key_column, "max_days": max_days, "sensitive": bool(sensitive), "on_missing": on_missing}
    items = [i.strip() for i in data_items.replace("，", ",").split(",") if i.strip()]
    try:
        data = validate(ScenarioCreate, name=name, purpose=purpose, description=description, data_items=items,
                        key_column=key_column.strip(), max_days=max_days, sensitive=bool(sensitive),
                        on_missing=on_missing)
        service.declare_scenario(session, actor, settings=settings, product_id=product_id, data=data)
    except DomainError as exc:
        session.rollback()
        return _product_page(request, session, actor, product_id, form=form, errors=_errors(exc),
                             status_code=exc.status_code)
    return redirect(request, f"/products/{product_id}/consent", ok=("已声明个人数据使用场景", "scenario declared"))
