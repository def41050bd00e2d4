"""``shujiao sharing prune-cache``: delete cached buyer copies that no contract may read any more."""

from __future__ import annotations

import typer

from shujiao.cli_support import settings, transaction
from shujiao.commands import SYSTEM
from shujiao.sharing import service

sharing_app = typer.Typer(help="Delta Sharing server (数据共享协议)", no_args_is_help=True)


@sharing_app.command("prune-cache")
def prune_cache() -> None:
    """Delete the plaintext Parquet copies of contracts that ended, were revoked or lost their profile."""
    with transaction() as session:
        removed = service.prune_cache(session, SYSTEM, settings=settings())
    for name in removed:
        typer.echo(f"removed {name}")
    typer.echo(f"{len(removed)} cached copies removed 已删除 {len(removed)} 个缓存副本")
