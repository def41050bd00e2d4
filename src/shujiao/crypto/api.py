from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel

from shujiao.crypto import service
from shujiao.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["keys 密钥"])


class PublicKeyRead(BaseModel):
    id: str
    algorithm: str
    note_name: str
    note_key_id: int
    public_pem: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


class KeysRead(BaseModel):
    suite: str
    keys: list[PublicKeyRead]


@router.get("/keys", response_model=KeysRead)
def list_keys(session: SessionDep, settings: SettingsDep) -> KeysRead:
    """The exchange's public signing keys, active and retired (PEM, SubjectPublicKeyInfo), so that
    anyone can check checkpoints and certificates with their own tools. Save this JSON and pass it
    to ``shujiao log verify-proof --keys``."""
    return KeysRead(suite=settings.crypto.suite, keys=[
        PublicKeyRead(id=k.id, algorithm=k.algorithm, note_name=k.note_name or "", note_key_id=k.note_key_id or 0,
                      public_pem=k.public_pem or "", valid_from=k.valid_from, valid_to=k.valid_to)
        for k in service.public_keys(session)
    ])
