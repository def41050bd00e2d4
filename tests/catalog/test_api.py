from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from tests.api import assert_error, create_resource, headers_of, upload
from tests.factories import CSV_BYTES, make_member, make_operator


def test_csv_and_parquet_are_described_by_duckdb(client, session_factory, settings):
    provider = headers_of(client, make_member(session_factory, make_operator(session_factory)))
    resource_id = create_resource(client, provider)

    csv = upload(client, provider, resource_id)
    assert csv.status_code == 201, csv.text
    body = csv.json()
    import hashlib
    assert body["rows"] == 2 and body["sha256"] == hashlib.sha256(CSV_BYTES).hexdigest()
    assert [c["name"] for c in body["columns"]] == ["企业名称", "行业", "信用评分"]
    assert body["columns"][2]["type"] == "BIGINT"

    buffer = io.BytesIO()
    pq.write_table(pa.table({"城市": ["贵阳", "成都", "福州"], "人口": [600, 2100, 840]}), buffer)
    parquet = upload(client, provider, resource_id, buffer.getvalue(), "城市.parquet")
    assert parquet.status_code == 201, parquet.text
    assert parquet.json()["rows"] == 3 and parquet.json()["file_format"] == "parquet"

    # The bytes live under the storage root, not in the database, sealed by the data vault.
    stored = list((settings.storage_root / "datasets").rglob("*.*"))
    assert sorted(p.name.split(".", 1)[1] for p in stored) == ["csv.vault", "parquet.vault"]
    listed = client.get(f"/api/v1/resources/{resource_id}/datasets", headers=provider).json()
    assert len(listed) == 2


def test_bad_files_are_refused_and_leave_nothing_behind(client, session_factory, settings):
    provider = headers_of(client, make_member(session_factory, make_operator(session_factory)))
    resource_id = create_resource(client, provider)
    assert_error(upload(client, provider, resource_id, b"", "empty.csv"), 422, "empty_file")
    assert_error(upload(client, provider, resource_id, b"PK\x03\x04 not really", "data.xlsx"), 422,
                 "unsupported_format")
    error = assert_error(upload(client, provider, resource_id, b"\x00\x01\xff\xfe\x00garbage", "data.csv"), 422,
                         "unreadable_file")
    assert str(settings.storage_root) not in error["message"]
    assert_error(upload(client, provider, resource_id, b"not parquet at all", "x.parquet"), 422, "unreadable_file")
    assert [p for p in settings.storage_root.rglob("*") if p.is_file()] == []
    assert client.get(f"/api/v1/resources/{resource_id}/datasets", headers=provider).json() == []


def test_resource_grading_rules(client, session_factory):
    provider = headers_of(client, make_member(session_factory, make_operator(session_factory)))
    base = {"name": "数据", "description": "", "domain": "交通"}
    assert_error(client.post("/api/v1/resources", headers=provider, json={**base, "grade": "general"}), 422)
    assert_error(client.post("/api/v1/resources", headers=provider, json={**base, "grade": "core", "sensitivity": 2}),
                 422)
    assert_error(client.post("/api/v1/resources", headers=provider, json={**base, "grade": "secret"}), 422)
    assert_error(client.post("/api/v1/resources", headers=provider,
                             json={**base, "grade": "general", "sensitivity": 5}), 422)
    assert client.post("/api/v1/resources", headers=provider, json={**base, "grade": "important"}).status_code == 201
    assert len(client.get("/api/v1/resources", headers=provider).json()) == 1
