"""The protocol's pure parts, without a database: Delta types, schemaString, signed capabilities."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa

from shujiao.sharing import protocol


def test_every_column_becomes_a_type_delta_names():
    table = pa.table({
        "b": pa.array([True]), "i8": pa.array([1], pa.int8()), "u32": pa.array([1], pa.uint32()),
        "i64": pa.array([1]), "f": pa.array([1.5], pa.float32()), "s": pa.array(["数"]),
        "d": pa.array([dt.date(2026, 1, 1)]), "ts": pa.array([dt.datetime(2026, 1, 1)], pa.timestamp("ns")),
        "dec": pa.array([decimal.Decimal("1.25")], pa.decimal128(10, 2)),
        "cat": pa.array(["a"]).dictionary_encode(), "bin": pa.array([b"x"]),
    })
    shared = protocol.shareable(table)
    fields = json.loads(protocol.schema_string(shared.schema))["fields"]
    assert {f["name"]: f["type"] for f in fields} == {
        "b": "boolean", "i8": "byte", "u32": "long", "i64": "long", "f": "float", "s": "string", "d": "date",
        "ts": "timestamp", "dec": "decimal(10,2)", "cat": "string", "bin": "binary"}
    assert all(f["nullable"] and f["metadata"] == {} for f in fields)
    assert shared.column("cat").to_pylist() == ["a"] and shared.column("u32").to_pylist() == [1]


def test_a_signed_capability_is_refused_when_tampered_or_signed_with_another_key():
    signed = protocol.sign("k" * 40, {"p": 1, "f": "x.parquet", "e": 99})
    assert protocol.verified("k" * 40, signed) == {"p": 1, "f": "x.parquet", "e": 99}
    assert protocol.verified("j" * 40, signed) is None
    payload, signature = signed.split(".")
    forged = protocol.sign("k" * 40, {"p": 2, "f": "x.parquet", "e": 99}).split(".")[0]
    assert protocol.verified("k" * 40, f"{forged}.{signature}") is None
    assert protocol.verified("k" * 40, "") is None


def test_the_profile_file_and_the_file_line():
    expires = dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert protocol.profile_document(token="t", expires_at=expires, endpoint="https://x/delta-sharing") == {
        "shareCredentialsVersion": 1, "endpoint": "https://x/delta-sharing", "bearerToken": "t",
        "expirationTime": "2027-01-02T03:04:05.000Z"}
    line = protocol.file_line(url="u", file_id="f", size_bytes=10, num_records=3, committed_at=expires,
                              expires_at=expires)["file"]
    assert json.loads(line["stats"]) == {"numRecords": 3} and line["partitionValues"] == {}
    assert line["expirationTimestamp"] == int(expires.timestamp() * 1000)
