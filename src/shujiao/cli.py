"""The ``shujiao`` command line: one Typer root, each domain adds its own sub-app."""

from __future__ import annotations

from pathlib import Path

import typer

from shujiao.accounting.cli import accounting_app
from shujiao.catalog.cli import vault_app
from shujiao.cli_support import settings
from shujiao.consent.cli import consent_app
from shujiao.crypto.cli import keys_app
from shujiao.fingerprint.cli import fingerprint_app
from shujiao.gateway.cli import gateway_app
from shujiao.ledger.cli import ledger_app
from shujiao.market.cli import market_app
from shujiao.members.cli import operator_app
from shujiao.quality.cli import quality_app
from shujiao.sandbox.cli import sandbox_app
from shujiao.registry.cli import cert_app
from shujiao.sharing.cli import sharing_app
from shujiao.tlog.cli import log_app
from shujiao.valuation.cli import valuation_app

app = typer.Typer(help="Shujiao 数交 — data element exchange platform", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
db_app = typer.Typer(help="Database schema (Alembic migrations)", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(operator_app, name="operator")
app.add_typer(ledger_app, name="ledger")
app.add_typer(market_app, name="market")
app.add_typer(keys_app, name="keys")
app.add_typer(log_app, name="log")
app.add_typer(vault_app, name="vault")
app.add_typer(cert_app, name="cert")
app.add_typer(quality_app, name="quality")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(valuation_app, name="valuation")
app.add_typer(fingerprint_app, name="fingerprint")
app.add_typer(accounting_app, name="accounting")
app.add_typer(gateway_app, name="gateway")
app.add_typer(sharing_app, name="sharing")
app.add_typer(consent_app, name="consent")


def alembic_config(database_url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    root = Path(__file__).resolve().parents[2]
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from alembic import command

    config = settings()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(config.database_url), revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    from alembic import command

    command.downgrade(alembic_config(settings().database_url), revision)


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the exchange (pages and API). Several workers need PostgreSQL."""
    import uvicorn

    if workers > 1 and settings().database_url.startswith("sqlite"):
        raise typer.BadParameter("SQLite serves one process; use PostgreSQL for several workers")
    uvicorn.run("shujiao.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True)


@app.command("demo")
def demo() -> None:
    """Load demo members, data, products and money (safe to run twice)."""
    from shujiao.demo import load_demo

    load_demo(settings())
