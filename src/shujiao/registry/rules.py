"""The registry's rules as other domains see them: which registration makes data listable."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.commands import query
from shujiao.registry.models import Certificate

# Selling data needs the holding or the operating right; the processing right (加工使用权) alone
# lets the holder use the data, not sell it.
LISTING_RIGHTS = ("holding", "operating")
LIVE_STATUSES = ("valid", "pledged")


def schema_fingerprint(columns_json: str) -> str:
    """SHA-256 of the columns (name and type, in order) as canonical JSON: two files with the same
    shape share it, whatever their rows."""
    columns = [{"name": c["name"], "type": c["type"]} for c in json.loads(columns_json)]
    return hashlib.sha256(json.dumps(columns, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


@query
def listing_registration(session: Session, *, member_id: int, content_sha256: str,
                         now: dt.datetime) -> Certificate | None:
    """A live certificate held by ``member_id`` that covers these bytes for sale, if any."""
    stmt = select(Certificate).where(
        Certificate.holder_member_id == member_id, Certificate.content_sha256 == content_sha256,
        Certificate.right_type.in_(LISTING_RIGHTS), Certificate.status.in_(LIVE_STATUSES),
        Certificate.valid_until > now,
    ).order_by(Certificate.id)
    return session.scalars(stmt.limit(1)).first()
