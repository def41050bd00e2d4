"""Catalog commands and queries. Resources and datasets are private to their member."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO

import duckdb
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog.models import Dataset, Resource
from shujiao.catalog.schemas import ResourceCreate
from shujiao.catalog.storage import CHUNK, FileStorage, copy_measured, new_key, safe_filename
from shujiao.commands import Actor, command, query, require_member, require_system
from shujiao.config import Settings
from shujiao.crypto import service as crypto
from shujiao.crypto import vault
from shujiao.crypto.aead import Aead, DecryptionFailed
from shujiao.db import utcnow
from shujiao.errors import Conflict, DomainError, InvalidInput, not_found

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".parquet": "parquet"}


@command("catalog.resource.create")
def create_resource(session: Session, actor: Actor, *, data: ResourceCreate) -> Resource:
    require_member(actor)
    resource = Resource(member_id=actor.member_id, created_at=utcnow(), **data.model_dump())
    session.add(resource)
    session.flush()
    audit.record(session, subject_type="resource", subject_id=resource.id, change=data.model_dump())
    return resource


@query
def get_resource(session: Session, actor: Actor, *, resource_id: int) -> Resource:
    """The actor's own resource (the operator sees all); anyone else gets 404."""
    resource = session.get(Resource, resource_id)
    if resource is None or not (actor.is_operator or resource.member_id == actor.member_id):
        raise not_found("数据资源", "resource")
    return resource


@query
def resource_by_id(session: Session, *, resource_id: int) -> Resource | None:
    """A resource for another domain's rule (its grade); not for showing to a user."""
    return session.get(Resource, resource_id)


@query
def list_resources(session: Session, actor: Actor) -> Sequence[Resource]:
    return session.scalars(
        select(Resource).where(Resource.member_id == actor.member_id).order_by(Resource.id.desc())
    ).all()


def _inspect(path: str, file_format: str) -> tuple[int, list[dict[str, str]]]:
    """Row count and schema of a file, read by DuckDB; a file DuckDB cannot read is refused."""
    reader = "read_csv" if file_format == "csv" else "read_parquet"
    connection = duckdb.connect()
    try:
        columns = [
            {"name": row[0], "type": row[1]}
            for row in connection.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [path]).fetchall()
        ]
        rows = connection.execute(f"SELECT count(*) FROM {reader}(?)", [path]).fetchone()[0]
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # DuckDB names the file it read; the storage path is ours, not the uploader's.
        first_line = first_line.replace(path, "<upload>")
        raise InvalidInput(f"无法读取该{file_format.upper()}文件", f"cannot read this {file_format} file: {first_line}",
                           code="unreadable_file") from exc
    finally:
        connection.close()
    if not columns:
        raise InvalidInput("文件没有任何列", "the file has no columns", code="unreadable_file")
    return int(rows), columns


class DatasetDamaged(DomainError):
    """The stored file does not decrypt: damaged, truncated, swapped with another, or its key is wrong."""
    status_code = 503
    code = "dataset_damaged"


class DatasetFileMissing(DomainError):
    status_code = 503
    code = "file_unavailable"


def _damaged() -> DatasetDamaged:
    return DatasetDamaged("数据文件已损坏，无法解密，请联系交易中心",
                          "the data file is damaged and cannot be decrypted; contact the exchange")


def _seal(session: Session, settings: Settings, source: BinaryIO, *, storage: FileStorage,
          storage_key: str) -> tuple[str, str, bytes]:
    """Seal ``source`` into the vault at ``storage_key`` with a new data key; returns the cipher, the
    master key's id and the data key wrapped by it (bound to the storage key)."""
    master = crypto.master_key(session, settings)
    data_key = Aead.generate_key(master.aead.algorithm)  # type: ignore[arg-type]
    context = storage_key.encode()
    with storage.writing(storage_key) as out:
        vault.encrypt_stream(source, out, aead=Aead(master.aead.algorithm, data_key), context=context)
    return master.aead.algorithm, master.id, master.wrap(data_key, context=context)


@command("catalog.dataset.upload")
def add_dataset(
    session: Session, actor: Actor, *, settings: Settings, storage: FileStorage, resource_id: int, filename: str,
    stream: BinaryIO, max_bytes: int,
) -> Dataset:
    """Describe an uploaded CSV or Parquet file (rows, columns, SHA-256) and keep it sealed in the vault.

    The plaintext is written only to a private temporary folder, for DuckDB to read, and is gone
    when this returns; storage receives the sealed file alone."""
    require_member(actor)
    # The operator is not a member, so get_resource only ever returns the actor's own resource here.
    resource = get_resource(session, actor, resource_id=resource_id)
    filename = safe_filename(filename)
    suffix = PurePath(filename).suffix.lower()
    file_format = FORMATS.get(suffix)
    if file_format is None:
        raise InvalidInput("仅支持 CSV 或 Parquet 文件", "only .csv and .parquet files are accepted",
                           code="unsupported_format")
    storage_key = new_key(prefix=f"datasets/{actor.member_id}", suffix=suffix + vault.SEALED_SUFFIX)
    with tempfile.TemporaryDirectory(prefix="shujiao-upload-") as folder:
        plaintext = Path(folder) / f"upload{suffix}"
        with plaintext.open("wb") as out:
            size_bytes, sha256 = copy_measured(stream, out, max_bytes=max_bytes)
        if size_bytes == 0:
            raise InvalidInput("文件为空", "the file is empty", code="empty_file")
        rows, columns = _inspect(str(plaintext), file_format)
        try:
            with plaintext.open("rb") as source:
                cipher, master_key_id, wrapped_key = _seal(session, settings, source, storage=storage,
                                                           storage_key=storage_key)
            dataset = Dataset(
                resource_id=resource.id, member_id=resource.member_id, filename=filename,
                file_format=file_format, storage_key=storage_key, size_bytes=size_bytes,
                sha256=sha256, row_count=rows, columns_json=json.dumps(columns, ensure_ascii=False),
                uploaded_at=utcnow(), cipher=cipher, master_key_id=master_key_id, wrapped_key=wrapped_key,
            )
            session.add(dataset)
            session.flush()
            audit.record(session, subject_type="dataset", subject_id=dataset.id, change={
                "resource_id": resource.id, "filename": filename, "format": file_format,
                "size_bytes": size_bytes, "sha256": sha256, "rows": rows, "columns": columns,
                "cipher": cipher, "master_key_id": master_key_id,
            })
        except BaseException:
            # The row never committed, so the sealed bytes must not stay behind either.
            storage.delete(storage_key)
            raise
    return dataset


def _plaintext_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(vault.CHUNK_SIZE):
            yield chunk


def _sealed_chunks(path: Path, aead: Aead, context: bytes, expected_size: int) -> Iterator[bytes]:
    size = 0
    with path.open("rb") as source:
        for chunk in vault.decrypt_chunks(source, aead=aead, context=context):
            size += len(chunk)
            yield chunk
    if size != expected_size:  # cannot happen for an intact file; a last guard for the buyer
        raise vault.VaultDamaged(f"decrypted {size} bytes, the dataset has {expected_size}")


def _data_key(session: Session, settings: Settings, dataset: Dataset) -> Aead:
    master = crypto.master_key(session, settings, key_id=dataset.master_key_id)
    try:
        data_key = master.unwrap(dataset.wrapped_key or b"", context=dataset.storage_key.encode())
        return Aead(dataset.cipher, data_key)  # type: ignore[arg-type]
    except (DecryptionFailed, ValueError) as exc:
        logger.error("dataset %s: data key does not unwrap: %s", dataset.id, exc)
        raise _damaged() from exc


@query
def dataset_content(session: Session, *, settings: Settings, storage: FileStorage,
                    dataset: Dataset) -> Iterator[bytes]:
    """The dataset's plaintext as a stream of chunks, decrypted as it is read.

    The first chunk is decrypted before this returns, so a file that is missing, not ours, or
    damaged at its start is refused here (before a caller records a delivery). Damage further in
    is found when the reader gets there, and ends the stream with :class:`vault.VaultDamaged`."""
    path = storage.local_path(dataset.storage_key)
    if not path.is_file():
        raise DatasetFileMissing("数据文件暂不可用，请联系交易中心", "the data file is unavailable; contact the exchange")
    if dataset.cipher is None:
        chunks = _plaintext_chunks(path)
    else:
        chunks = _sealed_chunks(path, _data_key(session, settings, dataset), dataset.storage_key.encode(),
                                dataset.size_bytes)
    try:
        first = next(chunks, b"")
    except vault.VaultDamaged as exc:
        logger.error("dataset %s (%s) is damaged: %s", dataset.id, dataset.storage_key, exc)
        raise _damaged() from exc
    except FileNotFoundError as exc:
        raise DatasetFileMissing("数据文件暂不可用，请联系交易中心",
                                 "the data file is unavailable; contact the exchange") from exc
    return _resumed(first, chunks, dataset.id)


def _resumed(first: bytes, rest: Iterator[bytes], dataset_id: int) -> Iterator[bytes]:
    try:
        if first:
            yield first
        yield from rest
    except vault.VaultDamaged as exc:
        logger.error("dataset %s is damaged past its first chunk; the download was cut short: %s", dataset_id, exc)
        raise


@query
def plaintext_dataset_ids(session: Session) -> list[int]:
    """Datasets still stored in plaintext (uploaded before the vault), oldest first."""
    return list(session.scalars(select(Dataset.id).where(Dataset.cipher.is_(None)).order_by(Dataset.id)))


@query
def leftover_plaintext_keys(session: Session, *, storage: FileStorage) -> list[str]:
    """Plaintext files left next to their sealed copy by an encryption run that stopped between its
    commit and deleting the plaintext. The database no longer points at them."""
    keys = session.scalars(select(Dataset.storage_key).where(
        Dataset.cipher.is_not(None), Dataset.storage_key.like(f"%{vault.SEALED_SUFFIX}")))
    candidates = [plain for key in keys
                  if storage.local_path(plain := key.removesuffix(vault.SEALED_SUFFIX)).is_file()]
    # Never one that a dataset still points at.
    referenced = set(session.scalars(select(Dataset.storage_key).where(Dataset.storage_key.in_(candidates))))
    return [key for key in candidates if key not in referenced]


class AlreadyEncrypted(Conflict):
    code = "already_encrypted"


@dataclass(frozen=True)
class Encrypted:
    dataset_id: int
    plaintext_key: str  # delete once the transaction has committed
    sealed_key: str


@command("catalog.dataset.encrypt")
def encrypt_dataset(session: Session, actor: Actor, *, settings: Settings, storage: FileStorage,
                    dataset_id: int) -> Encrypted:
    """Seal a dataset stored in plaintext (uploaded before the vault) next to its plaintext file.

    The row is claimed first (UPDATE … WHERE cipher IS NULL), so a concurrent run waits and then
    finds nothing to do. The sealed file takes the plaintext key plus ``.vault``; a run that stopped
    before committing left at most that file, which the next run overwrites. The caller deletes the
    plaintext after committing; :func:`leftover_plaintext_keys` finds it if that never happened."""
    require_system(actor)
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise not_found("数据集", "dataset")
    if dataset.cipher is not None:
        raise AlreadyEncrypted("数据集已加密", "the dataset is already encrypted")
    plaintext_key = dataset.storage_key
    sealed_key = plaintext_key + vault.SEALED_SUFFIX
    source = storage.local_path(plaintext_key)
    if not source.is_file():
        raise DatasetFileMissing("数据文件缺失，无法加密", f"dataset {dataset_id}: the file {plaintext_key} is missing")
    # Check the file is still the one that was uploaded before sealing it as such.
    digest = hashlib.sha256()
    with source.open("rb") as plain:
        while chunk := plain.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != dataset.sha256:
        raise DatasetDamaged("数据文件与登记的指纹不符，未加密",
                             f"dataset {dataset_id}: the file does not match its recorded SHA-256; not sealed")
    master = crypto.master_key(session, settings)
    data_key = Aead.generate_key(master.aead.algorithm)  # type: ignore[arg-type]
    claimed = session.execute(
        update(Dataset).where(Dataset.id == dataset_id, Dataset.cipher.is_(None)).values(
            storage_key=sealed_key, cipher=master.aead.algorithm, master_key_id=master.id,
            wrapped_key=master.wrap(data_key, context=sealed_key.encode()))
    )
    if claimed.rowcount != 1:
        raise AlreadyEncrypted("数据集已加密", "the dataset is already encrypted")
    aead = Aead(master.aead.algorithm, data_key)
    try:
        with source.open("rb") as plain, storage.writing(sealed_key) as out:
            vault.encrypt_stream(plain, out, aead=aead, context=sealed_key.encode())
        # Read the sealed file back before the plaintext can go.
        check = hashlib.sha256()
        with storage.local_path(sealed_key).open("rb") as sealed:
            for chunk in vault.decrypt_chunks(sealed, aead=aead, context=sealed_key.encode()):
                check.update(chunk)
        if check.hexdigest() != dataset.sha256:
            raise DatasetDamaged("加密后的文件读回不一致，未加密",
                                 f"dataset {dataset_id}: the sealed file does not read back; not sealed")
    except BaseException:
        storage.delete(sealed_key)
        raise
    session.refresh(dataset)
    audit.record(session, subject_type="dataset", subject_id=dataset_id, change={
        "encrypted": {"cipher": dataset.cipher, "master_key_id": dataset.master_key_id,
                      "from_key": plaintext_key, "to_key": sealed_key}})
    return Encrypted(dataset_id, plaintext_key, sealed_key)


@query
def get_dataset(session: Session, actor: Actor, *, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not (actor.is_operator or dataset.member_id == actor.member_id):
        raise not_found("数据集", "dataset")
    return dataset


@query
def list_datasets(session: Session, actor: Actor, *, resource_id: int) -> Sequence[Dataset]:
    get_resource(session, actor, resource_id=resource_id)
    return session.scalars(
        select(Dataset).where(Dataset.resource_id == resource_id).order_by(Dataset.id.desc())
    ).all()


@query
def dataset_for_delivery(session: Session, *, dataset_id: int) -> Dataset:
    """The dataset behind a paid order; the delivery domain has already checked the buyer."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise not_found("数据集", "dataset")
    return dataset


@query
def describe_for_listing(session: Session, *, resource_id: int, dataset_id: int) -> dict[str, object]:
    """What a listing discloses of its resource and dataset (frozen into each order)."""
    resource = session.get(Resource, resource_id)
    dataset = session.get(Dataset, dataset_id)
    if resource is None or dataset is None:
        raise not_found("数据资源", "resource")
    return {
        "resource": {"name": resource.name, "domain": resource.domain, "grade": resource.grade,
                     "sensitivity": resource.sensitivity},
        "dataset": {"filename": dataset.filename, "format": dataset.file_format, "rows": dataset.row_count,
                    "size_bytes": dataset.size_bytes, "sha256": dataset.sha256,
                    "columns": json.loads(dataset.columns_json)},
    }


@query
def datasets_of_resource(session: Session, *, resource_id: int) -> Sequence[Dataset]:
    """A resource's datasets, newest first, for another domain that has checked who may see them
    (the public data catalog shows an open resource's datasets to everyone)."""
    return session.scalars(
        select(Dataset).where(Dataset.resource_id == resource_id).order_by(Dataset.id.desc())
    ).all()
