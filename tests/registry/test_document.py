"""The certificate PDF is read back as a person and a scanner would: one page, ink, text, seal and QR code."""

from __future__ import annotations

import dataclasses
import datetime

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageChops

from shujiao.registry.document import CertificateView, certificate_pdf

VERIFY_URL = "https://shujiao.example.cn/registry/verify/SJ-2026-R-00000042-K"


def make_view(**changes) -> CertificateView:
    view = CertificateView(
        number="SJ-2026-R-00000042-K",
        right_type="holding",
        right_label="数据资源持有权 Data resource holding right",
        holder_name="杭州云栖数据科技有限公司",
        holder_credit_code="91330106MA2B3C4D5E",
        subject_type="dataset",
        subject_title="长三角城市交通流量日汇总（2025年）",
        content_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        schema_fingerprint="3b2c1a09f8e7d6c5b4a39281706f5e4d3c2b1a0918273645f5e4d3c2b1a09182",
        source_label="自行采集 Self-collected",
        valid_from=datetime.date(2026, 3, 1),
        valid_until=datetime.date(2029, 2, 28),
        issued_at=datetime.datetime(2026, 3, 1, 2, 30, tzinfo=datetime.UTC),
        status="valid",
        status_label="有效 Valid",
        version=1,
        key_id="sj-sm2-2026-01",
        algorithm="sm2",
        signature_b64="MEUCIQDx3bq2Rk0d5Jq8yQk1y1m7n2bV9s4Wc0c5m1eYyP3aQIgF7r0bX2mK9nLw8q5e1jS3tZt6h4yQm0pVd2sX9aCkKk=",
        exchange_name="数交数据交易中心 Shujiao Data Exchange",
    )
    return dataclasses.replace(view, **changes)


def page_image(pdf: bytes, dpi: int = 150) -> Image.Image:
    return pdfium.PdfDocument(pdf)[0].render(scale=dpi / 72).to_pil().convert("RGB")


def page_text(pdf: bytes) -> str:
    return pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return certificate_pdf(make_view(), verify_url=VERIFY_URL)


def test_one_a4_landscape_page(pdf: bytes) -> None:
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    width, height = document[0].get_size()  # points
    assert (round(width), round(height)) == (842, 595)


def test_page_is_inked_with_a_red_seal(pdf: bytes) -> None:
    image = page_image(pdf)
    inked = sum(image.convert("L").histogram()[:200])
    r, g, b = (band.point(lambda v, keep=keep: 255 if keep(v) else 0)
               for band, keep in zip(image.split(), (lambda v: v > 170, lambda v: v < 90, lambda v: v < 90)))
    red = ImageChops.multiply(ImageChops.multiply(r, g), b).histogram()[255]
    assert inked / (image.width * image.height) > 0.05
    assert red > 2000  # the seal's ring, star and lettering


def test_text_extracts_so_the_cjk_font_is_embedded(pdf: bytes) -> None:
    text = page_text(pdf)
    for expected in ("SJ-2026-R-00000042-K", "杭州云栖数据科技有限公司", "扫码核验", "数据登记专用章"):
        assert expected in text
    assert "数据资产登记证书" in "".join(text.split())  # the title is letter-spaced


def test_qr_code_decodes_to_the_verify_url(pdf: bytes) -> None:
    decoded = [barcode.text for barcode in zxingcpp.read_barcodes(page_image(pdf))]
    assert VERIFY_URL in decoded


def test_revoked_and_expired_are_watermarked(pdf: bytes) -> None:
    assert "已撤销" not in page_text(pdf)
    revoked = certificate_pdf(make_view(status="revoked", status_label="已撤销 Revoked"), verify_url=VERIFY_URL)
    assert "已撤销 REVOKED" in page_text(revoked)
    expired = certificate_pdf(make_view(status="expired", status_label="已过期 Expired"), verify_url=VERIFY_URL)
    assert "已过期 EXPIRED" in page_text(expired)
    assert len(pdfium.PdfDocument(revoked)) == 1


def test_user_text_is_escaped() -> None:
    view = make_view(holder_name="<b>恶意</b> & Co", holder_credit_code="", valid_until=None)
    text = page_text(certificate_pdf(view, verify_url=VERIFY_URL))
    assert "<b>恶意</b> & Co" in text
    assert "长期有效" in text


def test_the_longest_texts_still_fit_one_page() -> None:
    view = make_view(holder_name="某" * 300, right_label="Wm" * 300, subject_title="很长的标题" * 120, source_label="来源" * 200)
    pdf = certificate_pdf(view, verify_url=VERIFY_URL + "?" + "a" * 600)
    assert len(pdfium.PdfDocument(pdf)) == 1
    text = page_text(pdf)
    assert "第 1 版" in text and "本证书由交易所以" in text  # the last row and the footer are on the page
