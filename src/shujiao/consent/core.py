"""The pure parts of consent: normalizing identifiers, the person key (a keyed hash), the receipt
document, and screening a table's rows against the live consents. No database here.

The person key is HMAC (SM3 under the ``gm`` suite, SHA-256 under ``international``) of
``"<kind>:<normalized identifier>"``, keyed with a key derived (HKDF-SHA256) from the exchange
secret. Datasets carry the same key in a column, so the exchange matches records to persons without
anyone storing a phone or ID number in plaintext; without the secret the key cannot be recomputed
from a guessed phone number.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shujiao.errors import InvalidInput

IdentifierKind = Literal["phone", "id_number"]

# The controlled list of purposes (目的) a scenario may declare.
PURPOSES: dict[str, tuple[str, str]] = {
    "credit_assessment": ("信用评估", "credit assessment"),
    "financial_services": ("金融服务", "financial services"),
    "insurance": ("保险服务", "insurance"),
    "healthcare": ("医疗健康", "healthcare"),
    "public_services": ("公共服务", "public services"),
    "employment": ("就业服务", "employment services"),
    "transport": ("交通出行", "transport"),
    "scientific_research": ("科学研究", "scientific research"),
    "marketing": ("营销推荐", "marketing"),
}
ON_MISSING: dict[str, tuple[str, str]] = {
    "exclude": ("剔除未授权个人的记录", "leave out the records of persons without consent"),
    "refuse": ("有未授权个人时拒绝交付", "refuse the delivery if any person has not consented"),
}
RECEIPT_VERSION = "KI-CR-v1.1.0"

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class BadIdentifier(ValueError):
    pass


def normalize_phone(value: str) -> str:
    """A mainland mobile number as its 11 digits (spaces, dashes and a +86 prefix dropped)."""
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _PHONE.match(digits):
        raise BadIdentifier("not a mainland mobile number")
    return digits


def normalize_id_number(value: str) -> str:
    """A resident ID number (GB 11643-1999): 18 characters with a valid check character."""
    number = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise BadIdentifier("an ID number has 17 digits and a check character")
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != number[17]:
        raise BadIdentifier("the ID number's check character is wrong")
    return number


def normalize(kind: IdentifierKind, value: str) -> str:
    return normalize_phone(value) if kind == "phone" else normalize_id_number(value)


def hmac_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"shujiao/consent/person-key").derive(secret.encode())


def keyed_hash(key: bytes, suite: str, message: str) -> str:
    mac = hmac.HMAC(key, hashes.SM3() if suite == "gm" else hashes.SHA256())
    mac.update(message.encode())
    return mac.finalize().hex()


def person_key(key: bytes, suite: str, kind: IdentifierKind, value: str) -> str:
    """The person key of an identifier (raises BadIdentifier for a malformed one)."""
    return keyed_hash(key, suite, f"{kind}:{normalize(kind, value)}")


# --- the receipt ---------------------------------------------------------------------------------

def receipt(*, receipt_id: str, principal: str, granted_at: dt.datetime, expires_at: dt.datetime,
            controller: dict[str, str], service: str, purpose: str, scenario: dict[str, Any], sensitive: bool,
            policy_url: str, exchange: str, key_id: str, jurisdiction: str = "CN") -> dict[str, Any]:
    """A consent receipt after the Kantara Initiative Consent Receipt Specification v1.1, with the
    exchange's own fields under ``shujiao``."""
    zh, en = PURPOSES[purpose]
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": jurisdiction,
        "consentTimestamp": int(granted_at.timestamp()),
        "collectionMethod": "Shujiao personal data authorization hub (个人数据授权), phone-verified, explicit",
        "consentReceiptID": receipt_id,
        "language": "zh-CN",
        "piiPrincipalId": principal,
        "piiControllers": [{"piiController": controller["name"], "onBehalf": False,
                            "contact": controller.get("contact", ""), "address": controller.get("address", ""),
                            "email": controller.get("email", ""), "phone": controller.get("phone", ""),
                            "creditCode": controller.get("credit_code", "")}],
        "policyUrl": policy_url,
        "services": [{"service": service, "purposes": [{
            "purpose": f"{zh} ({en}): {scenario['name']}",
            "purposeCategory": [purpose],
            "consentType": "EXPLICIT",
            "piiCategory": list(scenario["data_items"]),
            "primaryPurpose": True,
            "termination": f"until {expires_at.isoformat()} or revocation, whichever is first",
            "thirdPartyDisclosure": True,
            "thirdPartyName": "buyers of the product through the exchange (交易中心的买方)",
        }]}],
        "sensitive": sensitive,
        "spiCat": list(scenario["data_items"]) if sensitive else [],
        "shujiao": {"exchange": exchange, "scenarioId": scenario["id"], "productId": scenario["product_id"],
                    "validFrom": granted_at.isoformat(), "validUntil": expires_at.isoformat(), "keyId": key_id},
    }


def revocation(*, receipt_id: str, principal: str, revoked_at: dt.datetime, exchange: str, key_id: str) -> dict[str, Any]:
    return {"version": RECEIPT_VERSION, "type": "revocation", "consentReceiptID": receipt_id,
            "piiPrincipalId": principal, "revocationTimestamp": int(revoked_at.timestamp()),
            "shujiao": {"exchange": exchange, "revokedAt": revoked_at.isoformat(), "keyId": key_id}}


# --- screening rows ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Restriction:
    """The live consents of one scenario: which person keys may be used, and what to do about the rest.
    ``tag`` changes whenever the set of live consents does (a grant, a revocation, an expiry), so a
    cache of prepared data keyed by it never serves rows consent no longer covers."""

    scenario_id: int
    key_column: str
    on_missing: str
    allowed: dict[str, tuple[int, int]]  # person key -> (consent id, person id)
    tag: str

    def allowed_table(self) -> pa.Table:
        return pa.table({"consent_key": pa.array(sorted(self.allowed), pa.string())})


@dataclass
class Screened:
    rows_in: int = 0
    rows_kept: int = 0
    used: dict[str, int] = field(default_factory=dict)  # person key -> rows used

    @property
    def rows_excluded(self) -> int:
        return self.rows_in - self.rows_kept


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def match_expression(key_column: str) -> str:
    """SQL that is true for a row whose person key has live consent (``consent_allowed`` registered)."""
    return f"lower(trim(CAST({quoted(key_column)} AS VARCHAR))) IN (SELECT consent_key FROM consent_allowed)"


def count_used(connection: duckdb.DuckDBPyConnection, source: str, restriction: Restriction) -> Screened:
    """Rows in, rows with consent and the rows per consenting person in ``source`` (a FROM clause),
    with ``consent_allowed`` registered on ``connection``."""
    column = f"lower(trim(CAST({quoted(restriction.key_column)} AS VARCHAR)))"
    rows_in = connection.execute(f"SELECT COUNT(*) FROM {source}").fetchone()[0]  # type: ignore[index]
    used = dict(connection.execute(
        f"SELECT {column}, COUNT(*) FROM {source} WHERE {match_expression(restriction.key_column)} GROUP BY 1"
    ).fetchall())
    return Screened(rows_in=int(rows_in), rows_kept=sum(used.values()), used={k: int(n) for k, n in used.items()})


def screen_table(table: pa.Table, restriction: Restriction) -> tuple[pa.Table, Screened]:
    """The rows of ``table`` whose person key has live consent, and the counts."""
    if restriction.key_column not in table.column_names:
        raise KeyError(restriction.key_column)
    connection = duckdb.connect()
    try:
        connection.register("source_table", table)
        connection.register("consent_allowed", restriction.allowed_table())
        screened = count_used(connection, "source_table", restriction)
        kept = connection.sql(
            f"SELECT * FROM source_table WHERE {match_expression(restriction.key_column)}").to_arrow_table()
    finally:
        connection.close()
    # DuckDB's Arrow output may widen string types; keep the original schema for the file written.
    return kept.cast(table.schema) if kept.schema != table.schema else kept, screened


class Screen:
    """A table filter for one delivery: keeps the rows with live consent and remembers the counts."""

    def __init__(self, restriction: Restriction) -> None:
        self.restriction = restriction
        self.screened = Screened()

    def __call__(self, table: pa.Table) -> pa.Table:
        try:
            kept, self.screened = screen_table(table, self.restriction)
        except KeyError:
            raise InvalidInput(f"数据缺少个人标识列 {self.restriction.key_column}，无法核验授权",
                               f"the data has no person key column {self.restriction.key_column}; "
                               "consent cannot be checked", code="person_key_column_missing") from None
        return kept
