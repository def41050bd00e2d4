from __future__ import annotations

import typer

from shujiao.cli_support import transaction
from shujiao.commands import SYSTEM
from shujiao.ledger import service
from shujiao.money import format_fen as fen

ledger_app = typer.Typer(help="The double-entry ledger (复式记账)", no_args_is_help=True)


@ledger_app.command("check")
def check() -> None:
    """Recompute every balance from the postings; exit 1 if anything does not add up."""
    with transaction() as session:
        result = service.check(session, SYSTEM)
    typer.echo(f"entries            {result.entries}")
    typer.echo(f"postings           {result.postings}")
    typer.echo(f"bank money         {fen(result.bank_fen)}")
    typer.echo(f"owed to members    {fen(result.owed_to_members_fen)}")
    typer.echo(f"fee income         {fen(result.fees_fen)}")
    typer.echo(f"deposits           {fen(result.deposits_fen)}")
    typer.echo(f"withdrawals        {fen(result.withdrawals_fen)}")
    if result.balanced:
        typer.secho("balanced 平衡", fg="green")
        return
    for problem in result.problems:
        typer.secho(f"NOT BALANCED 不平衡: {problem}", fg="red", err=True)
    raise typer.Exit(1)
