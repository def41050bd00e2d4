"""The valuation report as a PDF (A4, Chinese with English beside): the same content as the report
page (``valuation/_report_body.html``), rendered by WeasyPrint as the registry's certificate is."""

from __future__ import annotations

from functools import cache

import jinja2

from shujiao.valuation import formulas, report as reports
from shujiao.valuation.schemas import ReportRead
from shujiao.web.templating import TEMPLATES, make_environment


@cache
def _environment() -> jinja2.Environment:
    return make_environment()


def _both(zh: str, en: str) -> str:
    """A printed report is read in either language: Chinese first, English beside."""
    return zh if zh == en else f"{zh} {en}"


def report_html(report: ReportRead, *, member_name: str) -> str:
    return _environment().get_template("valuation/report_pdf.html").render(
        report=report, result=report.result, member_name=member_name, t=_both, shown=reports.shown,
        input_labels=reports.INPUT_LABELS, subject_types=reports.SUBJECT_TYPES, cost_items=formulas.COST_ITEMS)


def report_pdf(report: ReportRead, *, member_name: str) -> bytes:
    # Imported here: WeasyPrint loads Pango and a font stack, which only a PDF download needs.
    import weasyprint

    return weasyprint.HTML(string=report_html(report, member_name=member_name), base_url=str(TEMPLATES)).write_pdf()
