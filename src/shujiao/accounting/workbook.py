"""The disclosure as an Excel workbook (openpyxl): the intangible and inventory tables of
暂行规定 三、(二), the asset register and the amortization schedules, headed in Chinese.

Amounts are written in yuan as exact decimals (``Decimal(fen) / 100``), never floats.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from shujiao.accounting import core
from shujiao.accounting.schemas import ACQUISITIONS, CLASSIFICATIONS

MONEY = "#,##0.00"
BOLD = Font(bold=True)
SHEETS = ("无形资产披露", "存货披露", "资产卡片", "摊销表")


def yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def _table_sheet(sheet: Worksheet, table: core.Table, member_name: str, rnd: core.RnD | None) -> None:
    title = "数据资源无形资产" if table.classification == "intangible" else "数据资源存货"
    sheet.append([f"{member_name} {title}（{table.start.isoformat()} 至 {table.end.isoformat()}）"])
    sheet["A1"].font = BOLD
    sheet.append(["依据：《企业数据资源相关会计处理暂行规定》（财会〔2023〕11号）三、（二）；金额单位：人民币元"])
    labels = core.COLUMN_LABELS[table.classification]
    sheet.append(["项目", *(labels[c][0] for c in core.COLUMNS)])
    for cell in sheet[3]:
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True)
    for row in core.table_rows(table):
        indent = "    " * row.level if row.level > 1 else ""
        values = [yuan(row.figures[c]) for c in core.COLUMNS] if row.figures is not None else []
        sheet.append([indent + row.label_zh, *values])
        if row.figures is None:
            sheet.cell(sheet.max_row, 1).font = BOLD
        for cell in sheet[sheet.max_row][1:]:
            cell.number_format = MONEY
    if rnd is not None:
        sheet.append([])
        sheet.append(["数据资源研究开发支出（三、（二）1（6））"])
        sheet.cell(sheet.max_row, 1).font = BOLD
        for label, fen in (("计入当期损益的研究阶段支出", rnd.expensed_fen),
                           ("本期资本化的开发阶段支出", rnd.capitalised_fen),
                           ("期末开发支出（其中：数据资源）", rnd.in_progress_fen)):
            sheet.append([label, yuan(fen)])
            sheet.cell(sheet.max_row, 2).number_format = MONEY
    sheet.column_dimensions["A"].width = 34
    for letter in "BCDE":
        sheet.column_dimensions[letter].width = 22


def disclosure_workbook(result: core.Disclosure, assets: list[core.Asset], member_name: str,
                        end: dt.date) -> bytes:
    book = Workbook()
    intangible = book.active
    intangible.title = SHEETS[0]
    _table_sheet(intangible, result.intangible, member_name, result.rnd)
    _table_sheet(book.create_sheet(SHEETS[1]), result.inventory, member_name, None)

    register = book.create_sheet(SHEETS[2])
    register.append(["资产编号", "名称", "分类", "取得方式", "使用寿命（月）", "达到预定用途日期", "终止确认日期",
                     f"账面原值（{end.isoformat()}）", "累计摊销", "减值准备", "账面价值"])
    for asset in assets:
        left = core.balances(core.movements(asset), end)
        ended = core.derecognized_on(asset)
        register.append([
            asset.id, asset.name, CLASSIFICATIONS[asset.classification][0], ACQUISITIONS[asset.acquisition][0],
            asset.useful_life_months if asset.useful_life_months is not None else
            ("不确定" if asset.classification == "intangible" else "—"),
            asset.ready_for_use_on, ended,
            yuan(left["cost"]), yuan(left["amortization"]), yuan(left["impairment"]),
            yuan(left["cost"] - left["amortization"] - left["impairment"]),
        ])
        for cell in register[register.max_row][7:]:
            cell.number_format = MONEY
        for cell in register[register.max_row][5:7]:
            cell.number_format = "yyyy-mm-dd"

    schedule = book.create_sheet(SHEETS[3])
    schedule.append(["资产编号", "名称", "月份", "本月摊销", "累计摊销", "月末账面价值"])
    for asset in assets:
        for line in core.amortization_schedule(asset):
            schedule.append([asset.id, asset.name, f"{line.month.year}-{line.month.month:02d}",
                             yuan(line.amount_fen), yuan(line.accumulated_fen), yuan(line.carrying_fen)])
            for cell in schedule[schedule.max_row][3:]:
                cell.number_format = MONEY
    for sheet in (register, schedule):
        for cell in sheet[1]:
            cell.font = BOLD
        sheet.column_dimensions["B"].width = 30
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

