"""The Delta Sharing protocol's documents, pure: names, the Delta schema of an Arrow table, the
NDJSON lines of the metadata and query responses, the profile file, and signed file capabilities.

Protocol: https://github.com/delta-io/delta-sharing/blob/main/PROTOCOL.md"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

import pyarrow as pa

SCHEMA = "default"
# A contract's data is frozen at payment, so its one table never changes: one version.
TABLE_VERSION = 1
SHARE_PREFIX = "contract-"
TABLE_PREFIX = "product-"
# What the server answers to the client's ``delta-sharing-capabilities`` header.
CAPABILITIES = "responseformat=parquet"


def share_name(order_id: int) -> str:
    return f"{SHARE_PREFIX}{order_id}"


def table_name(product_id: int) -> str:
    return f"{TABLE_PREFIX}{product_id}"


def profile_document(*, token: str, expires_at: dt.datetime, endpoint: str) -> dict[str, Any]:
    """The profile file the official clients read (shareCredentialsVersion 1)."""
    return {"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token,
            "expirationTime": expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")}


# Arrow types the Delta protocol names (https://github.com/delta-io/delta/blob/master/PROTOCOL.md
# "Primitive Types"); anything else is shared as its string form.
_DELTA_TYPES: list[tuple[Any, str]] = [
    (pa.types.is_boolean, "boolean"), (pa.types.is_int8, "byte"), (pa.types.is_int16, "short"),
    (pa.types.is_int32, "integer"), (pa.types.is_int64, "long"), (pa.types.is_float32, "float"),
    (pa.types.is_float64, "double"), (pa.types.is_string, "string"), (pa.types.is_large_string, "string"),
    (pa.types.is_binary, "binary"), (pa.types.is_large_binary, "binary"), (pa.types.is_date32, "date"),
]


def delta_type(arrow_type: pa.DataType) -> str | None:
    for matches, name in _DELTA_TYPES:
        if matches(arrow_type):
            return name
    if pa.types.is_timestamp(arrow_type):
        return "timestamp" if arrow_type.tz else "timestamp_ntz"
    if pa.types.is_decimal(arrow_type) and arrow_type.precision <= 38:
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    return None


def shareable(table: pa.Table) -> pa.Table:
    """The table with every column in a type Delta can name (timestamps as UTC microseconds,
    unsigned and other integers widened, anything else as text)."""
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns):
        target = field.type
        if pa.types.is_timestamp(target):
            target = pa.timestamp("us", tz="UTC")
        elif pa.types.is_unsigned_integer(target) or pa.types.is_integer(target) and delta_type(target) is None:
            target = pa.int64()
        elif pa.types.is_float16(target):
            target = pa.float32()
        elif pa.types.is_date64(target):
            target = pa.date32()
        elif delta_type(target) is None:
            target = pa.string()
        columns.append(column if target == field.type else column.cast(target))
        fields.append(pa.field(field.name, target, nullable=True))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def schema_string(schema: pa.Schema) -> str:
    """The Delta ``schemaString`` (a JSON struct type) of a shareable Arrow schema."""
    return json.dumps({"type": "struct", "fields": [
        {"name": f.name, "type": delta_type(f.type), "nullable": True, "metadata": {}} for f in schema]},
        ensure_ascii=False)


# --- protocol documents -----------------------------------------------------------------------

def table_id(*, order_id: int, product_id: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"shujiao:contract:{order_id}:product:{product_id}"))


def protocol_line() -> dict[str, Any]:
    return {"protocol": {"minReaderVersion": 1}}


def metadata_line(*, table_id: str, schema: pa.Schema, size_bytes: int) -> dict[str, Any]:
    return {"metaData": {"id": table_id, "format": {"provider": "parquet"},
                         "schemaString": schema_string(schema), "partitionColumns": [],
                         "configuration": {}, "version": TABLE_VERSION, "size": size_bytes, "numFiles": 1}}


def file_line(*, url: str, file_id: str, size_bytes: int, num_records: int, committed_at: dt.datetime,
              expires_at: dt.datetime) -> dict[str, Any]:
    return {"file": {"url": url, "id": file_id, "partitionValues": {}, "size": size_bytes,
                     "stats": json.dumps({"numRecords": num_records}),
                     "version": TABLE_VERSION, "timestamp": int(committed_at.timestamp() * 1000),
                     "expirationTimestamp": int(expires_at.timestamp() * 1000)}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(f"delta-sharing-file:{secret}".encode(), payload.encode(), hashlib.sha256).digest())


def sign(secret: str, claims: dict[str, Any]) -> str:
    """A capability token: the claims, base64url, and an HMAC-SHA256 over them with the exchange's
    secret key, so every server process can check it without shared state."""
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload}.{_signature(secret, payload)}"


def verified(secret: str, signed: str) -> dict[str, Any] | None:
    """The claims of a token made by :func:`sign` with this secret, or None."""
    payload, _, signature = signed.partition(".")
    if not hmac.compare_digest(signature.encode(), _signature(secret, payload).encode()):
        return None
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims if isinstance(claims, dict) else None
