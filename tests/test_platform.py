"""Settings, migrations and the API description."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from pydantic import ValidationError

from shujiao.cli import alembic_config
from shujiao.config import DEVELOPMENT_SECRET_KEY, Settings


def test_default_secret_is_refused_outside_development(tmp_path):
    with pytest.raises(ValidationError, match="SHUJIAO_SECRET_KEY"):
        Settings(environment="production", data_dir=tmp_path)
    with pytest.raises(ValidationError):
        Settings(environment="production", data_dir=tmp_path, secret_key="short")
    with pytest.raises(ValidationError):
        Settings(environment="test", data_dir=tmp_path)
    assert Settings(environment="development", data_dir=tmp_path).secret_key == DEVELOPMENT_SECRET_KEY
    good = Settings(environment="production", data_dir=tmp_path, secret_key="x" * 40)
    assert good.database_url == f"sqlite:///{tmp_path.as_posix()}/shujiao.db"


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SHUJIAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHUJIAO_MARKET__FEE_RATE_BP", "250")
    monkeypatch.setenv("SHUJIAO_DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert settings.market.fee_rate_bp == 250 and settings.database_url == "postgresql://u@h/db"


def test_migrations_go_down_and_up_again(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        assert "member" not in sa.inspect(connection).get_table_names()
    command.upgrade(config, "head")
    with engine.connect() as connection:
        codes = connection.execute(sa.text("SELECT code FROM ledger_account ORDER BY code")).scalars().all()
    engine.dispose()
    assert codes == ["exchange:bank", "exchange:fees"]


def test_the_models_match_the_migrations(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shujiao.all_models import metadata

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ["/api/v1/auth/token", "/api/v1/members", "/api/v1/members/{member_id}/approve",
                 "/api/v1/resources/{resource_id}/datasets", "/api/v1/products/{product_id}/review",
                 "/api/v1/accounts/{member_id}/deposits", "/api/v1/orders/{order_id}/delivery",
                 "/api/v1/ledger/check", "/api/v1/audit/events"]:
        assert path in paths, path
