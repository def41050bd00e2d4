"""``shujiao valuation income|cost|market``: a valuation report from an inputs file (JSON or YAML)
and options, printed as tables. Income and cost need no database; the market method takes its
comparables from the file, or with ``--database`` also from the exchange's settled trades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from shujiao.cli_support import transaction
from shujiao.commands import SYSTEM
from shujiao.money import format_fen
from shujiao.valuation import report as reports
from shujiao.valuation import service
from shujiao.valuation.schemas import InputsDocument, MarketInputs, ValuationInputs

valuation_app = typer.Typer(help="Data asset valuation (数据资产评估): income, cost and market methods",
                            no_args_is_help=True)

InputsFile = typer.Argument(None, help="inputs as JSON or YAML (the fields of the method; see docs)")
AsJson = typer.Option(False, "--json", help="print the whole report as JSON instead of tables")


def _fail(zh: str, en: str) -> typer.Exit:
    typer.secho(f"错误 / error: {zh} / {en}", fg="red", err=True)
    return typer.Exit(1)


def _read(path: Path | None) -> Any:
    if path is None:
        return {}
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _fail("无法读取输入文件", f"cannot read {path}: {exc}") from exc


def _mapping(path: Path | None) -> dict[str, Any]:
    data = _read(path) or {}
    if not isinstance(data, dict):
        raise _fail("输入文件须为键值结构", f"{path} must hold a mapping of inputs")
    return data


def _validated(method: str, data: dict[str, Any], options: dict[str, Any]) -> ValuationInputs:
    data = {**data, **{k: v for k, v in options.items() if v not in (None, [])}, "method": method}
    try:
        return InputsDocument.model_validate({"inputs": data}).inputs
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"][2:]) or "inputs"
            typer.secho(f"  {where}: {error['msg']}", fg="red", err=True)
        raise _fail("输入有误", "invalid inputs") from exc


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console = Console(width=140)
    zh, en = result["method_label"]
    console.print(f"[bold]{zh} {en}[/bold]  {result['formula']}")
    if "variant" in result:
        console.print(f"{' '.join(result['variant_label'])}: {result['variant_formula']}")
    console.print(f"依据 source: {result['source']}")
    middle, show = result["intermediates"], reports.shown
    if result["method"] == "income":
        console.print(_table("逐年折现 yearly discounting", ["年 t", "收益 R_t", "扣减 deduction", "收益额 F_t",
                                                       "折现系数 1/(1+i)^t", "现值 PV"],
                             [[str(y["year"]), show(y["income"]), show(y["deduction"]), show(y["attributable"]),
                               show(y["discount_factor"], 6), show(y["present_value"])] for y in middle["years"]]))
    elif result["method"] == "cost":
        rows = [[" ".join(i["label"]), show(i["amount"])] for i in middle["items"]]
        rows += [["Σ 成本 cost", show(middle["cost_before_profit"])],
                 [f"合理利润 profit ({show(middle['profit_rate'], 4)})", show(middle["profit"])],
                 ["相关税费 taxes", show(middle["taxes"])], ["重置成本 TC", show(middle["replacement_cost"])]]
        rows += [[f"系数 {f['name']}", show(f["value"], 6)] for f in middle["factors"]]
        rows += [["价值调整系数 k", show(middle["adjustment_factor"], 6)]]
        console.print(_table("重置成本与调整系数 replacement cost and adjustment", ["项目 item", "金额/系数"], rows))
    else:
        console.print(_table("可比案例 comparables", ["案例 reference", "价格 price", "质量 q", "供求 s", "期日 d",
                                                  "容量 v", "其他 o", "合计系数", "调整后 adjusted"],
                             [[c["reference"], show(c["price"]), *(show(c[k], 6) for k in (
                                 "quality", "supply_demand", "date", "volume", "other", "combined_factor")),
                               show(c["adjusted_price"])] for c in middle["comparables"]]))
    console.print(f"[bold]评估值 value: {format_fen(result['value']['fen'])}[/bold]  ({result['value']['fen']} 分 fen)")
    console.print(_table("敏感性分析 sensitivity", ["输入 input", "变动 change", "评估值 value", "差额 difference"],
                         [[" ".join(r["label"]), r["change_pct"], format_fen(r["value"]["fen"]),
                           ("+" if r["difference_fen"] > 0 else "") + format_fen(r["difference_fen"])]
                          for r in result["sensitivity"]]))


@valuation_app.command("income")
def income(
    inputs_file: Path = InputsFile,
    variant: str = typer.Option(None, help="direct | share | excess | incremental"),
    income: list[str] = typer.Option([], "--income", help="R_t in yuan, one per year (repeat the option)"),
    discount_rate: str = typer.Option(None, help="i, e.g. 0.1"),
    remaining_life: int = typer.Option(None, help="n, the remaining economic life in years"),
    share_rate: str = typer.Option(None, help="K for the share variant"),
    mid_year: bool = typer.Option(None, "--mid-year/--end-of-year", help="discount at t − ½"),
    as_json: bool = AsJson,
) -> None:
    """收益法 income method: P = Σ F_t / (1+i)^t."""
    inputs = _validated("income", _mapping(inputs_file), {
        "variant": variant, "income": income, "discount_rate": discount_rate, "remaining_life": remaining_life,
        "share_rate": share_rate, "mid_year": mid_year})
    _print(reports.income_report(inputs), as_json)  # type: ignore[arg-type]


@valuation_app.command("cost")
def cost(
    inputs_file: Path = InputsFile,
    quality_score: str = typer.Option(None, help="q, 0–100"),
    depreciation_rate: str = typer.Option(None, help="δ, e.g. 0.1"),
    profit_rate: str = typer.Option(None, help="r, the reasonable profit on cost"),
    as_json: bool = AsJson,
) -> None:
    """成本法 cost method: P = TC × k."""
    inputs = _validated("cost", _mapping(inputs_file), {
        "quality_score": quality_score, "depreciation_rate": depreciation_rate, "profit_rate": profit_rate})
    if inputs.quality_report_id is not None:  # type: ignore[union-attr]
        raise _fail("命令行的成本法不读取交易中心的质量评价报告，请填写 quality_score（或通过 API/页面按报告估值）",
                    "the cost method here does not read the exchange's quality reports; give quality_score "
                    "(or value by report through the API or the pages)")
    _print(reports.cost_report(inputs, quality_score=inputs.quality_score), as_json)  # type: ignore[arg-type]


@valuation_app.command("market")
def market(
    inputs_file: Path = InputsFile,
    comparables: Path = typer.Option(None, help="a JSON/YAML list of comparables, added to the file's"),
    quality_score: str = typer.Option(None, help="the subject's quality score, 0–100"),
    database: bool = typer.Option(False, "--database",
                                  help="read the exchange's settled trades (order_id comparables)"),
    latest: int = typer.Option(0, min=0, max=50,
                               help="with --database: add the latest N settled trades as comparables"),
    domain: str = typer.Option(None, help="with --latest: only trades of products in this domain (所属领域)"),
    as_json: bool = AsJson,
) -> None:
    """市场法 market method: the mean of comparable prices × their adjustment factors."""
    data = _mapping(inputs_file)
    extra = _read(comparables) if comparables else []
    if not isinstance(extra, list):
        raise _fail("可比案例文件须为列表", f"{comparables} must hold a list of comparables")
    listed = [*(data.get("comparables") or []), *extra]
    if latest and not database:
        raise _fail("--latest 需要 --database", "--latest needs --database")
    if not database:
        if any(isinstance(c, dict) and c.get("order_id") is not None for c in listed):
            raise _fail("按订单号引用成交案例需要 --database", "comparables by order_id need --database")
        inputs = _validated("market", data, {"comparables": listed, "quality_score": quality_score})
        _print(reports.market_report(inputs, quality_score=inputs.quality_score, trades={}),  # type: ignore[arg-type]
               as_json)
        return
    with transaction() as session:
        if latest:
            named = {c.get("order_id") for c in listed if isinstance(c, dict)}
            trades = service.comparable_trades(session, domain=domain, limit=latest)
            listed += [{"order_id": t.order_id} for t in trades if t.order_id not in named]
        inputs = _validated("market", data, {"comparables": listed, "quality_score": quality_score})
        assert isinstance(inputs, MarketInputs)
        result = service.compute(session, SYSTEM, inputs)
    _print(result, as_json)


@valuation_app.command("comparables")
def list_comparables(
    domain: str = typer.Option(None, help="only trades of products in this domain (所属领域)"),
    limit: int = typer.Option(20, min=1, max=500),
) -> None:
    """The exchange's settled trades that a market valuation may use (成交案例)."""
    with transaction() as session:
        trades = service.comparable_trades(session, domain=domain, limit=limit)
    Console(width=140).print(_table("成交案例 settled trades", ["订单 order", "价格 price", "结算 settled", "产品 product",
                                                          "领域 domain", "行数 rows"],
                                    [[str(t.order_id), format_fen(t.price_fen),
                                      t.settled_at.date().isoformat() if t.settled_at else "", t.title, t.domain,
                                      str(t.rows or "")] for t in trades]))
