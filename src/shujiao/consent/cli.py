"""``shujiao consent person-key``: the person key of phones or ID numbers, which only the exchange
(holding the secret) can compute — how a provider's file gets its person key column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import typer

from shujiao.cli_support import settings
from shujiao.consent import service

consent_app = typer.Typer(help="Personal data authorization (个人数据授权)", no_args_is_help=True)


@consent_app.command("person-key")
def person_key(value: str = typer.Argument("", help="one phone or ID number (or use --csv)"),
               kind: str = typer.Option("phone", help="phone or id_number"),
               csv: Path | None = typer.Option(None, exists=True, dir_okay=False, help="a CSV file to convert"),
               column: str = typer.Option("phone", help="with --csv: the column to replace by its person key"),
               out: Path | None = typer.Option(None, dir_okay=False, help="with --csv: where to write the result"),
               key_column: str = typer.Option("person_key", help="with --csv: the name of the new column")) -> None:
    """Print the person key of VALUE, or write a copy of --csv with --column replaced by person keys."""
    if kind not in ("phone", "id_number"):
        raise typer.BadParameter("kind is phone or id_number")
    current = settings()
    if csv is None:
        typer.echo(service.person_key(current, kind=kind, value=value))  # type: ignore[arg-type]
        return
    if out is None:
        raise typer.BadParameter("--out is needed with --csv")
    table = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(column_types={column: pa.string()}))
    keys = [service.person_key(current, kind=kind, value=v) for v in table.column(column).to_pylist()]  # type: ignore[arg-type]
    index = table.column_names.index(column)
    pacsv.write_csv(table.remove_column(index).add_column(index, key_column, pa.array(keys, pa.string())), out)
    typer.echo(f"{len(keys)} rows: {column} → {key_column} (plaintext column removed) in {out}")
