from __future__ import annotations

import datetime as dt

import typer
from rich.progress import track

from shujiao.cli_support import settings, transaction
from shujiao.commands import SYSTEM
from shujiao.db import utcnow
from shujiao.market import service

market_app = typer.Typer(help="Orders and settlement (交易与结算)", no_args_is_help=True)


@market_app.command("settle-due")
def settle_due() -> None:
    """Settle every delivered order whose acceptance period has passed (run it from cron or a timer)."""
    config = settings().market
    after = dt.timedelta(days=config.auto_settle_days)
    now = utcnow()
    with transaction() as session:
        due = service.orders_due_for_settlement(session, now=now, after=after)
    settled = 0
    # One transaction per order: a failure leaves the others settled and this one untouched.
    for order_id in track(due, description="自动结算 settling", disable=not due):
        with transaction() as session:
            service.auto_settle_order(session, SYSTEM, order_id=order_id, fee_rate_bp=config.fee_rate_bp,
                                      now=now, after=after)
        settled += 1
    typer.echo(f"settled {settled} order(s)")
