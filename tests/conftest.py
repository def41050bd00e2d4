"""Every test that touches the database runs twice: on SQLite and on PostgreSQL.

PostgreSQL is not optional: if it cannot be reached, the PostgreSQL half of the suite errors,
and the session fails if no PostgreSQL test passed (see ``pytest_sessionfinish``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shujiao.all_models import metadata
from shujiao.catalog.storage import LocalFileStorage
from shujiao.cli import alembic_config
from shujiao.config import Settings
from shujiao.db import make_engine, make_session_factory

PG_ADMIN_URL = os.environ.get("SHUJIAO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"

_pg_results = {"passed": 0, "failed_or_error": 0, "skipped": 0}


def migrate(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with its production cost takes ~0.2 s a hash here; tests hash hundreds of passwords.
    The algorithm and code path stay the same, only the cost parameters are lowered."""
    from argon2 import PasswordHasher

    from shujiao.members import service as members

    production = members._hasher
    members._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    members._hasher = production


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    name = f"shujiao_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable at {PG_ADMIN_URL}: {exc}")
    url = pg_url(name)
    migrate(url)
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


RESET_EXCHANGE_ACCOUNTS = """
INSERT INTO ledger_account (code, kind, normal_side, member_id, balance_fen, created_at) VALUES
 ('exchange:bank', 'bank', 'debit', NULL, 0, now()),
 ('exchange:fees', 'fees', 'credit', NULL, 0, now())
"""

# The migration starts the log with the suite's hash (SM3 by default); TRUNCATE removed that row.
RESET_LOG_HEAD = """
INSERT INTO log_head (id, hash_name, tree_size, frontier, root, updated_at)
VALUES (1, 'sm3', 0, ''::bytea, decode('1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b', 'hex'), now())
"""


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as connection:
        # TRUNCATE does not fire the append-only row triggers; it is how tests start clean.
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        connection.exec_driver_sql(RESET_EXCHANGE_ACCOUNTS)
        connection.exec_driver_sql(RESET_LOG_HEAD)
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "shujiao.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(environment="test", database_url=database_url, data_dir=tmp_path / "data",
                    secret_key=TEST_SECRET)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    from shujiao.app import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def storage(settings: Settings) -> LocalFileStorage:
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    return LocalFileStorage(settings.storage_root)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "[postgresql" not in report.nodeid and "-postgresql" not in report.nodeid:
        return
    if report.when == "call" and report.passed:
        _pg_results["passed"] += 1
    elif report.failed:
        _pg_results["failed_or_error"] += 1
    elif report.skipped:
        _pg_results["skipped"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    collected_pg = [item for item in session.items if "postgresql" in item.nodeid]
    if collected_pg and _pg_results["passed"] == 0:
        print("\nERROR: no PostgreSQL test passed — the PostgreSQL half of the suite did not run.")
        session.exitstatus = 1
    if _pg_results["skipped"]:
        print(f"\nERROR: {_pg_results['skipped']} PostgreSQL test(s) were skipped; PostgreSQL tests must run.")
        session.exitstatus = 1
