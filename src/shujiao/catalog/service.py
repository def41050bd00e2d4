"""Catalog commands and queries. Resources and datasets are private to their member."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import BinaryIO

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog.models import Dataset, Resource
from shujiao.catalog.schemas import ResourceCreate
from shujiao.catalog.storage import FileStorage
from shujiao.commands import Actor, command, query, require_member
from shujiao.db import utcnow
from shujiao.errors import InvalidInput, not_found

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


def _safe_filename(filename: str) -> str:
    name = PurePath(filename or "").name.strip()
    name = re.sub(r"[\x00-\x1f/\\]", "_", name)[:200]
    return name or "dataset"


@command("catalog.dataset.upload")
def add_dataset(
    session: Session, actor: Actor, *, storage: FileStorage, resource_id: int, filename: str,
    stream: BinaryIO, max_bytes: int,
) -> Dataset:
    """Store an uploaded CSV or Parquet file and describe it (rows, columns, SHA-256)."""
    require_member(actor)
    # The operator is not a member, so get_resource only ever returns the actor's own resource here.
    resource = get_resource(session, actor, resource_id=resource_id)
    filename = _safe_filename(filename)
    suffix = PurePath(filename).suffix.lower()
    file_format = FORMATS.get(suffix)
    if file_format is None:
        raise InvalidInput("仅支持 CSV 或 Parquet 文件", "only .csv and .parquet files are accepted",
                           code="unsupported_format")
    stored = storage.save(stream, prefix=f"datasets/{actor.member_id}", suffix=suffix, max_bytes=max_bytes)
    try:
        if stored.size_bytes == 0:
            raise InvalidInput("文件为空", "the file is empty", code="empty_file")
        rows, columns = _inspect(str(storage.local_path(stored.key)), file_format)
        dataset = Dataset(
            resource_id=resource.id, member_id=resource.member_id, filename=filename,
            file_format=file_format, storage_key=stored.key, size_bytes=stored.size_bytes,
            sha256=stored.sha256, row_count=rows, columns_json=json.dumps(columns, ensure_ascii=False),
            uploaded_at=utcnow(),
        )
        session.add(dataset)
        session.flush()
        audit.record(session, subject_type="dataset", subject_id=dataset.id, change={
            "resource_id": resource.id, "filename": filename, "format": file_format,
            "size_bytes": stored.size_bytes, "sha256": stored.sha256, "rows": rows, "columns": columns,
        })
    except BaseException:
        # The row never committed, so the bytes must not stay behind either.
        storage.delete(stored.key)
        raise
    return dataset


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
