"""The canonical serialization of an audit record, stable so that it can be hashed into a log.

Rules (after RFC 8785, JSON Canonicalization Scheme, restricted to the values we write):
objects with keys sorted by code point, no insignificant whitespace, strings as UTF-8 without
escaping non-ASCII, integers only (money is integer fen; floats are refused), timestamps as
RFC 3339 UTC strings with microseconds (``2026-11-22T07:15:41.123456Z``), ``None`` as ``null``.
The leaf of an event is the UTF-8 bytes of::

    {"action":…,"actor":{"kind":…,"label":…,"member_id":…,"user_id":…},"change":…,
     "id":…,"occurred_at":…,"subject":{"id":…,"type":…}}
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from typing import Any


def normalize(value: Any) -> Any:
    """Turn a value into the plain JSON shapes the canonical form allows."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit records; use integer fen or strings")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return normalize(value.value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in audit record")
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} into an audit record")


def dumps(value: Any) -> str:
    return json.dumps(normalize(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_document(event: Any) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred_at": event.occurred_at,
        "actor": {
            "kind": event.actor_kind,
            "label": event.actor_label,
            "user_id": event.actor_user_id,
            "member_id": event.actor_member_id,
        },
        "action": event.action,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "change": json.loads(event.change_json),
    }


def event_bytes(event: Any) -> bytes:
    return dumps(event_document(event)).encode("utf-8")
