"""The data vault's operator commands (数据金库)."""

from __future__ import annotations

import typer

from shujiao.catalog import service
from shujiao.catalog.storage import LocalFileStorage
from shujiao.cli_support import progress_bar, session_factory, settings
from shujiao.commands import SYSTEM
from shujiao.db import unit_of_work
from shujiao.errors import DomainError

vault_app = typer.Typer(help="The data vault (数据金库): datasets encrypted at rest", no_args_is_help=True)


@vault_app.command("encrypt-existing")
def encrypt_existing() -> None:
    """Seal every dataset still stored in plaintext: one transaction and one audit record each.
    Safe to rerun (and to interrupt): what is done stays done, the rest is picked up next time."""
    config = settings()
    storage = LocalFileStorage(config.storage_root)
    factory = session_factory()
    with unit_of_work(factory) as session:
        leftovers = service.leftover_plaintext_keys(session, storage=storage)
        pending = service.plaintext_dataset_ids(session)
    for key in leftovers:
        # A previous run committed the sealed copy but stopped before deleting the plaintext.
        storage.delete(key)
        typer.echo(f"removed leftover plaintext {key}")
    if not pending:
        typer.echo("all datasets are encrypted 所有数据集均已加密")
        return
    encrypted = skipped = 0
    failed: list[str] = []
    with progress_bar() as bar:
        task = bar.add_task("encrypting 加密中", total=len(pending))
        for dataset_id in pending:
            try:
                with unit_of_work(factory) as session:
                    done = service.encrypt_dataset(session, SYSTEM, settings=config, storage=storage,
                                                   dataset_id=dataset_id)
                storage.delete(done.plaintext_key)
                encrypted += 1
            except service.AlreadyEncrypted:
                skipped += 1  # another run got there first
            except DomainError as exc:
                failed.append(f"dataset {dataset_id}: [{exc.code}] {exc.zh} / {exc.en}")
            bar.advance(task)
    typer.echo(f"encrypted {encrypted}, already encrypted {skipped}, failed {len(failed)}")
    for line in failed:
        typer.secho(line, fg="red", err=True)
    if failed:
        raise typer.Exit(1)
