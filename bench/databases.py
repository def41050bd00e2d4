"""A fresh, migrated database for one bench run: a SQLite file, or a PostgreSQL database created
for the run and dropped by the returned function."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from shujiao.cli import alembic_config

PG_ADMIN = os.environ.get("SHUJIAO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_database(backend: str, suite: str, workdir: Path, label: str) -> tuple[str, Callable[[], None]]:
    from alembic import command

    os.environ["SHUJIAO_CRYPTO__SUITE"] = suite  # the migration starts the log with the suite's hash
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'{label}-{uuid.uuid4().hex[:6]}.db'}"
        command.upgrade(alembic_config(url), "head")
        return url, lambda: None
    name = f"shujiao_bench_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        command.upgrade(alembic_config(url), "head")
    except BaseException:
        drop()
        raise
    return url, drop
