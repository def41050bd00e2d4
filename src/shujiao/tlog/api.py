from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from shujiao.commands import SYSTEM, Actor
from shujiao.db import MAX_ID
from shujiao.deps import OptionalActor, PathId, SessionDep, SettingsDep
from shujiao.market import service as market
from shujiao.tlog import service

router = APIRouter(prefix="/api/v1", tags=["log 存证日志"])

Size = Annotated[int, Query(ge=1, le=MAX_ID)]
LeafIndex = Annotated[int, Path(ge=0, le=MAX_ID)]


class EntryRead(BaseModel):
    """A proof bundle: save it as JSON and check it offline with ``shujiao log verify-proof``."""

    index: int
    tree_size: int
    hash: str
    leaf: str | None  # the record's canonical JSON, when the caller may read the record
    leaf_hash: str
    proof: list[str]
    checkpoint: str


class ConsistencyRead(BaseModel):
    first: int
    second: int
    hash: str
    proof: list[str]


class EvidenceRead(BaseModel):
    order_id: int
    entries: list[EntryRead]


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode() for v in values]


def _may_read(actor: Actor, member_id: int | None) -> bool:
    return actor.is_operator or (actor.member_id is not None and actor.member_id == member_id)


def _entry(session, settings, index: int, tree_size: int | None, show_record: bool | None, actor: Actor) -> EntryRead:  # type: ignore[no-untyped-def]
    if show_record is None:
        show_record = _may_read(actor, service.record_at(session, index=index).actor_member_id)
    return EntryRead(**service.proof_bundle(session, settings=settings, index=index, tree_size=tree_size,
                                            with_record=show_record))


@router.get("/log/checkpoint", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {}}, "description": "C2SP tlog-checkpoint signed note"}})
def get_checkpoint(session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """The newest signed tree head (C2SP tlog-checkpoint); a new one is signed when the log grew
    and the newest is older than the checkpoint interval."""
    checkpoint = service.publish_checkpoint(session, SYSTEM, settings=settings)
    return PlainTextResponse(checkpoint.note, media_type="text/plain; charset=utf-8")


@router.get("/log/entries/{index}", response_model=EntryRead)
def get_entry(
    index: LeafIndex,
    session: SessionDep,
    settings: SettingsDep,
    actor: OptionalActor,
    tree_size: Size | None = None,
) -> EntryRead:
    """A record's leaf hash and inclusion proof for a signed tree size (default: the newest
    checkpoint covering it). The record itself is included for the operator and for the member
    who acted; everyone else gets the hashes, which reveal nothing."""
    return _entry(session, settings, index, tree_size, None, actor)


@router.get("/log/consistency", response_model=ConsistencyRead)
def get_consistency(first: Size, second: Size, session: SessionDep) -> ConsistencyRead:
    """RFC 6962 consistency proof: the tree of size ``second`` extends the tree of size ``first``."""
    proof = service.consistency_proof(session, first=first, second=second)
    return ConsistencyRead(first=first, second=second, hash=service.head(session).hash.name, proof=_b64(proof))


@router.get("/orders/{order_id}/evidence", response_model=EvidenceRead)
def get_order_evidence(order_id: PathId, session: SessionDep, settings: SettingsDep, actor: OptionalActor) -> EvidenceRead:
    """Every record of one order with its proof against one signed checkpoint (存证), for the
    buyer, the provider and the operator."""
    order = market.get_order(session, actor, order_id=order_id)
    indexes = service.record_indexes(session, subject_type="order", subject_id=str(order.id))
    if not indexes:
        return EvidenceRead(order_id=order.id, entries=[])
    signed = service.checkpoint_covering(session, SYSTEM, settings=settings, tree_size=max(indexes) + 1)
    return EvidenceRead(order_id=order.id, entries=[
        _entry(session, settings, index, signed.tree_size, True, actor) for index in indexes])
