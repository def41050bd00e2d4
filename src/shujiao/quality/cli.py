"""``shujiao quality profile FILE --rules rules.yaml``: profile a file and print its GB/T 36344 scores."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shujiao.catalog.storage import LocalFileStorage
from shujiao.cli_support import (
    KEYS_OPTION_HELP, check_bundle_file, print_log_and_pinning, session_factory, settings,
    transaction,
)
from shujiao.errors import DomainError
from shujiao.quality import jobs
from shujiao.quality.models import Evaluation
from shujiao.quality.profile import STAGES, FileFormat, profile_file
from shujiao.quality.rules import RuleSet, parse_rules
from shujiao.quality.scoring import QualityScore, score
from shujiao.quality.signature import verify_bundle

quality_app = typer.Typer(help="Data quality evaluation (数据质量评价, GB/T 36344-2018)", no_args_is_help=True)

FORMAT_BY_SUFFIX: dict[str, FileFormat] = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
                                          ".xlsx": "xlsx"}
STAGE_LABELS = {"read": "读取 reading", "convert": "转换 converting Excel", "aggregate": "统计与校验 counting, checking",
                "repeats": "重复与唯一 repeats, uniqueness", "verify": "核对与示例 verifying, examples",
                "done": "完成 done"}


def _fail(exc: DomainError) -> typer.Exit:
    typer.secho(f"错误 / error [{exc.code}]: {exc.zh} / {exc.en}", fg="red", err=True)
    return typer.Exit(1)


def score_table(result: QualityScore) -> Table:
    table = Table(title=f"数据质量评分 Quality score (GB/T 36344-2018): {result.overall}  等级 grade {result.grade}")
    for header, justify in (("指标 indicator", "left"), ("权重 weight", "right"), ("A", "right"), ("B", "right"),
                            ("公式 formula", "left"), ("得分 score", "right")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for indicator in result.to_dict()["indicators"]:
        table.add_row(f"[bold]{indicator['name_zh']} {indicator['name_en']}[/bold]", indicator["weight"], "", "", "",
                      f"[bold]{indicator['score'] or 'n/a'}[/bold]")
        for sub in indicator["sub"]:
            table.add_row(f"  {sub['name_zh']} {sub['name_en']}", sub["weight"], str(sub["A"]), str(sub["B"]),
                          sub["formula"], sub["score"] or "n/a 不适用")
    return table


def _worst_table(result: QualityScore) -> Table | None:
    if not result.worst_fields:
        return None
    table = Table(title="问题最多的字段 Worst fields")
    for header in ("字段 column", "规则 rule", "失败 failed", "检查 checked", "示例 examples (row: value)"):
        table.add_column(header)
    for field in result.worst_fields:
        for rule in field["rules"]:
            shown = "; ".join(f"{e['row']}: {e['value']}" for e in rule["examples"][:3])
            table.add_row(field["column"], f"{rule['kind']} {rule['detail']}", str(rule["failed"]),
                          str(rule["checked"]), shown)
    return table


def _read_rules(rules: Path | None) -> RuleSet:
    if rules is None:
        return RuleSet()
    try:
        text = rules.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.secho(f"错误 / error: 无法读取规则文件 cannot read the rules file {rules}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    try:
        return parse_rules(text)
    except DomainError as exc:
        raise _fail(exc) from exc


@quality_app.command("profile")
def profile(
    file: Path = typer.Argument(..., help="CSV (UTF-8, header row), Parquet or Excel .xlsx (first sheet)"),
    rules: Path = typer.Option(None, "--rules", help="rules YAML/JSON (see shujiao.quality.rules)"),
    file_format: str = typer.Option(None, "--format", help="csv | parquet | xlsx (default: from the suffix)"),
    as_json: bool = typer.Option(False, "--json", help="print the profile and score as JSON instead of tables"),
    out: Path = typer.Option(None, "--out", help="also write the profile and score as JSON to this file"),
    now: dt.datetime = typer.Option(None, "--now", help="the time timeliness is measured at (default: now)"),
) -> None:
    """Profile FILE under the rules and print its quality scores after GB/T 36344-2018."""
    chosen = file_format or FORMAT_BY_SUFFIX.get(file.suffix.lower())
    if chosen not in ("csv", "parquet", "xlsx"):
        typer.secho(f"错误 / error: 无法判断文件格式 cannot tell the format of {file.name}; pass --format", fg="red",
                    err=True)
        raise typer.Exit(2)
    rule_set = _read_rules(rules)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=as_json) as bar:
        task = bar.add_task(STAGE_LABELS["read"], total=len(STAGES))

        def report(stage: str, done: int, total: int) -> None:
            if stage == "convert":  # rows of the Excel sheet converted so far
                bar.update(task, description=f"{STAGE_LABELS['convert']} {done}/{total}")
            else:
                bar.update(task, description=STAGE_LABELS.get(stage, stage), completed=done)

        try:
            result_profile = profile_file(file, file_format=chosen, rules=rule_set,  # type: ignore[arg-type]
                                          now=now or dt.datetime.now(), progress=report)
            result = score(result_profile, weights=rule_set.weights)
        except DomainError as exc:
            raise _fail(exc) from exc
    document: dict[str, Any] = {"profile": result_profile.to_dict(), "score": result.to_dict()}
    if out:
        out.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    stdout = Console(width=160)
    stdout.print(f"{file.name}: {result_profile.rows} rows 行, {len(result_profile.columns)} columns 列, "
                 f"{result_profile.seconds} s")
    for note in result_profile.notes:
        stdout.print(f"[yellow]{note}[/yellow]")
    stdout.print(score_table(result))
    worst = _worst_table(result)
    if worst is not None:
        stdout.print(worst)


@quality_app.command("verify")
def verify(bundle: Path, keys: Path = typer.Option(None, help=KEYS_OPTION_HELP)) -> None:
    """Check an assessor's signature bundle offline (GET /api/v1/quality/reports/{id}/signature/bundle):
    the exchange's signature, the log proof and the checkpoint."""
    check = check_bundle_file(bundle, keys, verify_bundle)
    statement = check.statement
    typer.secho(f"verified 已验证: quality report {statement['report']['id']} scored {statement['report']['overall']} "
                f"({statement['report']['grade']}), signed by {statement['assessor']['name']} "
                f"({statement['assessor']['credit_code']}) at {statement['at']}", fg="green")
    typer.echo(f"report hash {statement['report']['hash']}; dataset sha256 {statement['report']['dataset_sha256']}")
    typer.echo(f"opinion 意见: {statement['opinion']}")
    print_log_and_pinning(check)


@quality_app.command("work")
def work(once: bool = typer.Option(False, "--once", help="run what is queued now, then exit"),
         interval: int = typer.Option(5, min=1, help="seconds between looks at the queue")) -> None:
    """Run queued evaluations of large datasets (评价任务), as the server processes also do; any
    number of workers may run at once on PostgreSQL."""
    config = settings()
    config.storage_root.mkdir(parents=True, exist_ok=True)
    storage = LocalFileStorage(config.storage_root)
    console = Console(stderr=True)
    total = 0
    while True:
        with Progress(TextColumn("{task.description:<44}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as bar:
            tasks: dict[int, Any] = {}

            def show(evaluation_id: int, stage: str, done: int, stage_total: int) -> None:
                if evaluation_id not in tasks:
                    tasks[evaluation_id] = bar.add_task("", total=len(STAGES))
                label = f"#{evaluation_id} {STAGE_LABELS.get(stage, stage)}"
                if stage == "convert":
                    bar.update(tasks[evaluation_id], description=f"{label} {done}/{stage_total}")
                else:
                    bar.update(tasks[evaluation_id], description=label, completed=done)

            ran = jobs.run_pending(session_factory(), config, storage, limit=1_000_000 if once else 1,
                                   progress=show)
        total += len(ran)
        for evaluation_id in ran:
            with transaction() as session:
                job = session.get(Evaluation, evaluation_id)
                assert job is not None
                if job.status == "done":
                    typer.secho(f"evaluation #{job.id} of dataset #{job.dataset_id}: done 已完成, report #{job.report_id}",
                                fg="green")
                else:
                    typer.secho(f"evaluation #{job.id} of dataset #{job.dataset_id}: {job.status} "
                                f"[{job.error_code}] {job.error_zh} / {job.error_en}", fg="red")
        if once:
            typer.echo(f"ran {total} evaluation(s)")
            return
        if not ran:
            time.sleep(interval)
