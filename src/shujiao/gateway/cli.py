"""``shujiao gateway serve`` runs the API gateway alone; ``shujiao gateway bill`` bills the ended
periods of per-call and tiered contracts (run it from cron, e.g. hourly)."""

from __future__ import annotations

import datetime as dt

import typer

from shujiao.cli_support import settings, transaction
from shujiao.commands import SYSTEM
from shujiao.gateway import service

gateway_app = typer.Typer(help="API gateway (API 网关): serve it, bill ended periods", no_args_is_help=True)


@gateway_app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8001, workers: int = 1) -> None:
    """Serve /gateway/{contract}/{path} alone (uvicorn, uvloop, httptools). Several workers share
    quota and rate limits through the database, so they need PostgreSQL."""
    import uvicorn

    if workers > 1 and settings().database_url.startswith("sqlite"):
        raise typer.BadParameter("SQLite serves one process; use PostgreSQL for several workers")
    uvicorn.run("shujiao.gateway.asgi:app_from_environment", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")


@gateway_app.command("bill")
def bill(now: dt.datetime = typer.Option(None, help="bill as of this UTC time (default: now)")) -> None:
    """Bill every ended, unbilled period: statements (对账单), ledger entries, unpaid ones suspended."""
    when = now.replace(tzinfo=dt.UTC) if now is not None and now.tzinfo is None else now
    with transaction() as session:
        statements = service.bill_ended_periods(session, SYSTEM, settings=settings(), now=when)
        for s in statements:
            typer.echo(f"statement {s.id}: contract {s.order_id} {s.period_start:%Y-%m-%d}–{s.period_end:%Y-%m-%d} "
                       f"{s.calls_billable} calls {s.amount_fen} fen {s.status}")
    typer.echo(f"{len(statements)} statement(s)")
