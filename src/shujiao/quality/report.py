"""The quality evaluation report (数据质量评价报告) as a PDF: A4 portrait, Chinese first, English beside.

It prints what the report page shows: every indicator with its sub-indicators — A, B, the formula
and the score — the overall score and grade, and, in the whole report only, the worst fields and
rows with their failed values, the column profile and the rules. The public summary (a report
shown on a listed product) leaves the failed values, top values and min/max out.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from shujiao.quality.scoring import GRADES
from shujiao.registry.document import SHANGHAI

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ReportView:
    """One report as a person reads it (the page and the PDF)."""

    report_id: int
    full: bool  # False: the public summary, without any of the data's values
    exchange_name: str
    dataset_id: int
    dataset_filename: str
    dataset_sha256: str
    provider_name: str
    rule_set_version: int
    rules_text: str  # "" in a summary
    overall: Decimal
    grade: str
    created_at: datetime.datetime
    run_by: str
    rows: int | None  # None in a summary (the profile is not shown)
    score: dict[str, Any]  # scoring.QualityScore.to_dict(), or service.public_summary of it
    profile: dict[str, Any] | None  # profile.Profile.to_dict(), whole reports only
    signature: dict[str, Any] | None  # schemas.SignatureRead as a dict, with "verified": bool


def grade_thresholds() -> list[tuple[str, str]]:
    """[("A", "≥ 90"), …, ("D", "< 60")] from the engine's own thresholds."""
    rows = [(grade, f"≥ {floor}") for floor, grade in GRADES]
    return [*rows, ("D", f"< {GRADES[-1][0]}")]


def beijing(moment: datetime.datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local:%Y-%m-%d %H:%M} 北京时间 (UTC+8)"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["beijing"] = beijing
    return env


def report_html(view: ReportView) -> str:
    return _environment().get_template("report.html").render(v=view, thresholds=grade_thresholds())


def report_pdf(view: ReportView) -> bytes:
    """The report as a PDF (A4 portrait, as many pages as the report needs)."""
    # Imported here: WeasyPrint loads Pango and a font stack, which only a PDF download needs.
    import weasyprint

    return weasyprint.HTML(string=report_html(view), base_url=str(TEMPLATES)).write_pdf()
