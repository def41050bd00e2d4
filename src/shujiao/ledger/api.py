from __future__ import annotations

from fastapi import APIRouter

from shujiao.deps import CurrentActor, PathId, SessionDep
from shujiao.ledger import service
from shujiao.ledger.schemas import BalanceRead, EntryRead, LedgerCheckRead, MoneyMovement, StatementLine

router = APIRouter(prefix="/api/v1", tags=["ledger 账户与账本"])


@router.post("/accounts/{member_id}/deposits", status_code=201, response_model=EntryRead)
def record_deposit(session: SessionDep, actor: CurrentActor, member_id: PathId, body: MoneyMovement) -> EntryRead:
    return EntryRead.of(service.record_deposit(session, actor, member_id=member_id, amount_fen=body.amount_fen,
                                               reference=body.reference))


@router.post("/accounts/{member_id}/withdrawals", status_code=201, response_model=EntryRead)
def record_withdrawal(session: SessionDep, actor: CurrentActor, member_id: PathId, body: MoneyMovement) -> EntryRead:
    return EntryRead.of(service.record_withdrawal(session, actor, member_id=member_id, amount_fen=body.amount_fen,
                                                  reference=body.reference))


@router.get("/accounts/me", response_model=BalanceRead)
def my_balance(session: SessionDep, actor: CurrentActor) -> object:
    return service.member_balance(session, actor, member_id=actor.member_id)


@router.get("/accounts/me/statement", response_model=list[StatementLine])
def my_statement(session: SessionDep, actor: CurrentActor) -> list[StatementLine]:
    return _statement(session, actor, actor.member_id)


@router.get("/accounts/{member_id}", response_model=BalanceRead)
def member_balance(session: SessionDep, actor: CurrentActor, member_id: PathId) -> object:
    return service.member_balance(session, actor, member_id=member_id)


@router.get("/accounts/{member_id}/statement", response_model=list[StatementLine])
def member_statement(session: SessionDep, actor: CurrentActor, member_id: PathId) -> list[StatementLine]:
    return _statement(session, actor, member_id)


def _statement(session: SessionDep, actor: CurrentActor, member_id: int | None) -> list[StatementLine]:
    return [
        StatementLine(entry_id=entry.id, kind=entry.kind, memo=entry.memo, account=posting.account.code,
                      amount_fen=-posting.amount_fen, posted_at=entry.posted_at)
        for posting, entry in service.member_postings(session, actor, member_id=member_id or 0)
    ]


@router.get("/ledger/check", response_model=LedgerCheckRead)
def check(session: SessionDep, actor: CurrentActor) -> LedgerCheckRead:
    result = service.check(session, actor)
    return LedgerCheckRead(problems=result.problems, **result.__dict__)
