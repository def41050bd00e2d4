"""Fingerprinted copies end to end on SQLite and PostgreSQL: the provider's policy, 20 buyers'
copies served by the file download, detection over the API and the CLI, and tenancy."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shujiao.cli import app as cli
from shujiao.db import unit_of_work
from shujiao.fingerprint import scheme
from shujiao.market import service as market
from shujiao.usage.offer import Offer, UsageTerms
from tests.api import assert_error, headers_of
from tests.factories import make_listed_product, make_member, make_operator
from tests.test_cli import cli_env  # noqa: F401  (the CLI's environment fixture)

ROWS = 3000
ALTER = {"mode": "alter_values", "key_columns": ["客户编号"], "gamma": 10,
         "columns": [{"name": "金额", "decimals": 2, "max_abs_change": "0.01"},
                     {"name": "数量", "decimals": 0, "max_abs_change": "1"}]}


def _content(rows: int = ROWS) -> bytes:
    rng = np.random.default_rng(5)
    out = io.BytesIO()
    scheme.write_table(pa.table({
        "客户编号": [f"C{i:06d}" for i in range(rows)], "城市": rng.choice(["北京", "贵阳"], rows).tolist(),
        "金额": np.round(rng.uniform(1, 9999, rows), 2), "数量": rng.integers(0, 100, rows)}), "csv", out)
    return out.getvalue()


@pytest.fixture
def world(client, session_factory, settings, storage):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings,
                                     content=_content(), price_fen=1_00,
                                     offer=Offer(terms=UsageTerms(delivery_modes=["file", "delta_sharing"])))
    buyers, orders = [], []
    for _ in range(20):
        buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=10_00)
        with unit_of_work(session_factory) as session:
            order = market.create_order(session, buyer.actor, product_id=product_id)
            market.pay_order(session, buyer.actor, order_id=order.id)
        buyers.append(buyer)
        orders.append(order.id)
    intruder = make_member(session_factory, operator)
    return {"product_id": product_id, "orders": orders, "buyers": buyers,
            "provider": headers_of(client, provider), "operator": headers_of(client, operator),
            "intruder": headers_of(client, intruder), "buyer": headers_of(client, buyers[0])}


def _download(client, headers, order_id: int):  # type: ignore[no-untyped-def]
    link = client.get(f"/api/v1/orders/{order_id}/delivery", headers=headers)
    assert link.status_code == 200, link.text
    response = client.get(link.json()["download_url"], headers=headers)
    assert response.status_code == 200, response.text
    return response


def _leak(content: bytes, fraction: float = 0.3, seed: int = 1, drop: str | None = None) -> bytes:
    table = scheme.read_table(content, "csv")
    kept = np.random.default_rng(seed).permutation(table.num_rows)[: int(table.num_rows * fraction)]
    table = table.take(pa.array(kept))
    if drop:
        table = table.drop_columns([drop])
    out = io.BytesIO()
    scheme.write_table(table, "csv", out)
    return out.getvalue()


def _detect(client, headers, product_id: int, content: bytes, name: str = "leaked.csv"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/fingerprint/products/{product_id}/detect", headers=headers,
                       files={"file": (name, content)})


def test_provider_sets_a_policy_and_a_leaked_copy_names_its_buyer(client, world):
    product_id, provider = world["product_id"], world["provider"]
    default = client.get(f"/api/v1/fingerprint/products/{product_id}/policy", headers=provider).json()
    assert (default["saved"], default["mode"]) == (False, "no_alteration")
    saved = client.put(f"/api/v1/fingerprint/products/{product_id}/policy", headers=provider, json=ALTER)
    assert saved.status_code == 200, saved.text
    assert saved.json()["saved"] and saved.json()["columns"][0]["max_abs_change"] == "0.01"

    guilty_index = 13
    guilty = world["orders"][guilty_index]
    response = _download(client, headers_of(client, world["buyers"][guilty_index]), guilty)
    copy = response.content
    assert copy != _content() and len(copy) == int(response.headers["content-length"])
    import hashlib
    assert response.headers["x-content-sha256"] == hashlib.sha256(copy).hexdigest()

    for leak in (_leak(copy), _leak(copy, drop="城市"), _leak(copy, drop="数量")):
        found = _detect(client, provider, product_id, leak)
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["named_order_id"] == guilty and body["significance"] < 1e-6
        assert len(body["scores"]) == 20 and body["scores"][0]["order_id"] == guilty
    # The unmarked original names nobody; so does the operator's check of it.
    for headers in (provider, world["operator"]):
        nobody = _detect(client, headers, product_id, _leak(_content(), fraction=1.0)).json()
        assert nobody["named_order_id"] is None and nobody["verdict_en"] == "names nobody"


def test_no_alteration_copies_keep_every_value(client, world):
    product_id = world["product_id"]
    body = {"mode": "no_alteration", "key_columns": ["客户编号"], "gamma": 10}
    assert client.put(f"/api/v1/fingerprint/products/{product_id}/policy", headers=world["provider"],
                      json=body).status_code == 200
    copy = _download(client, world["buyer"], world["orders"][0]).content
    original_lines, copy_lines = set(_content().decode().splitlines()), copy.decode().splitlines()
    assert len(copy_lines) < len(original_lines) and set(copy_lines) <= original_lines
    found = _detect(client, world["provider"], product_id, _leak(copy)).json()
    assert found["named_order_id"] == world["orders"][0]


def test_a_copy_made_under_an_earlier_policy_is_still_detected(client, world):
    product_id, provider = world["product_id"], world["provider"]
    client.put(f"/api/v1/fingerprint/products/{product_id}/policy", headers=provider, json=ALTER)
    copy = _download(client, world["buyer"], world["orders"][0]).content
    client.put(f"/api/v1/fingerprint/products/{product_id}/policy", headers=provider,
               json={"mode": "no_alteration", "key_columns": ["客户编号"]})
    assert _detect(client, provider, product_id, _leak(copy)).json()["named_order_id"] == world["orders"][0]


@pytest.mark.parametrize("body,code", [
    ({**ALTER, "key_columns": ["没有"]}, "unknown_columns"),
    ({**ALTER, "columns": [{"name": "城市", "decimals": 0, "max_abs_change": "1"}]}, "not_numeric"),
    ({**ALTER, "columns": [{"name": "金额", "decimals": 2, "max_abs_change": "0.001"}]}, "tolerance_too_small"),
    ({**ALTER, "columns": []}, "bad_policy"),
    ({**ALTER, "columns": [{"name": "客户编号", "decimals": 0, "max_abs_change": "1"}]}, "bad_policy"),
    ({"mode": "no_alteration", "key_columns": ["客户编号"], "columns": ALTER["columns"]}, "bad_policy"),
    ({**ALTER, "gamma": 1}, None),
    ({**ALTER, "mode": "magic"}, None),
])
def test_bad_policies_are_422_and_change_nothing(client, world, body, code):
    url = f"/api/v1/fingerprint/products/{world['product_id']}/policy"
    assert_error(client.put(url, headers=world["provider"], json=body), 422, code)
    assert client.get(url, headers=world["provider"]).json()["saved"] is False


def test_unreadable_leak_and_missing_key_column_are_422(client, world):
    product_id, provider = world["product_id"], world["provider"]
    client.put(f"/api/v1/fingerprint/products/{product_id}/policy", headers=provider, json=ALTER)
    assert_error(_detect(client, provider, product_id, b"\x00\x01 not parquet", "x.parquet"), 422, "unreadable_file")
    assert_error(_detect(client, provider, product_id, _leak(_content(), drop="客户编号")), 422, "key_columns_missing")


FOREIGN = [
    ("GET", "/api/v1/fingerprint/products/{product_id}/policy", None),
    ("PUT", "/api/v1/fingerprint/products/{product_id}/policy", ALTER),
    ("POST", "/api/v1/fingerprint/products/{product_id}/detect", "file"),
]


@pytest.mark.parametrize("who", ["intruder", "buyer"])
@pytest.mark.parametrize("method,path,body", FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
def test_another_member_or_a_buyer_gets_404_and_changes_nothing(client, world, who, method, path, body):
    url = path.format(product_id=world["product_id"])
    if body == "file":
        response = client.post(url, headers=world[who], files={"file": ("leak.csv", _content())})
    else:
        response = client.request(method, url, headers=world[who], json=body)
    assert_error(response, 404, "not_found")
    policy = client.get(f"/api/v1/fingerprint/products/{world['product_id']}/policy", headers=world["provider"])
    assert policy.json()["saved"] is False
    audit = client.get("/api/v1/audit", headers=world["operator"])
    if audit.status_code == 200:
        assert "fingerprint" not in audit.text


def test_cli_detect_names_the_buyer_or_nobody(client, world, cli_env, tmp_path):  # noqa: F811
    product_id = world["product_id"]
    client.put(f"/api/v1/fingerprint/products/{product_id}/policy", headers=world["provider"], json=ALTER)
    copy = _download(client, world["buyer"], world["orders"][0]).content
    leaked = tmp_path / "leaked.csv"
    leaked.write_bytes(_leak(copy))
    result = CliRunner().invoke(cli, ["fingerprint", "detect", str(leaked), "--product", str(product_id)])
    assert result.exit_code == 0, result.output
    assert f"order {world['orders'][0]}" in result.output
    leaked.write_bytes(_content())
    result = CliRunner().invoke(cli, ["fingerprint", "detect", str(leaked), "--product", str(product_id)])
    assert result.exit_code == 2 and "none" in result.output


def test_a_copy_read_over_delta_sharing_names_its_buyer(client, world):
    """Delta Sharing serves the same fingerprinted copy as a file download (typed as Parquet)."""
    product_id, provider = world["product_id"], world["provider"]
    assert client.put(f"/api/v1/fingerprint/products/{product_id}/policy", headers=provider, json=ALTER).status_code == 200
    guilty_index = 7
    guilty, buyer = world["orders"][guilty_index], headers_of(client, world["buyers"][guilty_index])
    profile = client.get(f"/api/v1/contracts/{guilty}/delta-sharing-profile", headers=buyer)
    assert profile.status_code == 200, profile.text
    bearer = {"Authorization": f"Bearer {profile.json()['bearerToken']}"}
    table = f"/delta-sharing/shares/contract-{guilty}/schemas/default/tables/product-{product_id}"
    lines = [json.loads(line) for line in client.post(f"{table}/query", json={}, headers=bearer).text.splitlines()]
    shared = pq.read_table(io.BytesIO(client.get("/delta-sharing" + lines[2]["file"]["url"].split("/delta-sharing", 1)[1]).content))
    original = scheme.read_table(_content(), "csv")
    assert shared.num_rows == original.num_rows and shared.column("金额") != original.column("金额").cast(pa.float64())
    kept = np.random.default_rng(3).permutation(shared.num_rows)[: int(shared.num_rows * 0.3)]
    leak = io.BytesIO()
    pq.write_table(shared.take(pa.array(kept)), leak)
    found = _detect(client, provider, product_id, leak.getvalue(), "leaked.parquet")
    assert found.status_code == 200, found.text
    assert found.json()["named_order_id"] == guilty and found.json()["significance"] < 1e-6
