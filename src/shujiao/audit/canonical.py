"""The canonical serialization of an audit record, stable so that it can be hashed into a log.

Rules (after RFC 8785, JSON Canonicalization Scheme, restricted to the values we write):
objects with keys sorted by code point, no insignificant whitespace, strings as UTF-8 without
escaping non-ASCII, integers only (money is integer fen; floats are refused), timestamps as
RFC 3339 UTC strings with microseconds (``2026-11-22T07:15:41.123456Z``), ``None`` as ``null``.
The leaf of an event — what the transparency log hashes (``shujiao.tlog``) — is the UTF-8 bytes of::

    {"action":…,"actor":{"kind":…,"label":…,"member_id":…,"user_id":…},"change":…,
     "index":…,"occurred_at":…,"subject":{"id":…,"type":…}}

where ``index`` is the record's position in the log (0, 1, 2, …) and ``change`` is the stored
``change_json`` exactly. Any RFC 8785 implementation given the parsed record reproduces the bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
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
        return _utc_timestamp(value)
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
        "index": event.leaf_index,
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
    return leaf_bytes(
        index=event.leaf_index, occurred_at=event.occurred_at, actor_kind=event.actor_kind,
        actor_label=event.actor_label, actor_user_id=event.actor_user_id, actor_member_id=event.actor_member_id,
        action=event.action, subject_type=event.subject_type, subject_id=event.subject_id,
        change_json=event.change_json,
    )


# The C string encoder json.dumps(..., ensure_ascii=False) itself uses, without its Python wrapper.
_dumps_str = json.encoder.encode_basestring


def _utc_timestamp(value: dt.datetime) -> str:
    """RFC 3339 UTC with microseconds; isoformat is several times faster than strftime (and pads
    the year to four digits, as RFC 3339 requires and strftime does not)."""
    if value.utcoffset():
        value = value.astimezone(dt.UTC)
    elif value.tzinfo is None:
        raise TypeError("naive datetime in audit record")
    return value.isoformat(timespec="microseconds")[:26] + "Z"


def _int_or_null(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def leaf_bytes(*, index: int, occurred_at: dt.datetime, actor_kind: str, actor_label: str,
               actor_user_id: int | None, actor_member_id: int | None, action: str, subject_type: str,
               subject_id: str, change_json: str) -> bytes:
    """The same bytes as ``dumps(event_document(event))``, written out field by field: the stored
    ``change_json`` is already canonical, so it is spliced in rather than parsed and re-serialized
    (this runs for every record at commit and for every leaf a verifier checks)."""
    return (
        '{"action":' + _dumps_str(action)
        + ',"actor":{"kind":' + _dumps_str(actor_kind) + ',"label":' + _dumps_str(actor_label)
        + ',"member_id":' + _int_or_null(actor_member_id) + ',"user_id":' + _int_or_null(actor_user_id)
        + '},"change":' + change_json
        + ',"index":' + str(int(index))
        + ',"occurred_at":"' + _utc_timestamp(occurred_at)
        + '","subject":{"id":' + _dumps_str(subject_id) + ',"type":' + _dumps_str(subject_type) + "}}"
    ).encode("utf-8")
