"""Where dataset bytes live. A protocol so that an object store can replace the local disk."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO, Protocol

from shujiao.errors import PayloadTooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    key: str
    size_bytes: int
    sha256: str


def safe_filename(filename: str) -> str:
    """The last part of an uploaded file's name, without control characters or separators."""
    name = PurePath(filename or "").name.strip()
    name = re.sub(r"[\x00-\x1f/\\]", "_", name)[:200]
    return name or "file"


def new_key(*, prefix: str, suffix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex}{suffix}"


def copy_measured(stream: BinaryIO, out: BinaryIO, *, max_bytes: int) -> tuple[int, str]:
    """Copy ``stream`` into ``out``; returns the size and SHA-256. Refuses more than ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge("文件过大", f"file larger than {max_bytes} bytes")
        digest.update(chunk)
        out.write(chunk)
    return size, digest.hexdigest()


class FileStorage(Protocol):
    def save(self, stream: BinaryIO, *, prefix: str, suffix: str, max_bytes: int) -> StoredFile: ...
    def writing(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def local_path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...


class LocalFileStorage:
    """Files under a root folder, written to a temporary name and renamed once complete."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, stream: BinaryIO, *, prefix: str, suffix: str, max_bytes: int) -> StoredFile:
        key = new_key(prefix=prefix, suffix=suffix)
        with self.writing(key) as out:
            size, sha256 = copy_measured(stream, out, max_bytes=max_bytes)
        return StoredFile(key=key, size_bytes=size, sha256=sha256)

    @contextmanager
    def writing(self, key: str) -> Iterator[BinaryIO]:
        """A stream for the file at ``key``: written under a temporary name, synced and renamed when
        the block ends, so the file is either absent or complete; removed if the block raises."""
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def local_path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the storage root")
        return path

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)
