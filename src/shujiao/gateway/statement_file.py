"""A statement (对账单) as a file both sides download: CSV and Excel, the same rows and numbers."""

from __future__ import annotations

import csv
import io

from shujiao.gateway.schemas import StatementRead


def rows(statement: StatementRead, *, buyer: str, provider: str) -> list[list[object]]:
    """The statement's rows: a header block, then one line per tier. Amounts in fen and yuan."""
    out: list[list[object]] = [
        ["对账单 Statement", statement.id],
        ["合约号 Contract", statement.order_id],
        ["买方 Buyer", buyer],
        ["卖方 Provider", provider],
        ["计费期开始 Period start (UTC)", statement.period_start.isoformat()],
        ["计费期结束 Period end (UTC)", statement.period_end.isoformat()],
        ["调用总数 Calls", statement.calls_total],
        ["计费调用 Billable calls", statement.calls_billable],
        ["金额（分） Amount (fen)", statement.amount_fen],
        ["金额（元） Amount (yuan)", f"{statement.amount_fen / 100:.2f}"],
        ["交易服务费（分） Exchange fee (fen)", statement.fee_fen],
        ["卖方实收（分） Provider receives (fen)", statement.amount_fen - statement.fee_fen],
        ["状态 Status", statement.status],
        ["记账凭证 Ledger entry", statement.ledger_key or ""],
        [],
        ["起 From call", "止 To call", "调用数 Calls", "每千次价格（分） Price per 1,000 (fen)",
         "金额（千分之一分） Amount (1/1000 fen)"],
    ]
    for line in statement.lines:
        out.append([line["from_call"], line["to_call"] if line["to_call"] is not None else "",
                    line["calls"], line["price_per_1000_calls_fen"], line["amount_millifen"]])
    return out


def as_csv(statement: StatementRead, *, buyer: str, provider: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows(statement, buyer=buyer, provider=provider))
    return buffer.getvalue().encode("utf-8-sig")  # with a BOM, so Excel opens the Chinese right


def as_xlsx(statement: StatementRead, *, buyer: str, provider: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "对账单"
    for row in rows(statement, buyer=buyer, provider=provider):
        sheet.append(row)
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 32
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
