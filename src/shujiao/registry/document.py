"""The registration certificate (登记凭证) as a one-page PDF: A4 landscape, Chinese first, English beside."""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import segno

TEMPLATES = Path(__file__).parent / "templates"
# Certificates are read in China: the issue time prints as Beijing time whatever the server's zone.
SHANGHAI = ZoneInfo("Asia/Shanghai")

SUBJECT_LABELS = {
    "resource": "数据资源 Data resource",
    "dataset": "数据集 Dataset",
    "product": "数据产品 Data product",
}
WATERMARKS = {"revoked": "已撤销 REVOKED", "expired": "已过期 EXPIRED"}
ALGORITHM_NAMES = {"sm2": "国密SM2", "ed25519": "Ed25519"}


@dataclass(frozen=True)
class CertificateView:
    number: str  # e.g. "SJ-2026-R-00000042-K"
    right_type: str  # "holding" | "processing" | "operating"
    right_label: str  # e.g. "数据资源持有权 Data resource holding right"
    holder_name: str
    holder_credit_code: str  # 统一社会信用代码, may be ""
    subject_type: str  # "resource" | "dataset" | "product"
    subject_title: str
    content_sha256: str  # hex
    schema_fingerprint: str  # hex
    source_label: str  # e.g. "自行采集 Self-collected"
    valid_from: datetime.date
    valid_until: datetime.date | None
    issued_at: datetime.datetime  # aware UTC; printed in Asia/Shanghai time
    status: str  # valid | pledged | revoked | expired
    status_label: str  # e.g. "有效 Valid"
    version: int
    key_id: str  # signing key id
    algorithm: str  # "sm2" | "ed25519"
    signature_b64: str
    exchange_name: str  # e.g. "数交数据交易中心 Shujiao Data Exchange"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _chinese_name(name: str) -> str:
    """The leading Chinese part of a bilingual name: a seal carries only that."""
    match = re.match(r"[^\x00-\x7f]+", name.strip())
    return match.group(0).strip() if match else name.strip()


def _seal(name: str) -> dict:
    """Glyph positions for a round seal (viewBox 0 0 160 160): the name on the upper arc, upright to the rim.

    Computed here rather than with SVG <textPath>, which WeasyPrint draws as straight text, not along the arc.
    """
    chars = list(_chinese_name(name)) or ["章"]
    step = min(34.0, 240.0 / len(chars))  # degrees per glyph: a short name is not stretched round the ring
    size = min(22.0, 2 * math.pi * 48 * step / 360 * 0.9)
    baseline = 67 - size * 0.88  # the glyph's top sits just inside the ring
    glyphs = []
    for i, char in enumerate(chars):
        angle = (i - (len(chars) - 1) / 2) * step
        rad = math.radians(angle)
        glyphs.append(
            {
                "char": char,
                "x": round(80 + baseline * math.sin(rad), 2),
                "y": round(80 - baseline * math.cos(rad), 2),
                "angle": round(angle, 2),
            }
        )
    star = []
    for k in range(10):  # alternately a tip and an inner corner of the five-pointed star
        radius, rad = (21 if k % 2 == 0 else 8.3), math.radians(36 * k)
        star.append(f"{80 + radius * math.sin(rad):.2f},{80 - radius * math.cos(rad):.2f}")
    return {"glyphs": glyphs, "size": round(size, 2), "star": " ".join(star)}


def _short(signature: str) -> str:
    return signature if len(signature) <= 40 else f"{signature[:24]}…{signature[-12:]}"


def _date(day: datetime.date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日 ({day.isoformat()})"


def certificate_html(view: CertificateView, *, verify_url: str) -> str:
    issued = view.issued_at.astimezone(SHANGHAI)
    qr = segno.make(verify_url, error="m")
    exchange_zh = _chinese_name(view.exchange_name)
    return _environment().get_template("certificate.html").render(
        v=view,
        verify_url=verify_url,
        qr_uri=qr.png_data_uri(scale=6, border=2),
        seal=_seal(view.exchange_name),
        exchange_zh=exchange_zh,
        exchange_en=view.exchange_name.strip()[len(exchange_zh):].strip(),
        subject_label=SUBJECT_LABELS.get(view.subject_type, view.subject_type),
        valid_from=_date(view.valid_from),
        valid_until=_date(view.valid_until) if view.valid_until else "长期有效 No expiry",
        issued=f"{issued:%Y年%m月%d日 %H:%M} 北京时间 ({issued:%Y-%m-%d %H:%M} UTC+8)",
        issued_day=f"{issued.year}年{issued.month}月{issued.day}日",
        watermark=WATERMARKS.get(view.status),
        algorithm_name=ALGORITHM_NAMES.get(view.algorithm, view.algorithm),
        signature_short=_short(view.signature_b64),
    )


def certificate_pdf(view: CertificateView, *, verify_url: str) -> bytes:
    """The certificate as a PDF: A4 landscape, Chinese first with English beside, a QR code of verify_url."""
    # Imported here: WeasyPrint loads Pango and a font stack, which only a certificate download needs.
    import weasyprint

    html = certificate_html(view, verify_url=verify_url)
    return weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
