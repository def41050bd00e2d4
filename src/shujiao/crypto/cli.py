from __future__ import annotations

import typer

from shujiao.cli_support import settings, transaction
from shujiao.commands import SYSTEM
from shujiao.crypto import service

keys_app = typer.Typer(help="The exchange's keys (密钥): signing keys and the data vault's master key",
                       no_args_is_help=True)


@keys_app.command("init")
def init() -> None:
    """Create the signing keys (Ed25519, SM2) and the suite's master key, if missing. Safe to rerun."""
    config = settings()
    with transaction() as session:
        created = service.init_keys(session, SYSTEM, settings=config)
        for key in created:
            typer.echo(f"created {key.purpose:8} {key.algorithm:12} {key.id}")
    if not created:
        typer.echo("all keys present")
    typer.echo(f"key files under {config.key_dir}")


@keys_app.command("rotate")
def rotate(purpose: str = typer.Option(..., help="signing | master"),
           algorithm: str = typer.Option(..., help="ed25519 | sm2 | sm4-gcm | aes-256-gcm")) -> None:
    """Retire the active key and make a new one; the old one still verifies and unwraps."""
    with transaction() as session:
        key = service.rotate(session, SYSTEM, settings=settings(), purpose=purpose, algorithm=algorithm)
        typer.echo(f"new {key.purpose} key {key.id}")


@keys_app.command("list")
def list_keys() -> None:
    with transaction() as session:
        for key in service.public_keys(session):
            state = "active" if key.active else f"retired {key.valid_to:%Y-%m-%d}"
            typer.echo(f"{key.id:28} {key.algorithm:8} {key.note_name}/{key.note_key_id:08x} {state}")
