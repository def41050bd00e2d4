"""The arithmetic of data resource accounting (数据资源入表), pure values in integer fen.

Rules after 财政部《企业数据资源相关会计处理暂行规定》(财会〔2023〕11号, in force 2024-01-01) and the
standards it points to:

* 二、2 — a data resource used by the enterprise and recognised as an intangible asset (无形资产) is
  measured under CAS 6 (《企业会计准则第6号——无形资产》) and its application guide. The cost of a
  purchased one is the purchase price, related taxes, the processing that brings it to its intended
  use (desensitisation, cleaning, labelling, integration, analysis, visualisation) and the fees for
  rights verification, quality assessment, registration and settlement, and security management.
  Internal R&D is split: research-phase spending is expensed when incurred (费用化), development-phase
  spending is capitalised (资本化) only when the CAS 6 §9 conditions hold.
* Amortization: straight line over the useful life, residual value zero (data resources rarely have
  a buyer at the end of their life). Following the CAS 6 application guide's practice (当月增加的无形
  资产当月开始摊销，当月减少的无形资产当月不再摊销), amortization starts in the month the asset is
  ready for use (达到预定用途) and stops in the month it is derecognised. Each month takes
  ``remaining base // remaining months`` and the last month takes what is left, so the months add up
  to the cost to the fen. An asset whose useful life cannot be estimated (使用寿命不确定) is not
  amortized.
* Impairment (CAS 8 《资产减值》): an impairment of an intangible asset is never reversed (§17); the
  months after it amortize the lower carrying amount over the remaining life. An impairment is
  measured at the end of its month, after that month's amortization.
* 二、4–6 — a data resource held for sale in the ordinary course of business is inventory (存货,
  CAS 1). Its cost is the purchase cost (price, taxes, fees) plus processing; a sale moves its cost
  out (结转成本); a write-down to net realisable value (存货跌价准备) may be reversed (转回) and is
  released (转销) with the cost it belongs to when that is sold.
* 三、(二) — disclosure: the intangible table by 外购 / 自行开发 / 其他方式取得 with 账面原值,
  累计摊销, 减值准备 and 账面价值, and the inventory table by 外购 / 自行加工 / 其他方式取得 with
  账面原值, 存货跌价准备 and 账面价值; plus R&D spending expensed and capitalised in the period
  (三、(二)1(6)) and the development costs not yet ready for use (开发支出, 三、(一)).

Events are dated; a period's table is built from them (opening + increases − decreases = closing),
so the books are a pure function of the insert-only entries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Classification = Literal["pending", "intangible", "inventory"]
Acquisition = Literal["purchased", "self_developed", "other"]
EntryType = Literal["cost", "research", "development", "impairment", "impairment_reversal", "disposal", "sale"]

ACQUISITIONS: tuple[Acquisition, ...] = ("purchased", "self_developed", "other")
COLUMNS = (*ACQUISITIONS, "total")
DISPOSAL_REASONS = ("disposal", "expired", "other")

MAX_LIFE_MONTHS = 1200


@dataclass(frozen=True)
class Event:
    """One insert-only entry of an asset. ``amount_fen`` is signed: a reversing entry carries the
    negative of the entry it reverses. Disposals carry no amount (they take out the whole balance)."""

    on: dt.date
    type: EntryType
    amount_fen: int = 0
    detail: str = ""  # cost kind, or disposal reason: disposal | expired | other


@dataclass(frozen=True)
class Asset:
    id: int
    classification: Classification
    acquisition: Acquisition
    useful_life_months: int | None
    ready_for_use_on: dt.date | None
    events: tuple[Event, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Movement:
    """One change of one measure of one asset: ``measure`` is cost | amortization | impairment
    (for inventory, impairment is the write-down allowance); ``row`` names the disclosure line."""

    on: dt.date
    measure: str
    amount_fen: int
    row: str


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def index(self) -> int:
        return self.year * 12 + self.month - 1

    @staticmethod
    def of(day: dt.date) -> Month:
        return Month(day.year, day.month)

    @staticmethod
    def at(index: int) -> Month:
        return Month(index // 12, index % 12 + 1)

    @property
    def last_day(self) -> dt.date:
        following = Month.at(self.index + 1)
        return dt.date(following.year, following.month, 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class ScheduleLine:
    month: Month
    amount_fen: int
    accumulated_fen: int
    carrying_fen: int  # cost − accumulated amortization − impairment at the month's end


# --- one asset --------------------------------------------------------------------------------

def derecognized_on(asset: Asset) -> dt.date | None:
    return min((e.on for e in asset.events if e.type == "disposal"), default=None)


def cost_recognized_on(asset: Asset, event: Event) -> dt.date:
    """A self-developed intangible's capitalised spending is 开发支出 (development in progress) until
    the asset is ready for use; it enters the intangible's cost (内部研发) on that day."""
    if (asset.classification == "intangible" and asset.acquisition == "self_developed"
            and asset.ready_for_use_on is not None and event.on < asset.ready_for_use_on):
        return asset.ready_for_use_on
    return event.on


def _capitalised(asset: Asset, event: Event) -> bool:
    return event.type == "cost" or (event.type == "development" and asset.classification == "intangible")


def _in_cost(asset: Asset, event: Event) -> bool:
    """Does this spending sit in the asset's cost (账面原值) yet? Development spending of an asset
    not yet ready for use stays in 开发支出."""
    if not _capitalised(asset, event):
        return False
    return not (asset.classification == "intangible" and asset.acquisition == "self_developed"
                and asset.ready_for_use_on is None)


def amortization_schedule(asset: Asset) -> list[ScheduleLine]:
    """Monthly straight-line amortization of an intangible with a finite life (see the module doc)."""
    if (asset.classification != "intangible" or asset.useful_life_months is None
            or asset.ready_for_use_on is None):
        return []
    first = Month.of(asset.ready_for_use_on).index
    last = first + asset.useful_life_months - 1
    ended = derecognized_on(asset)
    stop = min(last, Month.of(ended).index - 1) if ended else last
    costs = sorted((cost_recognized_on(asset, e), e.amount_fen) for e in asset.events if _in_cost(asset, e))
    impairments = sorted((Month.of(e.on).index, e.amount_fen) for e in asset.events if e.type == "impairment")
    lines: list[ScheduleLine] = []
    accumulated = rate = cost = impaired_before = 0
    next_cost = next_impairment = 0
    basis: int | None = None
    for index in range(first, stop + 1):
        month = Month.at(index)
        end = month.last_day
        while next_cost < len(costs) and costs[next_cost][0] <= end:
            cost += costs[next_cost][1]
            next_cost += 1
        while next_impairment < len(impairments) and impairments[next_impairment][0] < index:
            impaired_before += impairments[next_impairment][1]
            next_impairment += 1
        base = cost - impaired_before
        remaining = base - accumulated
        if base != basis:  # a new cost or an impairment: spread what is left over the months left
            basis = base
            rate = remaining // (last - index + 1)
        amount = remaining if index == last else min(rate, remaining)
        accumulated += amount
        impaired = impaired_before + sum(a for at, a in impairments[next_impairment:] if at == index)
        lines.append(ScheduleLine(month, amount, accumulated, cost - accumulated - impaired))
    return lines


def movements(asset: Asset) -> list[Movement]:
    """Every change of the asset's cost, accumulated amortization and impairment, dated and labelled
    with the disclosure row it belongs to."""
    out: list[Movement] = []
    if asset.classification == "pending":
        return out
    intangible = asset.classification == "intangible"
    ended = derecognized_on(asset)
    increase_row = {"purchased": "purchased", "self_developed": "internal_rd" if intangible else "processed",
                    "other": "other_increase"}[asset.acquisition]
    for event in asset.events:
        if ended is not None and event.on > ended and event.type != "disposal":
            continue
        if _in_cost(asset, event):
            out.append(Movement(cost_recognized_on(asset, event), "cost", event.amount_fen, increase_row))
        elif event.type == "impairment":
            out.append(Movement(event.on, "impairment", event.amount_fen, "provision"))
        elif event.type == "impairment_reversal":
            out.append(Movement(event.on, "impairment", -event.amount_fen, "reversal"))
    for line in amortization_schedule(asset):
        out.append(Movement(line.month.last_day, "amortization", line.amount_fen, "provision"))
    sales = sorted((e for e in asset.events if e.type == "sale" and (ended is None or e.on <= ended)),
                   key=lambda e: e.on)
    for sale in sales:
        before = balances(out, sale.on)
        allowance = before["impairment"]
        # The write-down released with the cost sold, in proportion; all of it with the last unit.
        released = allowance if sale.amount_fen >= before["cost"] else allowance * sale.amount_fen // max(
            before["cost"], 1)
        out.append(Movement(sale.on, "cost", -sale.amount_fen, "sold"))
        if released:
            out.append(Movement(sale.on, "impairment", -released, "written_off"))
    if ended is not None:
        reason = next(e.detail for e in asset.events if e.type == "disposal" and e.on == ended)
        # Inventory has no 处置 line: a disposal that is not an expiry is “其他”, and its write-down
        # goes with the cost (转销).
        rows = {"disposal": "disposed", "expired": "expired"} if intangible else {"expired": "expired"}
        row = rows.get(reason, "other_decrease")
        left = balances(out, ended)
        for measure in ("cost", "amortization", "impairment"):
            if left[measure]:
                line_row = "written_off" if measure == "impairment" and not intangible else row
                out.append(Movement(ended, measure, -left[measure], line_row))
    return out


def balances(lines: Iterable[Movement], at: dt.date) -> dict[str, int]:
    """Each measure's balance at the end of day ``at``."""
    totals = {"cost": 0, "amortization": 0, "impairment": 0}
    for line in lines:
        if line.on <= at:
            totals[line.measure] += line.amount_fen
    return totals


def carrying_fen(asset: Asset, at: dt.date) -> int:
    left = balances(movements(asset), at)
    return left["cost"] - left["amortization"] - left["impairment"]


def development_in_progress_fen(asset: Asset, at: dt.date) -> int:
    """Capitalised development spending of an asset not yet ready for use (开发支出 其中：数据资源)."""
    if asset.classification != "intangible" or asset.acquisition != "self_developed":
        return 0
    if asset.ready_for_use_on is not None and asset.ready_for_use_on <= at:
        return 0
    ended = derecognized_on(asset)
    if ended is not None and ended <= at:
        return 0
    return sum(e.amount_fen for e in asset.events if _capitalised(asset, e) and e.on <= at)


def problems(asset: Asset) -> list[tuple[str, str]]:
    """What makes the asset's entries impossible, as (zh, en) pairs; empty when they are sound.
    The service refuses an entry that would make this list non-empty."""
    found: list[tuple[str, str]] = []
    if asset.useful_life_months is not None and not 1 <= asset.useful_life_months <= MAX_LIFE_MONTHS:
        found.append(("使用寿命须为 1–1200 个月", "the useful life must be 1–1200 months"))
    disposals = [e for e in asset.events if e.type == "disposal"]
    if len(disposals) > 1:
        found.append(("资产已终止确认", "the asset is already derecognised"))
    ended = derecognized_on(asset)
    if ended is not None and any(e.on > ended for e in asset.events if e.type != "disposal"):
        found.append(("终止确认之后不能再记账", "no entry may follow the derecognition"))
    if asset.classification == "intangible" and any(e.type == "sale" for e in asset.events):
        found.append(("无形资产不能按存货出售，请记处置", "an intangible is disposed of, not sold as inventory"))
    if asset.classification == "intangible" and any(e.type == "impairment_reversal" for e in asset.events):
        found.append(("无形资产减值损失一经确认不得转回（CAS 8 第十七条）",
                      "an intangible's impairment is never reversed (CAS 8 §17)"))
    if asset.classification == "inventory" and any(e.type in ("research", "development") for e in asset.events):
        found.append(("研发支出只适用于无形资产", "R&D spending belongs to intangible assets"))
    for kind in ("cost", "research", "development", "impairment", "impairment_reversal", "sale"):
        if sum(e.amount_fen for e in asset.events if e.type == kind) < 0:
            found.append(("冲销金额超过原分录", "a reversal exceeds what it reverses"))
            break
    if asset.ready_for_use_on and any(e.type == "development" and e.on >= asset.ready_for_use_on
                                      for e in asset.events):
        found.append(("达到预定用途后的支出不再资本化，请记为研究/费用", "spending after the asset is ready for use "
                      "is not capitalised as development"))
    if asset.classification == "intangible" and asset.ready_for_use_on and asset.useful_life_months:
        last_day = Month.at(Month.of(asset.ready_for_use_on).index + asset.useful_life_months - 1).last_day
        if any(e.on > last_day for e in asset.events if _capitalised(asset, e)):
            found.append(("使用寿命结束后不能再增加成本", "no cost may be added after the useful life has ended"))
    if any(line.amount_fen < 0 for line in amortization_schedule(asset)):
        found.append(("冲销后的成本低于已摊销金额", "after the reversal the cost is below what was already amortized"))
    # The balances at the end of every day something moved, in one pass over the sorted movements.
    left = {"cost": 0, "amortization": 0, "impairment": 0}
    lines = sorted(movements(asset), key=lambda m: m.on)
    for number, line in enumerate(lines):
        left[line.measure] += line.amount_fen
        if number + 1 < len(lines) and lines[number + 1].on == line.on:
            continue
        if min(left.values()) < 0:
            found.append(("余额不能为负", "a balance would become negative"))
            break
        if left["cost"] - left["amortization"] - left["impairment"] < 0:
            found.append(("减值或出售超过账面价值", "an impairment or sale exceeds the carrying amount"))
            break
    return found


# --- the disclosure tables --------------------------------------------------------------------

INTANGIBLE_SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # measure: (increase rows, decrease rows), in the order of the 暂行规定's table
    "cost": (("purchased", "internal_rd", "other_increase"), ("disposed", "expired", "other_decrease")),
    "amortization": (("provision",), ("disposed", "expired", "other_decrease")),
    "impairment": (("provision",), ("disposed", "expired", "other_decrease")),
}
INVENTORY_SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cost": (("purchased", "processed", "other_increase"), ("sold", "expired", "other_decrease")),
    "impairment": (("provision",), ("reversal", "written_off")),
}


@dataclass(frozen=True)
class Section:
    """One block of a disclosure table (账面原值, 累计摊销, 减值准备 …), every figure by column."""

    measure: str
    opening: dict[str, int]
    increases: dict[str, dict[str, int]]
    decreases: dict[str, dict[str, int]]
    closing: dict[str, int]

    def increase(self, column: str) -> int:
        return sum(row[column] for row in self.increases.values())

    def decrease(self, column: str) -> int:
        return sum(row[column] for row in self.decreases.values())


@dataclass(frozen=True)
class Table:
    classification: Literal["intangible", "inventory"]
    start: dt.date
    end: dt.date
    sections: tuple[Section, ...]
    carrying_closing: dict[str, int]
    carrying_opening: dict[str, int]
    asset_ids: tuple[int, ...] = ()

    def section(self, measure: str) -> Section:
        return next(s for s in self.sections if s.measure == measure)

    def problems(self) -> list[str]:
        """Every way the table fails to add up; empty for a sound table."""
        found = []
        for section in self.sections:
            for column in COLUMNS:
                if (section.opening[column] + section.increase(column) - section.decrease(column)
                        != section.closing[column]):
                    found.append(f"{section.measure}/{column}: opening + increase − decrease ≠ closing")
            for figures in (section.opening, section.closing, *section.increases.values(),
                            *section.decreases.values()):
                if figures["total"] != sum(figures[c] for c in ACQUISITIONS):
                    found.append(f"{section.measure}: total ≠ sum of the columns")
        for column in COLUMNS:
            for carrying, side in ((self.carrying_closing, "closing"), (self.carrying_opening, "opening")):
                expected = sum(getattr(s, side)[column] * (1 if s.measure == "cost" else -1) for s in self.sections)
                if carrying[column] != expected:
                    found.append(f"carrying {side}/{column} ≠ cost − amortization − impairment")
        return found


def _by_column(values: dict[str, int]) -> dict[str, int]:
    out = {c: values.get(c, 0) for c in ACQUISITIONS}
    out["total"] = sum(out.values())
    return out


def disclosure_table(assets: Sequence[Asset], classification: Literal["intangible", "inventory"],
                     start: dt.date, end: dt.date) -> Table:
    """The roll-forward of one table for the period ``start``..``end`` (both days included)."""
    if end < start:
        raise ValueError("the period ends before it starts")
    layout = INTANGIBLE_SECTIONS if classification == "intangible" else INVENTORY_SECTIONS
    before = start - dt.timedelta(days=1)
    opening: dict[str, dict[str, int]] = {m: defaultdict(int) for m in layout}
    closing: dict[str, dict[str, int]] = {m: defaultdict(int) for m in layout}
    moved: dict[str, dict[str, dict[str, int]]] = {m: defaultdict(lambda: defaultdict(int)) for m in layout}
    chosen = [a for a in assets if a.classification == classification]
    for asset in chosen:
        lines = movements(asset)
        at_start, at_end = balances(lines, before), balances(lines, end)
        for measure in layout:
            opening[measure][asset.acquisition] += at_start[measure]
            closing[measure][asset.acquisition] += at_end[measure]
        for line in lines:
            if start <= line.on <= end:
                moved[line.measure][line.row][asset.acquisition] += line.amount_fen
    sections = []
    for measure, (increase_rows, decrease_rows) in layout.items():
        sections.append(Section(
            measure=measure, opening=_by_column(opening[measure]), closing=_by_column(closing[measure]),
            increases={row: _by_column(moved[measure][row]) for row in increase_rows},
            # Decreases are stored negative in the movements and shown positive in the table.
            decreases={row: _by_column({c: -v for c, v in moved[measure][row].items()}) for row in decrease_rows},
        ))
    unknown = {row for m in moved for row in moved[m]} - {r for inc, dec in layout.values() for r in (*inc, *dec)}
    if unknown:
        raise ValueError(f"movements with no row in the {classification} table: {sorted(unknown)}")

    def carrying(side: str) -> dict[str, int]:
        return {c: sum(getattr(s, side)[c] * (1 if s.measure == "cost" else -1) for s in sections) for c in COLUMNS}

    return Table(classification, start, end, tuple(sections), carrying("closing"), carrying("opening"),
                 tuple(a.id for a in chosen))


@dataclass(frozen=True)
class RnD:
    """R&D spending on data resources in a period (三、(二)1(6)) and 开发支出 at its end."""

    expensed_fen: int
    capitalised_fen: int
    in_progress_fen: int


def rnd_summary(assets: Sequence[Asset], start: dt.date, end: dt.date) -> RnD:
    expensed = capitalised = 0
    for asset in assets:
        for event in asset.events:
            if start <= event.on <= end:
                if event.type == "research":
                    expensed += event.amount_fen
                elif event.type == "development":
                    capitalised += event.amount_fen
    return RnD(expensed, capitalised, sum(development_in_progress_fen(a, end) for a in assets))


@dataclass(frozen=True)
class Disclosure:
    intangible: Table
    inventory: Table
    rnd: RnD
    pending_asset_ids: tuple[int, ...] = field(default=())


def disclosure(assets: Sequence[Asset], start: dt.date, end: dt.date) -> Disclosure:
    return Disclosure(disclosure_table(assets, "intangible", start, end),
                      disclosure_table(assets, "inventory", start, end),
                      rnd_summary(assets, start, end),
                      tuple(a.id for a in assets if a.classification == "pending"))


# Labels of the tables, as the 暂行规定 words them (Chinese) with English beside.
COLUMN_LABELS = {
    "intangible": {"purchased": ("外购的数据资源无形资产", "Purchased"),
                   "self_developed": ("自行开发的数据资源无形资产", "Self-developed"),
                   "other": ("其他方式取得的数据资源无形资产", "Obtained otherwise"), "total": ("合计", "Total")},
    "inventory": {"purchased": ("外购的数据资源存货", "Purchased"),
                  "self_developed": ("自行加工的数据资源存货", "Self-processed"),
                  "other": ("其他方式取得的数据资源存货", "Obtained otherwise"), "total": ("合计", "Total")},
}
SECTION_LABELS = {
    "cost": ("账面原值", "Gross carrying amount"),
    "amortization": ("累计摊销", "Accumulated amortization"),
    "impairment": ("减值准备", "Impairment"),
    "impairment_inventory": ("存货跌价准备", "Write-down allowance"),
    "carrying": ("账面价值", "Carrying amount"),
}
ROW_LABELS = {
    "purchased": ("购入", "purchased"), "internal_rd": ("内部研发", "internal R&D"),
    "processed": ("采集加工", "collected and processed"), "other_increase": ("其他", "other"),
    "provision": ("计提", "charged"), "disposed": ("处置", "disposed of"),
    "expired": ("失效且终止确认", "expired and derecognised"), "other_decrease": ("其他", "other"),
    "sold": ("出售", "sold"), "reversal": ("转回", "reversed"), "written_off": ("转销", "written off"),
}
CHINESE_NUMERALS = "一二三四五六"


@dataclass(frozen=True)
class Row:
    """One printed line of a table: its label and the figures by column (None for a heading)."""

    label_zh: str
    label_en: str
    figures: dict[str, int] | None
    level: int  # 0 section heading, 1 line, 2 “其中” detail


def table_rows(table: Table) -> list[Row]:
    """The table as the 暂行规定 prints it, line by line: the same rows for the page and Excel."""
    rows: list[Row] = []
    for number, section in enumerate(table.sections):
        key = "impairment_inventory" if section.measure == "impairment" and table.classification == "inventory" \
            else section.measure
        zh, en = SECTION_LABELS[key]
        rows.append(Row(f"{CHINESE_NUMERALS[number]}、{zh}", en, None, 0))
        rows.append(Row("1. 期初余额", "Opening balance", section.opening, 1))
        rows.append(Row("2. 本期增加金额", "Increase in the period",
                        {c: section.increase(c) for c in COLUMNS}, 1))
        rows.extend(Row(f"其中：{ROW_LABELS[r][0]}", f"of which: {ROW_LABELS[r][1]}", f, 2)
                    for r, f in section.increases.items())
        rows.append(Row("3. 本期减少金额", "Decrease in the period",
                        {c: section.decrease(c) for c in COLUMNS}, 1))
        rows.extend(Row(f"其中：{ROW_LABELS[r][0]}", f"of which: {ROW_LABELS[r][1]}", f, 2)
                    for r, f in section.decreases.items())
        rows.append(Row("4. 期末余额", "Closing balance", section.closing, 1))
    zh, en = SECTION_LABELS["carrying"]
    rows.append(Row(f"{CHINESE_NUMERALS[len(table.sections)]}、{zh}", en, None, 0))
    rows.append(Row("1. 期末账面价值", "Closing carrying amount", table.carrying_closing, 1))
    rows.append(Row("2. 期初账面价值", "Opening carrying amount", table.carrying_opening, 1))
    return rows
