from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from shujiao.cli_support import progress_bar, settings, transaction
from shujiao.commands import SYSTEM
from shujiao.crypto import service as crypto
from shujiao.crypto.hashing import hash_named
from shujiao.crypto.suites import note_key
from shujiao.tlog import offline, service
from shujiao.tlog.verify import Report, SignedCheckpoint, verify

log_app = typer.Typer(help="The tamper-evident record (存证日志): checkpoints, proofs, verification",
                      no_args_is_help=True)


@log_app.command("checkpoint")
def publish(force: bool = typer.Option(False, help="sign even if the newest checkpoint is recent")) -> None:
    """Sign a checkpoint of the log as it is now (if it grew)."""
    with transaction() as session:
        checkpoint = service.publish_checkpoint(session, SYSTEM, settings=settings(), force=force)
        typer.echo(checkpoint.note, nl=False)


@log_app.command("publish")
def publish_forever(every: float = typer.Option(None, help="seconds; default: the checkpoint interval setting")) -> None:
    """Keep publishing: a new checkpoint whenever the log grew, at least every interval."""
    interval = every or settings().log.checkpoint_interval_seconds
    while True:
        with transaction() as session:
            checkpoint = service.publish_checkpoint(session, SYSTEM, settings=settings())
            typer.echo(f"{checkpoint.created_at:%Y-%m-%d %H:%M:%S} size {checkpoint.tree_size}")
        time.sleep(interval)


def _print(report: Report, seconds: float) -> None:
    rate = report.leaves / seconds if seconds > 0 else 0
    typer.echo(f"records checked      {report.leaves}  ({rate:,.0f}/s)")
    typer.echo(f"stored nodes matched {report.nodes_compared}")
    typer.echo(f"checkpoints verified {report.checkpoints_verified}")
    if report.ok:
        typer.secho("log intact 日志完整", fg="green")
        return
    if report.first_bad_leaf is not None:
        typer.secho(f"FIRST BAD RECORD 首个不符记录: {report.first_bad_leaf}", fg="red", err=True)
    for problem in report.problems:
        typer.secho(f"  {problem}", fg="red", err=True)
    raise typer.Exit(1)


@log_app.command("verify")
def verify_log(
    export: Path = typer.Option(None, help="check an export directory instead of the database"),
    keys: Path = typer.Option(None, help="public keys JSON (GET /api/v1/keys); default: the export's or the database's"),
) -> None:
    """Recompute every leaf and node from the records; check every checkpoint's signature and root."""
    started = time.perf_counter()
    if export is not None:
        exported = offline.Export.open(export)
        known = offline.keys_from_document(json.loads(keys.read_text()) if keys else exported.meta)
        with progress_bar() as bar:
            task = bar.add_task("verifying 校验", total=exported.meta["tree_size"])
            report = verify(hash_named(exported.meta["hash"]), exported.leaves(), stored_nodes=exported.nodes(),
                            checkpoints=exported.checkpoints(), keys=known, origin=exported.meta["origin"],
                            progress=lambda n: bar.update(task, completed=n))
        _print(report, time.perf_counter() - started)
        return
    with transaction() as session:
        current = service.head(session)
        known = (offline.keys_from_document(json.loads(keys.read_text())) if keys
                 else [note_key(k) for k in service.signing_keys(session)])
        signed = [SignedCheckpoint(c.tree_size, c.note) for c in service.checkpoints(session)]
        with progress_bar() as bar:
            task = bar.add_task("verifying 校验", total=current.tree_size)
            report = verify(current.hash, service.iter_leaves(session), stored_nodes=service.iter_nodes(session),
                            checkpoints=signed, keys=known, origin=settings().log.origin,
                            progress=lambda n: bar.update(task, completed=n))
    _print(report, time.perf_counter() - started)


@log_app.command("export")
def export_log(directory: Path) -> None:
    """Write the log for an auditor: records, nodes, checkpoints and public keys (see shujiao.tlog.offline)."""
    directory.mkdir(parents=True, exist_ok=True)
    with transaction() as session:
        current = service.head(session)
        meta = {"origin": settings().log.origin, "hash": current.hash.name, "tree_size": current.tree_size,
                "keys": crypto.public_key_entries(session)}
        with progress_bar() as bar:
            task = bar.add_task("exporting 导出", total=current.tree_size)
            with (directory / "leaves.jsonl").open("wb") as out:
                for index, data in service.iter_leaves(session):
                    if index >= current.tree_size:
                        break
                    out.write(data + b"\n")
                    if not index & 0x3FFF:
                        bar.update(task, completed=index)
            with (directory / "nodes.bin").open("wb") as out:
                for node_id, value in service.iter_nodes(session):
                    if node_id >> 6 >= current.tree_size:
                        break
                    out.write(offline.NODE_RECORD.pack(node_id, value))
            bar.update(task, completed=current.tree_size)
        with (directory / "checkpoints.jsonl").open("w") as out:
            for c in service.checkpoints(session):
                if c.tree_size <= current.tree_size:
                    out.write(json.dumps({"tree_size": c.tree_size, "note": c.note}) + "\n")
    (directory / "log.json").write_text(json.dumps(meta, indent=2))
    typer.echo(f"exported {current.tree_size} records to {directory}")


@log_app.command("verify-proof")
def verify_proof(
    bundle: Path,
    keys: Path = typer.Option(None, help="public keys JSON (GET /api/v1/keys)"),
    key: Path = typer.Option(None, help="or one public key PEM ..."),
    key_name: str = typer.Option("shujiao.local", help="... and its key name"),
) -> None:
    """Check one record, its inclusion proof and the signed checkpoint, offline."""
    if keys is None and key is None:
        raise typer.BadParameter("give --keys or --key")
    known = offline.keys_from_document(json.loads(keys.read_text())) if keys else offline.keys_from_pem(
        key.read_text(), key_name)
    result = offline.verify_bundle(json.loads(bundle.read_text()), known)
    if result.ok:
        typer.secho(f"verified 已验证: {result.message}", fg="green")
        return
    typer.secho(f"NOT VERIFIED 未通过: {result.message}", fg="red", err=True)
    raise typer.Exit(1)
