"""Delta Sharing through the protocol (TestClient) and the official ``delta-sharing`` client against
a running server (uvicorn on a free loopback port), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import time

import delta_sharing
import pandas as pd
import pytest
import requests
from sqlalchemy import update

from shujiao.db import unit_of_work, utcnow
from shujiao.errors import Conflict
from shujiao.sharing.models import SharingProfile
from shujiao.usage import service as usage
from tests.api import assert_error, headers_of, list_product, market_with_one_product
from tests.factories import CSV_BYTES, make_member
from tests.web.conftest import Pages, live_server, pages  # noqa: F401 — the fixtures


# Products offer Delta Sharing as a delivery mode (the usage domain's offer).
SHARING_OFFER = {"terms": {"delivery_modes": ["file", "delta_sharing"]}}


@pytest.fixture
def server(app, live_server):  # type: ignore[no-untyped-def]  # noqa: F811
    """The app on a real loopback port (the official client needs HTTP); profiles point at it."""
    app.state.settings.sharing.public_base_url = live_server
    return live_server


@pytest.fixture
def world(client, session_factory):  # type: ignore[no-untyped-def]
    market = market_with_one_product(client, session_factory, offer=SHARING_OFFER)
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    # Another buyer with a contract of its own, for a second product.
    intruder_handle = make_member(session_factory, market.operator, kind="buyer", deposit_fen=1_000_00)
    intruder = headers_of(client, intruder_handle)
    other_product = list_product(client, market.seller, market.op, title="另一产品", offer=SHARING_OFFER)
    other_order = client.post("/api/v1/orders", json={"product_id": other_product}, headers=intruder).json()["id"]
    assert client.post(f"/api/v1/orders/{other_order}/pay", headers=intruder).status_code == 200
    return {"market": market, "order_id": order_id, "intruder": intruder, "other_order": other_order,
            "product_id": market.product_id}


def _profile(client, headers, order_id, tmp_path, name="p.share"):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/contracts/{order_id}/delta-sharing-profile", headers=headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    path = tmp_path / name
    path.write_bytes(response.content)
    return path, response.json()


def _protocol_error(response, status):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errorCode", "message"}, body
    return body


def test_the_official_client_reads_exactly_the_purchased_rows(client, server, world, tmp_path):
    path, document = _profile(client, world["market"].buyer, world["order_id"], tmp_path)
    assert document["shareCredentialsVersion"] == 1 and document["endpoint"] == f"{server}/delta-sharing"
    assert document["expirationTime"].endswith("Z") and len(document["bearerToken"]) > 30
    sharing = delta_sharing.SharingClient(str(path))
    tables = sharing.list_all_tables()
    share, table = f"contract-{world['order_id']}", f"product-{world['product_id']}"
    assert [(t.share, t.schema, t.name) for t in tables] == [(share, "default", table)]
    frame = delta_sharing.load_as_pandas(f"{path}#{share}.default.{table}")
    expected = pd.read_csv(io.BytesIO(CSV_BYTES))
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert list(frame.columns) == ["企业名称", "行业", "信用评分"] and frame["信用评分"].tolist() == [812, 745]
    # The read is metered, and both sides see the same record.
    reads = client.get(f"/api/v1/contracts/{world['order_id']}/delta-sharing-reads", headers=world["market"].buyer)
    assert [(r["num_records"], r["file_bytes"] > 0) for r in reads.json()] == [(2, True)]
    assert client.get(f"/api/v1/contracts/{world['order_id']}/delta-sharing-reads",
                      headers=world["market"].seller).json() == reads.json()
    # The metadata's schema is the Delta schema of the data.
    with requests.get(f"{server}/delta-sharing/shares/{share}/schemas/default/tables/{table}/metadata",
                      headers={"Authorization": f"Bearer {document['bearerToken']}"}) as response:
        assert response.headers["delta-table-version"] == "1"
        protocol_line, metadata_line = [json.loads(line) for line in response.text.splitlines()]
    assert protocol_line == {"protocol": {"minReaderVersion": 1}}
    fields = json.loads(metadata_line["metaData"]["schemaString"])["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("企业名称", "string"), ("行业", "string"), ("信用评分", "long")]


def test_a_revoked_contract_and_a_rotated_token_are_refused(app, client, server, world, tmp_path):
    market, order_id = world["market"], world["order_id"]
    old, old_document = _profile(client, market.buyer, order_id, tmp_path, "old.share")
    url = f"#contract-{order_id}.default.product-{world['product_id']}"
    assert len(delta_sharing.load_as_pandas(f"{old}{url}")) == 2
    new, _ = _profile(client, market.buyer, order_id, tmp_path, "new.share")  # rotation
    with pytest.raises(requests.HTTPError) as refused:
        delta_sharing.load_as_pandas(f"{old}{url}")
    assert refused.value.response.status_code == 401
    assert refused.value.response.json()["errorCode"] == "UNAUTHENTICATED"
    assert len(delta_sharing.load_as_pandas(f"{new}{url}")) == 2
    # Revoked: the operator refunds the order; the token is still live, the contract is not.
    refund = client.post(f"/api/v1/orders/{order_id}/refund", json={"reason": "合同撤销"}, headers=market.op)
    assert refund.status_code == 200, refund.text
    seen = []  # an app handler for this kind of refusal (usage logs denials in one) still runs

    async def log_refusal(request, exc):  # type: ignore[no-untyped-def]
        seen.append((request.url.path, exc.code))

    app.add_exception_handler(Conflict, log_refusal)
    with pytest.raises(requests.HTTPError) as refused:
        delta_sharing.load_as_pandas(f"{new}{url}")
    assert refused.value.response.status_code == 403
    assert refused.value.response.json()["errorCode"] == "PERMISSION_DENIED"
    assert seen and seen[0][0].startswith(f"/delta-sharing/shares/contract-{order_id}/")


def test_an_expired_profile_and_an_expired_contract_are_refused(client, server, world, tmp_path, session_factory,
                                                              monkeypatch):
    path, document = _profile(client, world["market"].buyer, world["order_id"], tmp_path)
    url = f"{path}#contract-{world['order_id']}.default.product-{world['product_id']}"
    # The contract's window ended (as the usage domain reports it): 403, though the token is live.
    real = usage.authorize_use

    def ended(session, actor, **kwargs):  # type: ignore[no-untyped-def]
        from dataclasses import replace
        return replace(real(session, actor, **kwargs), ends_at=utcnow())

    monkeypatch.setattr(usage, "authorize_use", ended)
    with pytest.raises(requests.HTTPError) as refused:
        delta_sharing.load_as_pandas(url)
    assert refused.value.response.status_code == 403
    monkeypatch.setattr(usage, "authorize_use", real)
    assert len(delta_sharing.load_as_pandas(url)) == 2
    # The profile itself past its expiry: 401.
    with unit_of_work(session_factory) as session:
        session.execute(update(SharingProfile).values(expires_at=utcnow()))
    bearer = {"Authorization": f"Bearer {document['bearerToken']}"}
    _protocol_error(client.get("/delta-sharing/shares", headers=bearer), 401)


def test_file_urls_are_signed_short_lived_and_die_with_their_token(client, world, tmp_path):
    _, document = _profile(client, world["market"].buyer, world["order_id"], tmp_path)
    bearer = {"Authorization": f"Bearer {document['bearerToken']}"}
    table = f"/delta-sharing/shares/contract-{world['order_id']}/schemas/default/tables/product-{world['product_id']}"
    response = client.post(f"{table}/query", json={}, headers=bearer)
    assert response.status_code == 200 and response.headers["delta-table-version"] == "1"
    lines = [json.loads(line) for line in response.text.splitlines()]
    file = lines[2]["file"]
    assert file["partitionValues"] == {} and json.loads(file["stats"]) == {"numRecords": 2}
    assert file["expirationTimestamp"] > time.time() * 1000
    path = file["url"].split("/delta-sharing", 1)[1]
    ranged = client.get(f"/delta-sharing{path}", headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"PAR1"
    assert client.get(f"/delta-sharing{path}").headers["content-length"] == str(file["size"])
    _protocol_error(client.get(f"/delta-sharing{path[:-2]}xx"), 403)
    _protocol_error(client.post(f"{table}/query", json={"version": 7}, headers=bearer), 400)
    _protocol_error(client.post(f"{table}/query", json={"limitHint": "many"}, headers=bearer), 400)
    _profile(client, world["market"].buyer, world["order_id"], tmp_path, "rotated.share")
    _protocol_error(client.get(f"/delta-sharing{path}"), 403)


def test_a_revocation_stops_a_file_url_at_once(client, world, tmp_path):
    _, document = _profile(client, world["market"].buyer, world["order_id"], tmp_path)
    bearer = {"Authorization": f"Bearer {document['bearerToken']}"}
    table = f"/delta-sharing/shares/contract-{world['order_id']}/schemas/default/tables/product-{world['product_id']}"
    url = json.loads(client.post(f"{table}/query", json={}, headers=bearer).text.splitlines()[2])["file"]["url"]
    path = "/delta-sharing" + url.split("/delta-sharing", 1)[1]
    assert client.get(path, headers={"Range": "bytes=0-3"}).status_code == 206
    client.post(f"/api/v1/orders/{world['order_id']}/refund", json={"reason": "撤销"}, headers=world["market"].op)
    _protocol_error(client.get(path, headers={"Range": "bytes=4-7"}), 403)


def test_the_profile_needs_a_bearer_token_not_the_page_cookie(client, world):
    url = f"/api/v1/contracts/{world['order_id']}/delta-sharing-profile"
    assert_error(client.get(url), 401)
    market = world["market"]
    pages = Pages(client)
    pages.login(market.buyer_handle.username, market.buyer_handle.password)
    assert client.cookies  # the page session cookie alone does not do
    assert_error(client.get(url), 401, "bearer_required")


def test_the_order_page_offers_the_profile(pages, world):  # type: ignore[no-untyped-def]  # noqa: F811
    market = world["market"]
    pages.login(market.buyer_handle.username, market.buyer_handle.password)
    page = f"/orders/{world['order_id']}"
    assert 'id="delta-sharing-profile"' in pages.get(page).text
    response = pages.submit(page, f"{page}/delta-sharing-profile", referer=True)
    assert response.status_code == 200, response.text
    assert json.loads(response.content)["shareCredentialsVersion"] == 1
    assert "attachment" in response.headers["content-disposition"]


# Every protocol route with a name in it, called with the other buyer's token on this contract's
# share: nothing (404), and nothing recorded. The profile route: another member gets 404.
FOREIGN_SHARING = [
    ("GET", "/delta-sharing/shares/{share}", None),
    ("GET", "/delta-sharing/shares/{share}/schemas", None),
    ("GET", "/delta-sharing/shares/{share}/all-tables", None),
    ("GET", "/delta-sharing/shares/{share}/schemas/{schema}/tables", None),
    ("GET", "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/version", None),
    ("GET", "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/metadata", None),
    ("POST", "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/query", {}),
    ("GET", "/api/v1/contracts/{order_id}/delta-sharing-profile", None),
    ("GET", "/api/v1/contracts/{order_id}/delta-sharing-reads", None),
]


@pytest.mark.parametrize("method,path,body", FOREIGN_SHARING, ids=[f"{m} {p}" for m, p, _ in FOREIGN_SHARING])
def test_another_members_token_or_contract_gets_nothing(client, world, tmp_path, method, path, body):
    intruder = world["intruder"]
    _, document = _profile(client, intruder, world["other_order"], tmp_path)
    headers = intruder if path.startswith("/api/") else {"Authorization": f"Bearer {document['bearerToken']}"}
    op = world["market"].op
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json()
    target = path.format(share=f"contract-{world['order_id']}", schema="default", table=f"product-{world['product_id']}",
                         order_id=world["order_id"])
    response = client.request(method, target, json=body, headers=headers)
    if path.startswith("/api/"):
        assert_error(response, 404)
    else:
        assert _protocol_error(response, 404)["errorCode"] == "RESOURCE_DOES_NOT_EXIST"
    assert client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json() == before
    # Its own share lists only its own contract.
    shares = client.get("/delta-sharing/shares", headers={"Authorization": f"Bearer {document['bearerToken']}"})
    assert shares.json() == {"items": [{"name": f"contract-{world['other_order']}",
                                        "id": f"contract-{world['other_order']}"}]}


def test_pruning_the_cache_keeps_only_copies_someone_may_still_read(client, world, tmp_path, session_factory,
                                                                  settings):
    from shujiao.commands import SYSTEM
    from shujiao.sharing import service

    for headers, order_id, product in ((world["market"].buyer, world["order_id"], world["product_id"]),
                                       (world["intruder"], world["other_order"], None)):
        _, document = _profile(client, headers, order_id, tmp_path, f"{order_id}.share")
        bearer = {"Authorization": f"Bearer {document['bearerToken']}"}
        table = client.get(f"/delta-sharing/shares/contract-{order_id}/all-tables", headers=bearer).json()["items"][0]
        assert client.post(f"/delta-sharing/shares/contract-{order_id}/schemas/default/tables/{table['name']}/query",
                           json={}, headers=bearer).status_code == 200
    cache = settings.data_dir / "sharing-cache"
    assert len(list(cache.glob("*.parquet"))) == 2
    client.post(f"/api/v1/orders/{world['order_id']}/refund", json={"reason": "撤销"}, headers=world["market"].op)
    with unit_of_work(session_factory) as session:
        removed = service.prune_cache(session, SYSTEM, settings=settings)
    assert [name.split("-")[1] for name in removed] == [str(world["order_id"])]
    assert [f.name.split("-")[1] for f in cache.glob("*.parquet")] == [str(world["other_order"])]
