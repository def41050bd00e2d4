from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from shujiao.deps import CurrentActor, PathId, SessionDep, SettingsDep
from shujiao.gateway import service, statement_file
from shujiao.gateway.schemas import ApiKeyCreated, ApiKeyRead, StatementRead, UpstreamRead, UpstreamRegister, UsageRead
from shujiao.members import service as members

router = APIRouter(prefix="/api/v1", tags=["gateway API 网关"])

MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.put("/products/{product_id}/upstream", response_model=UpstreamRead)
def register_upstream(session: SessionDep, actor: CurrentActor, settings: SettingsDep, product_id: PathId,
                      data: UpstreamRegister) -> UpstreamRead:
    """Put the product's HTTP API behind the gateway. The secret is write-only."""
    return UpstreamRead.of(service.register_upstream(session, actor, settings=settings, product_id=product_id,
                                                     data=data))


@router.get("/products/{product_id}/upstream", response_model=UpstreamRead)
def get_upstream(session: SessionDep, actor: CurrentActor, product_id: PathId) -> UpstreamRead:
    return UpstreamRead.of(service.get_upstream(session, actor, product_id=product_id))


@router.get("/upstreams", response_model=list[UpstreamRead])
def list_upstreams(session: SessionDep, actor: CurrentActor) -> list[UpstreamRead]:
    return [UpstreamRead.of(u) for u in service.list_upstreams(session, actor)]


@router.post("/orders/{order_id}/api-keys", status_code=201, response_model=ApiKeyCreated)
def create_api_key(session: SessionDep, actor: CurrentActor, order_id: PathId) -> ApiKeyCreated:
    """A new key for the contract (the earlier ones are revoked). The key is shown only here."""
    row, key = service.create_api_key(session, actor, order_id=order_id)
    return ApiKeyCreated(**ApiKeyRead.model_validate(row).model_dump(), key=key)


@router.get("/orders/{order_id}/api-keys", response_model=list[ApiKeyRead])
def list_api_keys(session: SessionDep, actor: CurrentActor, order_id: PathId) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(k) for k in service.list_api_keys(session, actor, order_id=order_id)]


@router.get("/orders/{order_id}/usage", response_model=UsageRead)
def usage(session: SessionDep, actor: CurrentActor, order_id: PathId) -> UsageRead:
    return UsageRead.model_validate(service.contract_usage(session, actor, order_id=order_id))


@router.get("/orders/{order_id}/statements", response_model=list[StatementRead])
def list_statements(session: SessionDep, actor: CurrentActor, order_id: PathId) -> list[StatementRead]:
    return [StatementRead.of(s) for s in service.list_statements(session, actor, order_id=order_id)]


@router.get("/statements/{statement_id}", response_model=StatementRead)
def get_statement(session: SessionDep, actor: CurrentActor, statement_id: PathId) -> StatementRead:
    return StatementRead.of(service.get_statement(session, actor, statement_id=statement_id))


@router.post("/statements/{statement_id}/pay", response_model=StatementRead)
def pay_statement(session: SessionDep, actor: CurrentActor, statement_id: PathId) -> StatementRead:
    return StatementRead.of(service.pay_statement(session, actor, statement_id=statement_id))


@router.get("/statements/{statement_id}/{fmt}", response_class=Response,
            responses={200: {"content": {MEDIA["csv"]: {}, MEDIA["xlsx"]: {}}, "description": "the statement"}})
def download_statement(session: SessionDep, actor: CurrentActor, statement_id: PathId,
                       fmt: Literal["csv", "xlsx"]) -> Response:
    """The statement as CSV or Excel, the same for buyer and provider."""
    return statement_response(session, actor, statement_id, fmt)


def statement_response(session, actor, statement_id: int, fmt: str) -> Response:  # type: ignore[no-untyped-def]
    statement = StatementRead.of(service.get_statement(session, actor, statement_id=statement_id))
    names = members.member_names(session, {statement.buyer_member_id, statement.provider_member_id})
    render = statement_file.as_csv if fmt == "csv" else statement_file.as_xlsx
    content = render(statement, buyer=names.get(statement.buyer_member_id, ""),
                     provider=names.get(statement.provider_member_id, ""))
    return Response(content, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="statement-{statement.id}.{fmt}"', "Cache-Control": "no-store"})
