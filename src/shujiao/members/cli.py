from __future__ import annotations

import typer

from shujiao.cli_support import transaction
from shujiao.commands import SYSTEM
from shujiao.members import service

operator_app = typer.Typer(help="Exchange operator accounts (交易中心运营方)", no_args_is_help=True)


@operator_app.command("create")
def create(
    username: str = typer.Option(..., help="login name"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create an operator user (the first one bootstraps the exchange)."""
    with transaction() as session:
        user = service.create_operator(session, SYSTEM, username=username, password=password)
    typer.echo(f"operator {user.username} created (user id {user.id})")
