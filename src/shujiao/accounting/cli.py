"""The console for a member's data resource books: the disclosure tables as text or Excel."""

from __future__ import annotations

from pathlib import Path

import typer

from shujiao.accounting import core, service
from shujiao.cli_support import transaction
from shujiao.commands import SYSTEM
from shujiao.members import service as members
from shujiao.money import format_fen

TITLES = {"intangible": "数据资源无形资产 (intangible assets)", "inventory": "数据资源存货 (inventory)"}
accounting_app = typer.Typer(help="Data resource accounting (数据资源入表)", no_args_is_help=True)


@accounting_app.command("disclosure")
def disclosure(
    member: int = typer.Option(..., "--member", help="the member whose books to disclose"),
    year: int = typer.Option(..., "--year", min=2000, max=2200),
    out: Path = typer.Option(None, "--out", "-o", help="write the Excel workbook here (.xlsx)"),
) -> None:
    """The 财会〔2023〕11号 disclosure tables of a member for a year; exits 1 if one does not add up."""
    start, end = service.year_period(year)
    with transaction() as session:
        if not members.member_names(session, {member}):
            typer.secho(f"错误 / error: 会员 {member} 不存在 / no member {member}", fg="red", err=True)
            raise typer.Exit(1)
        result = service.disclosure(session, SYSTEM, start=start, end=end, member_id=member)
        content = service.disclosure_excel(session, SYSTEM, start=start, end=end, member_id=member) if out else b""
    for table in (result.intangible, result.inventory):
        labels = core.COLUMN_LABELS[table.classification]
        typer.echo(f"\n{TITLES[table.classification]} {start} – {end}")
        typer.echo(f"{'':<28}" + "".join(f"{labels[c][1]:>18}" for c in core.COLUMNS))
        for row in core.table_rows(table):
            figures = "".join(f"{format_fen(row.figures[c]):>18}" for c in core.COLUMNS) if row.figures else ""
            typer.echo(f"{'  ' * row.level}{row.label_zh:<{26 - 2 * row.level}}{figures}")
        problems = table.problems()
        if problems:
            for problem in problems:
                typer.secho(f"does not add up 不平: {problem}", fg="red", err=True)
            raise typer.Exit(1)
    typer.echo(f"\nresearch expensed 研究阶段费用化 {format_fen(result.rnd.expensed_fen)}; development capitalised "
               f"开发阶段资本化 {format_fen(result.rnd.capitalised_fen)}; pending assets 待分类 "
               f"{len(result.pending_asset_ids)}")
    if out:
        out.write_bytes(content)
        typer.echo(f"wrote {out}")
