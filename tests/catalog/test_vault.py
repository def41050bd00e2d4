"""The data vault on both databases: uploads are sealed on disk, downloads decrypt to the original
bytes, damage is refused before a delivery is recorded, plaintext datasets from before the vault are
converted by `shujiao vault encrypt-existing`, and master-key rotation keeps old datasets readable."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shujiao.audit.models import AuditEvent
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset
from shujiao.catalog.schemas import ResourceCreate
from shujiao.cli import app as cli_app
from shujiao.commands import SYSTEM
from shujiao.config import CryptoSettings
from shujiao.crypto import service as keys
from shujiao.crypto import vault
from shujiao.crypto.aead import TAG_SIZE
from shujiao.db import unit_of_work, utcnow
from shujiao.delivery import service as delivery
from tests.api import assert_error, market_with_one_product
from tests.factories import CSV_BYTES, ensure_keys, make_dataset, make_member, make_operator
from tests.test_cli import cli_env  # noqa: F401  (fixture)

DISTINCTIVE_CELL = "贵州数智科技有限公司".encode()
runner = CliRunner()


def _big_csv(rows: int = 40_000) -> bytes:
    """About 1.2 MB: several vault chunks."""
    lines = ["企业名称,行业,信用评分"] + [f"贵州测试企业{i}有限公司,软件,{500 + i % 400}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _content(session_factory, settings, storage, dataset_id: int) -> bytes:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        dataset = session.get(Dataset, dataset_id)
        return b"".join(catalog.dataset_content(session, settings=settings, storage=storage, dataset=dataset))


def _datasets(session_factory) -> list[Dataset]:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        return list(session.scalars(select(Dataset).order_by(Dataset.id)))


def _events(session_factory, action: str) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def _paid_order_link(client, session_factory):  # type: ignore[no-untyped-def]
    market = market_with_one_product(client, session_factory)
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    url = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer).json()["download_url"]
    return market, order_id, url


def test_upload_is_sealed_on_disk_and_the_download_is_the_original(client, session_factory, storage):
    market, order_id, url = _paid_order_link(client, session_factory)
    [dataset] = _datasets(session_factory)
    on_disk = storage.local_path(dataset.storage_key).read_bytes()
    assert on_disk.startswith(vault.MAGIC) and dataset.cipher == "sm4-gcm" and dataset.wrapped_key
    assert CSV_BYTES not in on_disk and DISTINCTIVE_CELL not in on_disk
    # Nothing else under the storage root: no plaintext copy, no partial file.
    assert [p for p in storage.root.rglob("*") if p.is_file()] == [storage.local_path(dataset.storage_key)]

    response = client.get(url, headers=market.buyer)
    assert response.status_code == 200, response.text
    assert response.content == CSV_BYTES
    assert response.headers["content-disposition"] == 'attachment; filename="data.csv"'
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-length"] == str(len(CSV_BYTES))
    assert response.headers["x-content-sha256"] == dataset.sha256
    assert client.get(f"/api/v1/orders/{order_id}", headers=market.buyer).json()["status"] == "delivered"


def test_many_chunks_round_trip_and_the_fingerprint_is_of_the_plaintext(session_factory, settings, storage):
    import hashlib

    provider = make_member(session_factory, make_operator(session_factory))
    content = _big_csv()
    assert len(content) > 3 * vault.CHUNK_SIZE
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings, content=content)
    [dataset] = _datasets(session_factory)
    assert dataset.sha256 == hashlib.sha256(content).hexdigest() and dataset.size_bytes == len(content)
    assert dataset.row_count == 40_000
    assert b"\xe8\xb4\xb5\xe5\xb7\x9e\xe6\xb5\x8b\xe8\xaf\x95" not in storage.local_path(dataset.storage_key).read_bytes()
    assert _content(session_factory, settings, storage, dataset_id) == content


def _flip(path, _other) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(path.read_bytes())
    data[vault.HEADER_SIZE + 3] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path, _other) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(path.read_bytes()[:-TAG_SIZE])


def _swap(path, other) -> None:  # type: ignore[no-untyped-def]
    # The other dataset holds the very same plaintext; its chunk is still refused in this file.
    path.write_bytes(path.read_bytes()[:vault.HEADER_SIZE] + other.read_bytes()[vault.HEADER_SIZE:])


def _replace(path, other) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(other.read_bytes())


@pytest.mark.parametrize("damage", [_flip, _truncate, _swap, _replace], ids=["flip", "truncate", "swap", "replace"])
def test_a_damaged_file_is_refused_and_no_download_is_recorded(client, session_factory, settings, storage, damage):
    market, order_id, url = _paid_order_link(client, session_factory)
    [dataset] = _datasets(session_factory)
    make_dataset(session_factory, storage, market.seller_handle, settings=settings)
    other = _datasets(session_factory)[1]
    damage(storage.local_path(dataset.storage_key), storage.local_path(other.storage_key))

    assert_error(client.get(url, headers=market.buyer), 503, "dataset_damaged")
    assert client.get(f"/api/v1/orders/{order_id}", headers=market.buyer).json()["status"] == "paid"
    with unit_of_work(session_factory) as session:
        assert delivery.downloads_of(session, market.buyer_handle.actor, order_id=order_id) == []
    assert _events(session_factory, "delivery.download") == 0
    # The undamaged dataset still reads.
    assert _content(session_factory, settings, storage, other.id) == CSV_BYTES


def test_a_missing_file_is_refused_too(client, session_factory, storage):
    market, order_id, url = _paid_order_link(client, session_factory)
    [dataset] = _datasets(session_factory)
    storage.delete(dataset.storage_key)
    assert_error(client.get(url, headers=market.buyer), 503, "file_unavailable")
    assert _events(session_factory, "delivery.download") == 0


def test_damage_past_the_first_chunk_ends_the_stream(session_factory, settings, storage):
    """Known limit: only the first chunk is checked before a delivery is recorded; damage further in
    is found as the stream reaches it, and the buyer gets fewer bytes than Content-Length says."""
    provider = make_member(session_factory, make_operator(session_factory))
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings, content=_big_csv())
    path = storage.local_path(_datasets(session_factory)[0].storage_key)
    data = bytearray(path.read_bytes())
    data[vault.HEADER_SIZE + 2 * (vault.CHUNK_SIZE + TAG_SIZE) + 5] ^= 0x01  # in the third chunk
    path.write_bytes(bytes(data))
    with unit_of_work(session_factory) as session:
        chunks = catalog.dataset_content(session, settings=settings, storage=storage,
                                         dataset=session.get(Dataset, dataset_id))
    got = [next(chunks), next(chunks)]
    assert len(b"".join(got)) == 2 * vault.CHUNK_SIZE
    with pytest.raises(vault.VaultDamaged, match="chunk 2"):
        next(chunks)


def test_master_key_rotation_keeps_old_datasets_readable(session_factory, settings, storage):
    provider = make_member(session_factory, make_operator(session_factory))
    _, before = make_dataset(session_factory, storage, provider, settings=settings)
    with unit_of_work(session_factory) as session:
        old_master = keys.master_key(session, settings).id
        keys.rotate(session, SYSTEM, settings=settings, purpose="master", algorithm="sm4-gcm")
    _, after = make_dataset(session_factory, storage, provider, settings=settings, content=b"a,b\n1,2\n")
    first, second = _datasets(session_factory)
    assert first.master_key_id == old_master and second.master_key_id not in (None, old_master)
    assert _content(session_factory, settings, storage, before) == CSV_BYTES
    assert _content(session_factory, settings, storage, after) == b"a,b\n1,2\n"

    # Switching the suite to international: new uploads use AES-256-GCM, old SM4 ones still open.
    international = settings.model_copy(update={"crypto": CryptoSettings(suite="international")})
    ensure_keys(session_factory, international)
    _, aes = make_dataset(session_factory, storage, provider, settings=international)
    assert _datasets(session_factory)[2].cipher == "aes-256-gcm"
    assert _content(session_factory, international, storage, aes) == CSV_BYTES
    assert _content(session_factory, international, storage, before) == CSV_BYTES


def _plaintext_dataset(session_factory, storage, provider, content: bytes = CSV_BYTES):  # type: ignore[no-untyped-def]
    """A dataset stored the way uploads were before the vault: the plaintext file, cipher NULL."""
    with unit_of_work(session_factory) as session:
        resource = catalog.create_resource(session, provider.actor, data=ResourceCreate(
            name="旧数据", description="", domain="信用", grade="general", sensitivity=2))
        stored = storage.save(io.BytesIO(content), prefix=f"datasets/{provider.member_id}", suffix=".csv",
                              max_bytes=10**8)
        dataset = Dataset(resource_id=resource.id, member_id=provider.member_id, filename="old.csv",
                          file_format="csv", storage_key=stored.key, size_bytes=stored.size_bytes,
                          sha256=stored.sha256, row_count=2, columns_json=json.dumps([]), uploaded_at=utcnow())
        session.add(dataset)
        session.flush()
        return dataset.id, stored.key


def test_encrypt_existing_converts_plaintext_datasets_once(cli_env, session_factory, settings, storage):  # noqa: F811
    provider = make_member(session_factory, make_operator(session_factory))
    ensure_keys(session_factory, settings)
    big = _big_csv(20_000)
    old_id, old_key = _plaintext_dataset(session_factory, storage, provider)
    big_id, big_key = _plaintext_dataset(session_factory, storage, provider, big)
    _, new_id = make_dataset(session_factory, storage, provider, settings=settings)  # already sealed
    # Before the conversion, plaintext datasets are still served.
    assert _content(session_factory, settings, storage, old_id) == CSV_BYTES
    # A run that stopped before committing left a sealed file behind; it is simply overwritten.
    storage.local_path(big_key + vault.SEALED_SUFFIX).write_bytes(b"half-written")

    result = runner.invoke(cli_app, ["vault", "encrypt-existing"])
    assert result.exit_code == 0, result.output
    assert "encrypted 2, already encrypted 0, failed 0" in result.output
    rows = {d.id: d for d in _datasets(session_factory)}
    for dataset_id, key, content in ((old_id, old_key, CSV_BYTES), (big_id, big_key, big)):
        row = rows[dataset_id]
        assert row.cipher == "sm4-gcm" and row.storage_key == key + vault.SEALED_SUFFIX
        assert not storage.local_path(key).exists()
        sealed = storage.local_path(row.storage_key).read_bytes()
        assert sealed.startswith(vault.MAGIC) and content[:200] not in sealed and DISTINCTIVE_CELL not in sealed
        assert _content(session_factory, settings, storage, dataset_id) == content
    assert _events(session_factory, "catalog.dataset.encrypt") == 2

    files = {p: p.read_bytes() for p in storage.root.rglob("*") if p.is_file()}
    assert len(files) == 3 and _content(session_factory, settings, storage, new_id) == CSV_BYTES
    again = runner.invoke(cli_app, ["vault", "encrypt-existing"])
    assert again.exit_code == 0 and "all datasets are encrypted" in again.output
    assert {p: p.read_bytes() for p in storage.root.rglob("*") if p.is_file()} == files
    assert _events(session_factory, "catalog.dataset.encrypt") == 2

    # A run that committed but stopped before deleting the plaintext: the next run deletes it.
    storage.local_path(old_key).write_bytes(CSV_BYTES)
    cleanup = runner.invoke(cli_app, ["vault", "encrypt-existing"])
    assert cleanup.exit_code == 0 and f"removed leftover plaintext {old_key}" in cleanup.output
    assert not storage.local_path(old_key).exists()
    assert _content(session_factory, settings, storage, old_id) == CSV_BYTES


def test_encrypt_existing_refuses_a_file_that_does_not_match_its_fingerprint(cli_env, session_factory, settings,  # noqa: F811
                                                                            storage):
    provider = make_member(session_factory, make_operator(session_factory))
    ensure_keys(session_factory, settings)
    bad_id, bad_key = _plaintext_dataset(session_factory, storage, provider)
    good_id, _ = _plaintext_dataset(session_factory, storage, provider)
    storage.local_path(bad_key).write_bytes(CSV_BYTES + b"tampered,row,1\n")

    result = runner.invoke(cli_app, ["vault", "encrypt-existing"])
    assert result.exit_code == 1
    assert "encrypted 1, already encrypted 0, failed 1" in result.output and f"dataset {bad_id}" in result.output
    rows = {d.id: d for d in _datasets(session_factory)}
    assert rows[bad_id].cipher is None and rows[bad_id].storage_key == bad_key and rows[good_id].cipher
    assert storage.local_path(bad_key).exists() and not storage.local_path(bad_key + vault.SEALED_SUFFIX).exists()
    assert _events(session_factory, "catalog.dataset.encrypt") == 1


def test_encrypt_is_for_the_operator_only(session_factory, settings, storage):
    provider = make_member(session_factory, make_operator(session_factory))
    ensure_keys(session_factory, settings)
    dataset_id, _ = _plaintext_dataset(session_factory, storage, provider)
    from shujiao.errors import PermissionDenied

    with pytest.raises(PermissionDenied), unit_of_work(session_factory) as session:
        catalog.encrypt_dataset(session, provider.actor, settings=settings, storage=storage, dataset_id=dataset_id)
    assert _datasets(session_factory)[0].cipher is None
