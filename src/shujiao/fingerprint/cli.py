"""``shujiao fingerprint detect leaked.csv --product P``: name the buyer a leaked copy came from."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shujiao.cli_support import settings, transaction
from shujiao.commands import SYSTEM
from shujiao.fingerprint import service

fingerprint_app = typer.Typer(help="Fingerprinted buyer copies (数据指纹)", no_args_is_help=True)


@fingerprint_app.command("detect")
def detect(leaked: Path = typer.Argument(..., exists=True, dir_okay=False, help="the leaked CSV or Parquet file"),
           product: int = typer.Option(..., "--product", min=1, help="the product id"),
           threshold: float | None = typer.Option(None, min=0.0, max=1.0,
                                                  help="name a buyer only below this false-accusation probability"),
           top: int = typer.Option(5, min=1, help="how many buyers to list")) -> None:
    """Score every buyer of the product against the file; name the buyer, or nobody (exit 2)."""
    file_format = "parquet" if leaked.suffix.lower() in (".parquet", ".pq") else "csv"
    with transaction() as session:
        result = service.detect(session, SYSTEM, settings=settings(), product_id=product,
                                content=leaked.read_bytes(), file_format=file_format, threshold=threshold)
    table = Table(title=f"产品 product {product}: {result.rows} 行 rows, {result.marks} 个标记 marks, "
                        f"{result.recovered_bits} 位 bits recovered")
    for header in ("订单 order", "买方 buyer", "相符 matches", "p"):
        table.add_column(header)
    for s in result.scores[:top]:
        table.add_row(str(s.order_id), s.buyer_name, f"{s.matches}/{s.bits}", f"{s.p_value:.3g}")
    Console().print(table)
    if result.named_order_id is None:
        typer.echo(f"none 无：{result.verdict_zh} / {result.verdict_en} (best {result.significance:.3g}, "
                   f"threshold {result.threshold:g})")
        raise typer.Exit(2)
    typer.echo(f"{result.verdict_zh}\n{result.verdict_en}")
