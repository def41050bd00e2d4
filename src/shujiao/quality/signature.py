"""An assessor's signature of a quality report, checked offline (评估签署离线核验).

The bundle (``GET /api/v1/quality/reports/{id}/signature/bundle``)::

    {"report_id": "12", "statement": "<signed bytes>", "signature": "<base64>", "key_id": …,
     "keys": <GET /api/v1/keys>, "log": <a log proof bundle, see tlog/offline.py>}

The statement (``quality.service.sign_report``) names the report by its hash, the dataset by its
SHA-256, the score and grade, the assessor by name and 统一社会信用代码, and the opinion. The check is
the certificates' (``registry.statement.verify_statement_bundle``): the exchange's signature, the
log proof up to a signed checkpoint, and that the logged record is this statement.
"""

from __future__ import annotations

from typing import Any

from shujiao.registry.statement import BundleCheck, verify_statement_bundle

SIGNATURE_TYPE = "shujiao.quality-signature/v1"


def verify_bundle(bundle: Any, keys_document: dict[str, Any] | None = None) -> BundleCheck:
    """``keys_document`` (the saved ``GET /api/v1/keys``) pins the keys; without it the bundle's own
    copy is used, which proves integrity but not who signed."""
    return verify_statement_bundle(bundle, keys_document, statement_type=SIGNATURE_TYPE, subject_type="quality_report",
                                   id_field="report_id", id_of=lambda statement: str(statement["report"]["id"]))
