"""Fingerprint commands and queries: the provider's policy per product, the buyer's copy, and
detection of a leaked copy (泄露溯源). The scheme (and its citations) is in ``scheme.py``.

Keys: the product's selection key and each order's fingerprint are derived (HKDF-SHA256) from the
exchange secret (``fingerprint.secret``, else ``secret_key``); nothing secret is stored. A copy is
recorded with the policy it was made under, so detection still reads it after the provider changes
the policy.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset
from shujiao.catalog.storage import FileStorage
from shujiao.commands import Actor, authorize, command, inside_command, query, require_member, require_user
from shujiao.config import Settings
from shujiao.db import utcnow
from shujiao.errors import InvalidInput, not_found
from shujiao.fingerprint import scheme
from shujiao.fingerprint.models import Copy, Policy
from shujiao.fingerprint.schemas import (
    MODES, BuyerScore, ColumnToleranceIn, DetectionRead, PolicyIn, PolicyRead,
)
from shujiao.listing.models import Product
from shujiao.market import service as market
from shujiao.members import service as members

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")
# Orders that reached payment: their buyers may hold a copy (a refunded one may have downloaded first).
HOLDING_STATUSES = ("paid", "delivered", "settled", "refunded")


def _secret(settings: Settings) -> bytes:
    return (settings.fingerprint.secret or settings.secret_key).encode()


def _keys(settings: Settings, product_id: int) -> scheme.Keys:
    return scheme.product_keys(_secret(settings), product_id, scheme.suite_digest(settings.crypto.suite))


def _columns(dataset: Dataset) -> list[dict[str, str]]:
    return json.loads(dataset.columns_json)  # type: ignore[no-any-return]


def _stored(session: Session, product_id: int) -> Policy | None:
    return session.scalar(select(Policy).where(Policy.product_id == product_id))


def _as_scheme(row: Policy) -> scheme.Policy:
    return scheme.Policy.from_dict({"mode": row.mode, "key_columns": json.loads(row.key_columns_json),
                                    "columns": json.loads(row.columns_json), "gamma": row.gamma})


def _default(dataset: Dataset) -> scheme.Policy:
    """Until the provider chooses: change no value, and key each row by all of its cells."""
    return scheme.Policy(mode="no_alteration", key_columns=tuple(c["name"] for c in _columns(dataset)), gamma=10)


def _provided_product(session: Session, actor: Actor, product_id: int) -> Product:
    """The product for its provider, the operator or a system job; 404 for anyone else."""
    product = session.get(Product, product_id)
    if product is None or not (actor.is_operator or actor.is_system or product.member_id == actor.member_id):
        raise not_found("产品", "product")
    return product


def _policy_read(product_id: int, policy: scheme.Policy, row: Policy | None) -> PolicyRead:
    return PolicyRead(
        product_id=product_id, mode=policy.mode, mode_zh=MODES[policy.mode][0], key_columns=list(policy.key_columns),
        columns=[ColumnToleranceIn(name=c.name, decimals=c.decimals, max_abs_change=c.max_abs_change)
                 for c in policy.columns],
        gamma=policy.gamma, saved=row is not None, updated_at=row.updated_at if row else None)


@query
def get_policy(session: Session, actor: Actor, *, product_id: int) -> PolicyRead:
    """The product's fingerprint policy (or the default) for its provider and the operator."""
    require_user(actor)
    product = _provided_product(session, actor, product_id)
    row = _stored(session, product.id)
    dataset = catalog.dataset_for_delivery(session, dataset_id=product.dataset_id)
    return _policy_read(product.id, _as_scheme(row) if row else _default(dataset), row)


def _check_policy(dataset: Dataset, data: PolicyIn) -> None:
    types = {c["name"]: c["type"].upper() for c in _columns(dataset)}
    unknown = [n for n in [*data.key_columns, *(c.name for c in data.columns)] if n not in types]
    if unknown:
        raise InvalidInput(f"数据集中没有这些字段：{'、'.join(unknown)}",
                           f"the dataset has no such columns: {', '.join(unknown)}", code="unknown_columns",
                           columns=unknown)
    if len(set(data.key_columns)) != len(data.key_columns) or len({c.name for c in data.columns}) != len(data.columns):
        raise InvalidInput("字段重复", "a column is named twice", code="bad_policy")
    if data.mode == "no_alteration":
        if data.columns:
            raise InvalidInput("不改动数值时不能指定可改动的字段", "no_alteration takes no columns to change",
                               code="bad_policy")
        return
    if not data.columns:
        raise InvalidInput("请至少指定一个可在容差内改动的数值字段", "name at least one numeric column that may change",
                           code="bad_policy")
    for column in data.columns:
        if column.name in data.key_columns:
            raise InvalidInput(f"主键字段不能改动：{column.name}", f"a key column cannot be changed: {column.name}",
                               code="bad_policy")
        if not types[column.name].startswith(NUMERIC_TYPES):
            raise InvalidInput(f"字段 {column.name} 不是数值（{types[column.name]}）",
                               f"column {column.name} is not numeric ({types[column.name]})", code="not_numeric")
        if types[column.name].startswith(("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "U")) \
                and column.decimals:
            raise InvalidInput(f"整数字段 {column.name} 的小数位应为 0", f"integer column {column.name} has 0 decimals",
                               code="bad_policy")
        if scheme.ColumnTolerance(column.name, column.decimals, column.max_abs_change).bits == 0:
            raise InvalidInput(f"字段 {column.name} 的容差小于最末一位（10^-{column.decimals}）",
                               f"the tolerance of {column.name} is below its last digit (10^-{column.decimals})",
                               code="tolerance_too_small")


@command("fingerprint.policy.set")
def set_policy(session: Session, actor: Actor, *, product_id: int, data: PolicyIn) -> PolicyRead:
    """The provider chooses how its product's copies are fingerprinted. Copies already served keep
    the policy they were made under (recorded with each copy)."""
    require_member(actor)
    product = _provided_product(session, actor, product_id)
    if product.member_id != actor.member_id:
        raise not_found("产品", "product")
    dataset = catalog.dataset_for_delivery(session, dataset_id=product.dataset_id)
    _check_policy(dataset, data)
    row = _stored(session, product.id)
    if row is None:
        row = Policy(product_id=product.id, member_id=product.member_id)
        session.add(row)
    row.mode, row.gamma = data.mode, data.gamma
    row.key_columns_json = json.dumps(data.key_columns, ensure_ascii=False)
    row.columns_json = json.dumps([{"name": c.name, "decimals": c.decimals, "max_abs_change": str(c.max_abs_change)}
                                   for c in data.columns], ensure_ascii=False)
    row.updated_by_user_id, row.updated_at = actor.user_id, utcnow()
    session.flush()
    policy = _as_scheme(row)
    audit.record(session, subject_type="product", subject_id=product.id, change={"fingerprint_policy": policy.to_dict()})
    return _policy_read(product.id, policy, row)


# --- the buyer's copy -------------------------------------------------------------------------

@dataclass(frozen=True)
class BuyerCopy:
    table: pa.Table
    policy: scheme.Policy | None  # None: too small to fingerprint (see fingerprint.default_min_rows)
    stats: scheme.CopyStats
    file_format: scheme.FileFormat


def _plaintext(session: Session, settings: Settings, storage: FileStorage, dataset: Dataset) -> bytes:
    return b"".join(catalog.dataset_content(session, settings=settings, storage=storage, dataset=dataset))


@query
def product_policy(session: Session, *, product: Product, dataset: Dataset, settings: Settings) -> scheme.Policy | None:
    """The policy a new copy is made under: the provider's, else the default for a large enough dataset."""
    row = _stored(session, product.id)
    if row is not None:
        return _as_scheme(row)
    return _default(dataset) if dataset.row_count >= settings.fingerprint.default_min_rows else None


def _policy_of_product(session: Session, settings: Settings, product_id: int) -> scheme.Policy | None:
    product = session.get(Product, product_id)
    if product is None:
        raise not_found("产品", "product")
    dataset = catalog.dataset_for_delivery(session, dataset_id=product.dataset_id)
    return product_policy(session, product=product, dataset=dataset, settings=settings)


@query
def policy_tag(session: Session, *, settings: Settings, product_id: int) -> str:
    """A short tag of the policy new copies of the product are made under ("none" when unmarked), so
    a cache of buyer copies (Delta Sharing) makes a new copy when the provider changes the policy."""
    policy = _policy_of_product(session, settings, product_id)
    if policy is None:
        return "none"
    return hashlib.sha256(json.dumps(policy.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


@query
def buyer_notice(session: Session, *, settings: Settings, product_id: int) -> tuple[str, str] | None:
    """What a buyer is told, before buying, about how its copy will differ from the original (Chinese,
    English); None when copies are served unmarked."""
    policy = _policy_of_product(session, settings, product_id)
    if policy is None:
        return None
    if policy.mode == "no_alteration":
        share = 100 / (2 * policy.gamma)
        return (f"每份买方副本带有数据指纹：约 {share:.0f}% 的记录按密钥省略（各买方不同），其余记录与数值不变。",
                f"Each buyer's copy carries a data fingerprint: about {share:.0f}% of the records are left out "
                "by key (different for each buyer); the other records and values are unchanged.")
    changes = "、".join(f"{c.name} ±{c.max_abs_change}" for c in policy.columns)
    changes_en = ", ".join(f"{c.name} ±{c.max_abs_change}" for c in policy.columns)
    return (f"每份买方副本带有数据指纹：约 1/{policy.gamma} 的记录中一个数值的末位被调整，幅度不超过 {changes}；"
            "记录数与其他数值不变。",
            f"Each buyer's copy carries a data fingerprint: in about one record in {policy.gamma}, one value's "
            f"last digits are changed by at most {changes_en}; the number of records and all other values are "
            "unchanged.")


@query
def buyer_copy(session: Session, *, settings: Settings, storage: FileStorage, order_id: int,
               screen: Callable[[pa.Table], pa.Table] | None = None) -> BuyerCopy:
    """The fingerprinted table of the order's buyer. The caller has already authorized the use
    (``usage.authorize_use``); the Delta Sharing server serves the same table. ``screen`` drops rows
    before the fingerprint is applied (personal data without live consent: ``consent.core.Screen``)."""
    order = market.order_row(session, order_id=order_id)
    if order is None:
        raise not_found("订单", "order")
    product = session.get(Product, order.product_id)
    dataset = catalog.dataset_for_delivery(session, dataset_id=order.dataset_id)
    assert product is not None  # a foreign key
    file_format: scheme.FileFormat = "parquet" if dataset.file_format == "parquet" else "csv"
    table = scheme.read_table(_plaintext(session, settings, storage, dataset), file_format)
    if screen is not None:
        table = screen(table)
    policy = product_policy(session, product=product, dataset=dataset, settings=settings)
    if policy is None:
        return BuyerCopy(table, None, scheme.CopyStats(table.num_rows, table.num_rows), file_format)
    try:
        copy, stats = scheme.mark(table, policy, _keys(settings, product.id),
                                  scheme.order_fingerprint(_secret(settings), order.id))
    except scheme.SchemeError as exc:
        raise InvalidInput("数据与指纹策略不符，请联系提供方", f"the data does not fit the fingerprint policy: {exc}",
                           code="fingerprint_policy_mismatch") from exc
    return BuyerCopy(copy, policy, stats, file_format)


@dataclass(frozen=True)
class CopyFile:
    chunks: Iterator[bytes]
    size_bytes: int
    sha256: str
    fingerprinted: bool = True


def _read_and_close(handle: Any) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(1 << 20):
            yield chunk


@inside_command
def serve_copy(session: Session, *, settings: Settings, storage: FileStorage, order_id: int,
               screen: Callable[[pa.Table], pa.Table] | None = None) -> CopyFile | None:
    """The buyer's copy as a file like the original (CSV or Parquet), recorded with its SHA-256;
    None when the dataset is served as it is (too small, no policy, nothing screened). The file
    lives in an unlinked temporary file that closes when the stream is read or dropped."""
    made = buyer_copy(session, settings=settings, storage=storage, order_id=order_id, screen=screen)
    if made.policy is None and screen is None:
        return None
    handle = tempfile.TemporaryFile(prefix="shujiao-copy-")
    scheme.write_table(made.table, made.file_format, handle)
    size = handle.tell()
    handle.seek(0)
    digest = hashlib.sha256()
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
    handle.seek(0)
    if made.policy is None:  # screened but not fingerprinted: nothing for detection to record
        return CopyFile(_read_and_close(handle), size, digest.hexdigest(), fingerprinted=False)
    order = market.order_row(session, order_id=order_id)
    assert order is not None
    session.add(Copy(order_id=order.id, product_id=order.product_id, dataset_id=order.dataset_id,
                     policy_json=json.dumps(made.policy.to_dict(), ensure_ascii=False), sha256=digest.hexdigest(),
                     size_bytes=size, rows=made.stats.rows_out, marked_cells=made.stats.marked_cells,
                     omitted_rows=made.stats.omitted_rows, created_at=utcnow()))
    session.flush()
    return CopyFile(_read_and_close(handle), size, digest.hexdigest())


# --- detection --------------------------------------------------------------------------------

def _read_leak(content: bytes, file_format: str) -> pa.Table:
    try:
        return scheme.read_table(content, "parquet" if file_format == "parquet" else "csv")
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInput("无法读取该文件", f"cannot read the file as {file_format}: {str(exc)[:200]}",
                           code="unreadable_file") from exc


@command("fingerprint.detect")
def detect(session: Session, actor: Actor, *, settings: Settings, product_id: int, content: bytes,
           file_format: str = "csv", threshold: float | None = None) -> DetectionRead:
    """Score every buyer (order) of the product against a leaked copy and name the buyer whose
    fingerprint it carries, with the probability that an innocent copy matches as well; or nobody.
    For the product's provider and the operator (and ``shujiao fingerprint detect``)."""
    if not actor.is_system:
        require_user(actor)
    product = _provided_product(session, actor, product_id)
    authorize(actor.is_system or actor.is_operator or (actor.member_status == "approved"
                                                       and product.member_id == actor.member_id))
    threshold = settings.fingerprint.threshold if threshold is None else threshold
    table = _read_leak(content, file_format)
    orders = market.orders_of_product(session, product_id=product.id, statuses=HOLDING_STATUSES)
    # The policy each order's newest copy was made under (the current one for an order never served).
    latest = {row.order_id: row.policy_json for row in session.execute(
        select(Copy.order_id, Copy.policy_json).where(Copy.product_id == product.id).order_by(Copy.id)).all()}
    dataset = catalog.dataset_for_delivery(session, dataset_id=product.dataset_id)
    current = product_policy(session, product=product, dataset=dataset, settings=settings) or _default(dataset)
    current_json = json.dumps(current.to_dict(), ensure_ascii=False)
    by_policy: dict[str, list[int]] = {}
    for order in orders:
        by_policy.setdefault(latest.get(order.id, current_json), []).append(order.id)
    keys, secret = _keys(settings, product.id), _secret(settings)
    scores: list[scheme.Score] = []
    marks = recovered = 0
    for policy_json, order_ids in by_policy.items():
        policy = scheme.Policy.from_dict(json.loads(policy_json))
        try:
            votes = scheme.extract(table, policy, keys)
        except scheme.SchemeError as exc:
            if len(by_policy) == 1:
                raise InvalidInput("文件缺少主键字段，无法检测", f"the file cannot be checked: {exc}",
                                   code="key_columns_missing") from exc
            continue
        verdict = scheme.score(votes, {o: scheme.order_fingerprint(secret, o) for o in order_ids})
        scores += verdict.scores
        marks, recovered = marks + votes.marks, max(recovered, verdict.recovered_bits)
    scores.sort(key=lambda s: (s.p_value, -s.matches, s.candidate))
    best = scores[0] if scores else None
    significance = min(1.0, best.p_value * len(scores)) if best else 1.0
    named = best.candidate if best is not None and significance < threshold else None
    buyers = {o.id: o.buyer_member_id for o in orders}
    names = members.member_names(session, set(buyers.values()))
    result = DetectionRead(
        product_id=product.id, named_order_id=named, named_buyer_member_id=buyers.get(named) if named else None,
        named_buyer_name=names.get(buyers[named]) if named else None, significance=significance,
        threshold=threshold, rows=table.num_rows, marks=marks, recovered_bits=recovered,
        verdict_zh=(f"指向订单 {named} 的买方：{names.get(buyers[named], '')}（误判概率 ≤ {significance:.2g}）" if named
                    else "未能指认任何买方"),
        verdict_en=(f"points to the buyer of order {named} (false-accusation probability ≤ {significance:.2g})"
                    if named else "names nobody"),
        scores=[BuyerScore(order_id=s.candidate, buyer_member_id=buyers[s.candidate],
                           buyer_name=names.get(buyers[s.candidate], ""), matches=s.matches, bits=s.bits,
                           p_value=s.p_value) for s in scores])
    audit.record(session, subject_type="product", subject_id=product.id, change={"fingerprint_detection": {
        "file_sha256": hashlib.sha256(content).hexdigest(), "rows": table.num_rows, "named_order_id": named,
        "significance": f"{significance:.3g}", "by": actor.label}})
    return result


@query
def copies_of(session: Session, actor: Actor, *, product_id: int) -> list[Copy]:
    """The fingerprinted copies served of a product, for its provider and the operator."""
    product = _provided_product(session, actor, product_id)
    return list(session.scalars(select(Copy).where(Copy.product_id == product.id).order_by(Copy.id.desc())))

