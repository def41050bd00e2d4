"""Registration (数据登记) and the life of certificates (登记凭证).

Application: a member names the data (by a dataset's bytes and schema), the rights claimed and the
source, attaches documents and submits; the application is public for the comment period (公示),
anyone may object, the operator resolves objections and then approves — one certificate per right
— or rejects. Certificate: every event (issued, changed, transfer or pledge requested, accepted,
declined or cancelled, released, revoked, expired) is a statement of the whole new state, signed
by the exchange and written as an audit record, so it is a leaf of the transparency log
(``statement.py`` documents both formats).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, BinaryIO

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset
from shujiao.catalog.storage import FileStorage, safe_filename
from shujiao.commands import (
    Actor, allow_anyone, authorize, command, query, require_member, require_operator, require_system,
    self_recording,
)
from shujiao.config import Settings
from shujiao.crypto import service as crypto
from shujiao.crypto.suites import suite_hash
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.listing import service as listing
from shujiao.listing.models import Product
from shujiao.members import service as members
from shujiao.registry import numbers, rules
from shujiao.registry.document import SHANGHAI, CertificateView
from shujiao.registry.models import Application, Certificate, Document, Objection, Statement
from shujiao.registry.schemas import (
    CERTIFICATE_STATUSES, RIGHTS, SOURCES, ApplicationCreate, ApplicationDecision, CertificateChange, CertificateRead,
    Counterparty,
    ObjectionCreate, ObjectionResolution, PledgeRequest, Answer, Revocation, StatementRead, TransferRequest,
)
from shujiao.registry.statement import STATEMENT_TYPE, statement_bytes
from shujiao.tlog import service as tlog

OPEN = ("draft", "publicity")
LIVE = rules.LIVE_STATUSES


# --- applications -----------------------------------------------------------------------------

def _registered_dataset(session: Session, actor: Actor, data: ApplicationCreate) -> Dataset:
    """The actor's own dataset that the application registers (never another member's)."""
    if data.subject_type == "dataset":
        if data.dataset_id not in (None, data.subject_id):
            raise InvalidInput("数据集与登记对象不一致", "dataset_id differs from the subject", code="dataset_mismatch")
        return catalog.get_dataset(session, actor, dataset_id=data.subject_id)
    if data.subject_type == "product":
        product = session.get(Product, data.subject_id)
        if product is None or product.member_id != actor.member_id:
            raise not_found("产品", "product")
        if data.dataset_id not in (None, product.dataset_id):
            raise InvalidInput("数据集与产品不一致", "dataset_id differs from the product's", code="dataset_mismatch")
        return catalog.get_dataset(session, actor, dataset_id=product.dataset_id)
    resource = catalog.get_resource(session, actor, resource_id=data.subject_id)
    if data.dataset_id is None:
        raise InvalidInput("登记数据资源须指定数据集（登记哪一版数据）",
                           "a resource registration names one of its datasets",
                           code="dataset_required")
    dataset = catalog.get_dataset(session, actor, dataset_id=data.dataset_id)
    if dataset.resource_id != resource.id:
        raise InvalidInput("数据集不属于该数据资源", "the dataset does not belong to the resource",
                           code="dataset_resource_mismatch")
    return dataset


@command("registry.application.create")
def create_application(session: Session, actor: Actor, *, settings: Settings, data: ApplicationCreate) -> Application:
    require_member(actor)
    dataset = _registered_dataset(session, actor, data)
    application = Application(
        member_id=actor.member_id, subject_type=data.subject_type, subject_id=data.subject_id, dataset_id=dataset.id,
        title=data.title, description=data.description, rights_json=json.dumps(data.rights), source=data.source,
        source_note=data.source_note, content_sha256=dataset.sha256,
        schema_fingerprint=rules.schema_fingerprint(dataset.columns_json),
        validity_years=data.validity_years or settings.registry.validity_years, status="draft",
        created_at=utcnow(),
    )
    session.add(application)
    session.flush()
    audit.record(session, subject_type="registry_application", subject_id=application.id, change={
        "status": "draft", **data.model_dump(), "dataset_id": dataset.id,
        "content_sha256": application.content_sha256, "schema_fingerprint": application.schema_fingerprint,
    })
    return application


def _own_application_for_update(session: Session, actor: Actor, application_id: int) -> Application:
    application = session.scalar(select(Application).where(Application.id == application_id).with_for_update())
    if application is None or application.member_id != actor.member_id:
        raise not_found("登记申请", "application")
    return application


@command("registry.document.upload")
def add_document(session: Session, actor: Actor, *, settings: Settings, storage: FileStorage, application_id: int,
                 filename: str, stream: BinaryIO) -> Document:
    """A supporting document (证明材料: source contract, authorization, audit report …)."""
    require_member(actor)
    application = _own_application_for_update(session, actor, application_id)
    if application.status not in OPEN:
        raise Conflict("申请已办结，不能再补充材料", f"the application is {application.status}", code="bad_state")
    name = safe_filename(filename)
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    stored = storage.save(stream, prefix=f"registry/{actor.member_id}", suffix=suffix[:16],
                          max_bytes=settings.registry.max_document_bytes)
    if stored.size_bytes == 0:
        storage.delete(stored.key)
        raise InvalidInput("文件为空", "the file is empty", code="empty_file")
    try:
        document = Document(application_id=application.id, filename=name, storage_key=stored.key,
                            size_bytes=stored.size_bytes, sha256=stored.sha256, uploaded_at=utcnow())
        session.add(document)
        session.flush()
        audit.record(session, subject_type="registry_application", subject_id=application.id, change={
            "document": {"id": document.id, "filename": name, "size_bytes": stored.size_bytes,
                         "sha256": stored.sha256}})
    except BaseException:
        storage.delete(stored.key)
        raise
    return document


def _duplicates(session: Session, application: Application) -> list[dict[str, Any]]:
    """Live certificates and open applications of other members over the same bytes."""
    certificates = session.scalars(select(Certificate).where(
        Certificate.content_sha256 == application.content_sha256, Certificate.status.in_(LIVE),
        Certificate.holder_member_id != application.member_id)).all()
    applications = session.scalars(select(Application).where(
        Application.content_sha256 == application.content_sha256, Application.status == "publicity",
        Application.member_id != application.member_id)).all()
    return ([{"certificate": c.number, "holder_member_id": c.holder_member_id} for c in certificates]
            + [{"application_id": a.id, "member_id": a.member_id} for a in applications])


@command("registry.application.submit")
def submit_application(session: Session, actor: Actor, *, settings: Settings, application_id: int) -> Application:
    """Start the public comment period. Bytes already registered by someone else are flagged."""
    require_member(actor)
    application = _own_application_for_update(session, actor, application_id)
    if application.status != "draft":
        raise Conflict("申请已提交", f"the application is {application.status}", code="bad_state")
    now = utcnow()
    duplicates = _duplicates(session, application)
    application.status = "publicity"
    application.submitted_at = now
    application.publicity_ends_at = now + dt.timedelta(days=settings.registry.publicity_days)
    application.duplicate_flag = bool(duplicates)
    application.duplicate_of = json.dumps(duplicates)
    session.flush()
    audit.record(session, subject_type="registry_application", subject_id=application.id, change={
        "status": {"from": "draft", "to": "publicity"}, "publicity_ends_at": application.publicity_ends_at,
        "duplicate_of": duplicates})
    return application


@command("registry.application.withdraw")
def withdraw_application(session: Session, actor: Actor, *, application_id: int) -> Application:
    require_member(actor)
    application = _own_application_for_update(session, actor, application_id)
    if application.status not in OPEN:
        raise Conflict("申请已办结", f"the application is {application.status}", code="bad_state")
    previous, application.status, application.decided_at = application.status, "withdrawn", utcnow()
    session.flush()
    audit.record(session, subject_type="registry_application", subject_id=application.id,
                 change={"status": {"from": previous, "to": "withdrawn"}})
    return application


@command("registry.objection.create")
def object_to(session: Session, actor: Actor, *, application_id: int, data: ObjectionCreate) -> Objection:
    """Anyone — a member or the public, with a name and a contact — may object during publicity."""
    allow_anyone()
    application = session.scalar(select(Application).where(Application.id == application_id).with_for_update())
    if application is None or application.status != "publicity":
        raise not_found("公示中的登记申请", "application in public comment")
    now = utcnow()
    if application.publicity_ends_at is not None and now > application.publicity_ends_at:
        raise Conflict("公示期已结束", "the public comment period has ended", code="publicity_over")
    objection = Objection(application_id=application.id, objector_member_id=actor.member_id,
                          objector_name=data.objector_name, contact=data.contact, reason=data.reason,
                          status="open", created_at=now)
    session.add(objection)
    session.flush()
    audit.record(session, subject_type="registry_application", subject_id=application.id, change={
        "objection": {"id": objection.id, "objector_name": data.objector_name, "reason": data.reason}})
    return objection


@command("registry.objection.resolve")
def resolve_objection(session: Session, actor: Actor, *, objection_id: int, data: ObjectionResolution) -> Objection:
    require_operator(actor)
    objection = session.scalar(select(Objection).where(Objection.id == objection_id).with_for_update())
    if objection is None:
        raise not_found("异议", "objection")
    if objection.status != "open":
        raise Conflict("该异议已处理", f"the objection is {objection.status}", code="bad_state")
    objection.status, objection.resolution, objection.resolved_at = data.decision, data.resolution, utcnow()
    session.flush()
    audit.record(session, subject_type="registry_application", subject_id=objection.application_id, change={
        "objection": {"id": objection.id, "status": {"from": "open", "to": data.decision},
                      "resolution": data.resolution}})
    return objection


def _objection_counts(session: Session, application_ids: list[int]) -> dict[int, dict[str, int]]:
    counts = {i: {"open": 0, "upheld": 0, "dismissed": 0} for i in application_ids}
    for application_id, status, n in session.execute(
            select(Objection.application_id, Objection.status, func.count())
            .where(Objection.application_id.in_(application_ids))
            .group_by(Objection.application_id, Objection.status)):
        counts[application_id][status] = n
    return counts


@query
def objection_counts(session: Session, *, application_id: int) -> dict[str, int]:
    return _objection_counts(session, [application_id])[application_id]


def _refuse_unless_decidable(application: Application, counts: dict[str, int], decision: ApplicationDecision,
                             now: dt.datetime) -> None:
    if application.status != "publicity":
        raise Conflict("申请不在公示审核阶段", f"application {application.id} is {application.status}",
                       code="bad_state")
    if decision.decision != "approve":
        return
    if counts["open"]:
        raise Conflict("尚有未处理的异议，处理后方可批准", f"{counts['open']} objection(s) not yet resolved",
                       code="objections_open")
    if counts["upheld"]:
        raise Conflict("异议成立，只能驳回", "an objection was upheld; the application can only be rejected",
                       code="objection_upheld")
    if application.publicity_ends_at is not None and now < application.publicity_ends_at:
        raise Conflict("公示期未满", f"the comment period ends at {application.publicity_ends_at.isoformat()}",
                       code="publicity_not_over")
    if application.duplicate_flag and not decision.duplicate_reviewed:
        raise Conflict("该数据指纹已被其他主体登记，须核查后确认",
                       "the fingerprint is registered by another holder; "
                       "confirm duplicate_reviewed after checking", code="duplicate_fingerprint")


def _decide(session: Session, settings: Settings, applications: Sequence[Application],
            decision: ApplicationDecision) -> None:
    """Decide locked applications: every check first, then the changes — so that a batch is
    decided whole or not at all — with one record per application and the certificates issued."""
    now = utcnow()
    counts = _objection_counts(session, [a.id for a in applications])
    for application in applications:
        _refuse_unless_decidable(application, counts[application.id], decision, now)
    for application in applications:
        application.status = "approved" if decision.decision == "approve" else "rejected"
        application.decision_reason, application.decided_at = decision.reason, now
        audit.record(session, subject_type="registry_application", subject_id=application.id, change={
            "status": {"from": "publicity", "to": application.status}, "reason": decision.reason,
            "duplicate_reviewed": decision.duplicate_reviewed})
    if decision.decision == "approve":
        _issue(session, settings, [(a, right) for a in applications for right in json.loads(a.rights_json)], now)


@command("registry.application.decide")
def decide_application(session: Session, actor: Actor, *, settings: Settings, application_id: int,
                       decision: ApplicationDecision) -> Application:
    """Approve (after the comment period, with every objection resolved and none upheld) or reject."""
    require_operator(actor)
    application = session.scalar(select(Application).where(Application.id == application_id).with_for_update())
    if application is None:
        raise not_found("登记申请", "application")
    _decide(session, settings, [application], decision)
    return application


# --- certificates: signed statements ------------------------------------------------------------

# Looked up once per session (one request or one unit of work, so one transaction): a batch of
# approvals signs with the same key and names the same holders many times.
_SIGNER = "shujiao.registry.signer"
_IDENTITIES = "shujiao.registry.identities"


def _signer(session: Session, settings: Settings) -> crypto.ActiveSigner:
    if _SIGNER not in session.info:
        session.info[_SIGNER] = crypto.active_signers(session, settings)[0]
    return session.info[_SIGNER]


def _member_json(session: Session, member_id: int | None) -> dict[str, Any] | None:
    if member_id is None:
        return None
    known = session.info.setdefault(_IDENTITIES, {})
    if member_id not in known:
        identity = members.public_identity(session, member_id)
        known[member_id] = {"member_id": member_id, "name": identity.name, "credit_code": identity.credit_code}
    return known[member_id]


_INSERT_STATEMENTS = insert(Statement.__table__)


def _emit(session: Session, settings: Settings, certificate: Certificate, event: str, detail: dict[str, Any],
          now: dt.datetime, *, first: bool = False, store: bool = True) -> dict[str, Any]:
    """Sign the certificate's new state and log it: one statement row and one audit record.

    With ``store=False`` the row is returned for the caller to insert with others in one
    statement (the ORM would insert rows with a binary column one by one)."""
    previous = None if first else session.scalar(
        select(Statement).where(Statement.certificate_id == certificate.id).order_by(Statement.seq.desc()).limit(1))
    hash_ = suite_hash(settings)
    signer = _signer(session, settings)
    document = {
        "type": STATEMENT_TYPE, "exchange": settings.registry.exchange_name, "number": certificate.number,
        "seq": (previous.seq + 1) if previous else 1, "event": event, "at": now, "status": certificate.status,
        "version": certificate.version, "holder": _member_json(session, certificate.holder_member_id),
        "right": certificate.right_type,
        "subject": {"type": certificate.subject_type, "id": certificate.subject_id, "title": certificate.title},
        "description": certificate.description, "content_sha256": certificate.content_sha256,
        "schema_fingerprint": certificate.schema_fingerprint, "source": certificate.source,
        "valid_from": certificate.valid_from, "valid_until": certificate.valid_until,
        "issued_at": certificate.issued_at, "pledgee": _member_json(session, certificate.pledgee_member_id),
        "detail": detail, "key_id": signer.key.id,
        "previous": f"{hash_.name}:{hash_.digest(previous.body.encode()).hex()}" if previous else "",
    }
    body = statement_bytes(document).decode("utf-8")
    signature = signer.signer.sign(body.encode("utf-8"))
    row = {"certificate_id": certificate.id, "seq": document["seq"], "event": event, "body": body,
           "signature": signature, "key_id": signer.key.id, "created_at": now}
    certificate.updated_at = now
    audit.record(session, subject_type="certificate", subject_id=certificate.number, change={
        "statement": body, "signature": base64.b64encode(signature).decode(), "key_id": signer.key.id})
    if store:
        session.execute(_INSERT_STATEMENTS, [row])
    return row


def _years_later(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a common year
        return moment.replace(year=moment.year + years, day=28)


def _new_certificate_ids(session: Session, count: int) -> list[int]:
    """Row ids for certificates about to be inserted, so that each row carries its number from the
    start: from the id sequence on PostgreSQL; on SQLite, after the largest id — safe because every
    transaction there begins IMMEDIATE, holding the one write lock (``db._configure_sqlite``)."""
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence('registry_certificate', 'id')) FROM generate_series(1, :n)"),
            {"n": count}))
    largest = session.scalar(select(func.coalesce(func.max(Certificate.id), 0)))
    return list(range(largest + 1, largest + 1 + count))


_INSERT_CERTIFICATES = insert(Certificate.__table__)


def _issue(session: Session, settings: Settings, grants: list[tuple[Application, str]], now: dt.datetime) -> None:
    """One certificate per (application, right), inserted together with its number, and signed."""
    beijing_year = (now + dt.timedelta(hours=8)).year
    rows = [{
        "id": certificate_id, "application_id": application.id, "holder_member_id": application.member_id,
        "right_type": right, "subject_type": application.subject_type, "subject_id": application.subject_id,
        "dataset_id": application.dataset_id, "title": application.title, "description": application.description,
        "source": application.source, "content_sha256": application.content_sha256,
        "schema_fingerprint": application.schema_fingerprint, "valid_from": now,
        "valid_until": _years_later(now, application.validity_years), "issued_at": now, "status": "valid",
        "version": 1, "pledgee_member_id": None, "pending_action": None, "pending_member_id": None,
        "pending_note": "", "updated_at": now,
        "number": str(numbers.CertificateNumber(settings.registry.exchange_code, beijing_year, right, certificate_id)),
    } for (application, right), certificate_id in zip(grants, _new_certificate_ids(session, len(grants)),
                                                      strict=True)]
    session.execute(_INSERT_CERTIFICATES, rows)
    # Each statement is built from the row as inserted (a detached object: nothing more to write).
    statements = [_emit(session, settings, Certificate(**row), "issued", {"application_id": row["application_id"]},
                        now, first=True, store=False) for row in rows]
    session.execute(_INSERT_STATEMENTS, statements)


def _certificate_for_update(session: Session, number: str) -> Certificate:
    parsed = numbers.parse(number)
    certificate = None
    if parsed is not None:
        certificate = session.scalar(select(Certificate).where(Certificate.number == str(parsed)).with_for_update())
    if certificate is None:
        raise not_found("登记凭证", "certificate")
    return certificate


def _held(session: Session, actor: Actor, number: str) -> Certificate:
    require_member(actor)
    certificate = _certificate_for_update(session, number)
    authorize(certificate.holder_member_id == actor.member_id, "仅凭证持有人可执行此操作",
              "only the certificate's holder may do this")
    return certificate


def _require_live(certificate: Certificate, now: dt.datetime) -> None:
    if certificate.status not in LIVE or certificate.valid_until <= now:
        raise Conflict("凭证已撤销或已过期", f"the certificate is {certificate.status}", code="certificate_not_live")


def _require_unpledged(certificate: Certificate) -> None:
    if certificate.status == "pledged":
        raise Conflict("凭证已质押，须质权人解除质押后方可办理",
                       "the certificate is pledged; the pledgee must release it "
                       "first", code="certificate_pledged")


def _held_free(session: Session, actor: Actor, number: str, now: dt.datetime) -> Certificate:
    """The holder's live certificate, neither pledged nor waiting on a request: free to transfer or pledge."""
    certificate = _held(session, actor, number)
    _require_live(certificate, now)
    _require_unpledged(certificate)
    if certificate.pending_action is not None:
        raise Conflict("凭证有待对方确认的转让或质押", f"a {certificate.pending_action} is awaiting the counterparty",
                       code="pending_request")
    return certificate


def _clear_pending(certificate: Certificate) -> None:
    certificate.pending_action, certificate.pending_member_id, certificate.pending_note = None, None, ""


@command("registry.certificate.change")
def change_certificate(session: Session, actor: Actor, *, settings: Settings, number: str,
                       data: CertificateChange) -> Certificate:
    """Change of details (变更登记): a new version; every earlier version stays in the history."""
    certificate = _held(session, actor, number)
    now = utcnow()
    _require_live(certificate, now)
    before: dict[str, Any] = {}
    if data.dataset_id is not None and data.dataset_id != certificate.dataset_id:
        dataset = catalog.get_dataset(session, actor, dataset_id=data.dataset_id)
        others = session.scalar(select(Certificate.number).where(
            Certificate.content_sha256 == dataset.sha256, Certificate.status.in_(LIVE),
            Certificate.holder_member_id != certificate.holder_member_id).limit(1))
        if others is not None:
            raise Conflict(f"该数据已由其他主体登记（{others}），请提交新的登记申请以便审核",
                           f"these bytes are registered by another holder ({others}); file a new application",
                           code="duplicate_fingerprint")
        before.update(dataset_id=certificate.dataset_id, content_sha256=certificate.content_sha256,
                      schema_fingerprint=certificate.schema_fingerprint)
        certificate.dataset_id, certificate.content_sha256 = dataset.id, dataset.sha256
        certificate.schema_fingerprint = rules.schema_fingerprint(dataset.columns_json)
    for field in ("title", "description"):
        value = getattr(data, field)
        if value is not None and value != getattr(certificate, field):
            before[field] = getattr(certificate, field)
            setattr(certificate, field, value)
    if not before:
        raise InvalidInput("没有要变更的内容", "nothing to change", code="no_change")
    certificate.version += 1
    _emit(session, settings, certificate, "changed", {"from": before, "reason": data.reason}, now)
    if "content_sha256" in before:
        _delist_uncovered(session, certificate, before["content_sha256"], now,
                          "登记凭证数据已变更 certificate now covers other data")
    return certificate


@command("registry.certificate.request_transfer")
def request_transfer(session: Session, actor: Actor, *, settings: Settings, number: str,
                     data: TransferRequest) -> Certificate:
    now = utcnow()
    certificate = _held_free(session, actor, number, now)
    to_member_id, identity = _approved_member(session, data.to)
    if to_member_id == certificate.holder_member_id:
        raise InvalidInput("不能转让给自己", "cannot transfer to the holder itself", code="same_member")
    if identity.kind == "operator":
        raise InvalidInput("受让方须为会员", "the transferee must be a member", code="not_a_member")
    certificate.pending_action, certificate.pending_member_id, certificate.pending_note = (
        "transfer", to_member_id, data.note)
    _emit(session, settings, certificate, "transfer_requested",
          {"to": _member_json(session, to_member_id), "note": data.note}, now)
    return certificate


@command("registry.certificate.request_pledge")
def request_pledge(session: Session, actor: Actor, *, settings: Settings, number: str,
                   data: PledgeRequest) -> Certificate:
    """Pledge to a financial institution member (质押登记); it takes effect when the pledgee accepts."""
    now = utcnow()
    certificate = _held_free(session, actor, number, now)
    pledgee_id, identity = _approved_member(session, data.pledgee)
    if identity.kind != "financial":
        raise InvalidInput("质权人须为金融机构会员", "the pledgee must be a financial institution member",
                           code="pledgee_not_financial")
    note = json.dumps({"contract_ref": data.contract_ref, "secured_amount_fen": data.secured_amount_fen})
    certificate.pending_action, certificate.pending_member_id, certificate.pending_note = (
        "pledge", pledgee_id, note)
    _emit(session, settings, certificate, "pledge_requested",
          {"pledgee": _member_json(session, pledgee_id), "contract_ref": data.contract_ref,
           "secured_amount_fen": data.secured_amount_fen}, now)
    return certificate


def _approved_member(session: Session, counterparty: Counterparty) -> tuple[int, members.PublicIdentity]:
    return members.approved_counterparty(session, member_id=counterparty.member_id,
                                         credit_code=counterparty.credit_code)


@command("registry.certificate.respond")
def respond(session: Session, actor: Actor, *, settings: Settings, number: str, data: Answer) -> Certificate:
    """The counterparty accepts or declines a transfer (受让确认) or a pledge (质权人确认)."""
    require_member(actor)
    certificate = _certificate_for_update(session, number)
    authorize(certificate.pending_member_id is not None and certificate.pending_member_id == actor.member_id,
              "仅被请求方可确认", "only the requested counterparty may respond")
    now = utcnow()
    action = certificate.pending_action
    if data.accept:
        _require_live(certificate, now)
    detail: dict[str, Any] = {"note": data.note}
    if not data.accept:
        event = f"{action}_declined"
    elif action == "transfer":
        detail["from"] = _member_json(session, certificate.holder_member_id)
        certificate.holder_member_id = actor.member_id  # type: ignore[assignment]
        event = "transferred"
    else:
        detail.update(json.loads(certificate.pending_note))
        certificate.status, certificate.pledgee_member_id = "pledged", actor.member_id
        event = "pledged"
    _clear_pending(certificate)
    _emit(session, settings, certificate, event, detail, now)
    if event == "transferred":
        _delist_uncovered(session, certificate, certificate.content_sha256, now,
                          "登记凭证已转让 the registration was transferred", holder=detail["from"]["member_id"])
    return certificate


@command("registry.certificate.cancel_request")
def cancel_request(session: Session, actor: Actor, *, settings: Settings, number: str) -> Certificate:
    certificate = _held(session, actor, number)
    if certificate.pending_action is None:
        raise Conflict("没有待确认的请求", "nothing is pending", code="bad_state")
    event = f"{certificate.pending_action}_cancelled"
    _clear_pending(certificate)
    _emit(session, settings, certificate, event, {}, utcnow())
    return certificate


@command("registry.certificate.release")
def release_pledge(session: Session, actor: Actor, *, settings: Settings, number: str, note: str = "") -> Certificate:
    """The pledgee releases the pledge (解除质押)."""
    require_member(actor)
    certificate = _certificate_for_update(session, number)
    authorize(certificate.status == "pledged" and certificate.pledgee_member_id == actor.member_id,
              "仅质权人可解除质押", "only the pledgee may release the pledge")
    pledgee = _member_json(session, certificate.pledgee_member_id)
    certificate.status, certificate.pledgee_member_id = "valid", None
    _emit(session, settings, certificate, "released", {"pledgee": pledgee, "note": note}, utcnow())
    return certificate


@command("registry.certificate.revoke")
def revoke(session: Session, actor: Actor, *, settings: Settings, number: str, data: Revocation) -> Certificate:
    """Revocation (注销/撤销) by the holder, or by the operator with a reason or a dispute ruling.
    A pledged certificate is revoked by no one until its pledgee releases it."""
    if data.basis == "holder":
        certificate = _held(session, actor, number)
    else:
        require_operator(actor)
        certificate = _certificate_for_update(session, number)
    if certificate.status not in LIVE:
        raise Conflict("凭证已撤销或已过期", f"the certificate is {certificate.status}", code="certificate_not_live")
    _require_unpledged(certificate)
    now = utcnow()
    certificate.status = "revoked"
    _clear_pending(certificate)
    _emit(session, settings, certificate, "revoked",
          {"basis": data.basis, "reason": data.reason, "ruling_ref": data.ruling_ref}, now)
    _delist_uncovered(session, certificate, certificate.content_sha256, now,
                      f"登记凭证已撤销 registration {certificate.number} revoked: {data.reason}")
    return certificate


@query
def due_for_expiry(session: Session, *, now: dt.datetime) -> list[str]:
    return list(session.scalars(select(Certificate.number).where(
        Certificate.status.in_(LIVE), Certificate.valid_until <= now).order_by(Certificate.id)).all())


@command("registry.certificate.expire")
def expire(session: Session, actor: Actor, *, settings: Settings, number: str, now: dt.datetime) -> Certificate:
    """Record that a certificate's validity ended (到期失效) and delist what depended on it."""
    require_system(actor)
    certificate = _certificate_for_update(session, number)
    if certificate.status not in LIVE or certificate.valid_until > now:
        raise Conflict("凭证未到期", "the certificate is not due to expire", code="bad_state")
    pledgee = _member_json(session, certificate.pledgee_member_id)
    certificate.status = "expired"
    _clear_pending(certificate)
    _emit(session, settings, certificate, "expired", {"pledgee": pledgee}, now)
    _delist_uncovered(session, certificate, certificate.content_sha256, now,
                      f"登记凭证已过期 registration {certificate.number} expired")
    return certificate


def _delist_uncovered(session: Session, certificate: Certificate, content_sha256: str, now: dt.datetime,
                      reason: str, *, holder: int | None = None) -> None:
    """Delist the listed products of the (former) holder over these bytes that no other live
    registration of theirs covers."""
    member_id = holder if holder is not None else certificate.holder_member_id
    # The certificate's new state is already in the row, so it no longer counts here itself.
    if rules.listing_registration(session, member_id=member_id, content_sha256=content_sha256, now=now) is not None:
        return
    listing.delist_for_registration(session, member_id=member_id, content_sha256=content_sha256, reason=reason)


# --- reading ----------------------------------------------------------------------------------

@query
def get_application(session: Session, actor: Actor, *, application_id: int) -> Application:
    """The applicant and the operator see an application whole; everyone else sees it only while
    it is public (公示) or decided, and never its documents (``documents`` checks separately)."""
    application = session.get(Application, application_id)
    if application is None:
        raise not_found("登记申请", "application")
    if not _may_see_private(actor, application) and application.status not in ("publicity", "approved", "rejected"):
        raise not_found("登记申请", "application")
    return application


def _may_see_private(actor: Actor, application: Application) -> bool:
    return actor.is_operator or (actor.member_id is not None and actor.member_id == application.member_id)


@query
def application_private(session: Session, actor: Actor, *, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if application is None or not _may_see_private(actor, application):
        raise not_found("登记申请", "application")
    return application


@query
def documents(session: Session, actor: Actor, *, application_id: int) -> Sequence[Document]:
    application = application_private(session, actor, application_id=application_id)
    return session.scalars(select(Document).where(Document.application_id == application.id)
                           .order_by(Document.id)).all()


@query
def document_for_download(session: Session, actor: Actor, *, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise not_found("材料", "document")
    application_private(session, actor, application_id=document.application_id)
    return document


@query
def objections(session: Session, actor: Actor, *, application_id: int) -> Sequence[Objection]:
    application = application_private(session, actor, application_id=application_id)
    return session.scalars(select(Objection).where(Objection.application_id == application.id)
                           .order_by(Objection.id)).all()


@query
def own_applications(session: Session, actor: Actor) -> Sequence[Application]:
    require_member(actor, approved=False)
    return session.scalars(select(Application).where(Application.member_id == actor.member_id)
                           .order_by(Application.id.desc())).all()


@query
def in_publicity(session: Session, *, limit: int = 100, offset: int = 0) -> Sequence[Application]:
    """The public comment list (登记公示), open to everyone."""
    return session.scalars(select(Application).where(Application.status == "publicity")
                           .order_by(Application.submitted_at.desc(), Application.id.desc())
                           .limit(limit).offset(offset)).all()


@query
def review_queue(session: Session, actor: Actor) -> Sequence[Application]:
    require_operator(actor)
    return session.scalars(select(Application).where(Application.status == "publicity")
                           .order_by(Application.publicity_ends_at, Application.id)).all()


@query
def certificates_of_application(session: Session, *, application_id: int) -> list[str]:
    return list(session.scalars(select(Certificate.number).where(Certificate.application_id == application_id)
                                .order_by(Certificate.id)).all())


@query
def get_certificate(session: Session, *, number: str) -> Certificate:
    """Certificates are public evidence: anyone may read one by its number."""
    parsed = numbers.parse(number)
    certificate = None if parsed is None else session.scalar(
        select(Certificate).where(Certificate.number == str(parsed)))
    if certificate is None:
        raise not_found("登记凭证", "certificate")
    return certificate


@query
def certificate_for_party(session: Session, actor: Actor, *, number: str) -> Certificate:
    """A certificate for those who may act on it — its holder, its pledgee, the counterparty of a
    pending request, the operator; 404 for anyone else (everyone can still read it publicly)."""
    certificate = get_certificate(session, number=number)
    me = actor.member_id
    involved = me is not None and me in (certificate.holder_member_id, certificate.pledgee_member_id,
                                         certificate.pending_member_id)
    if not (actor.is_operator or involved):
        raise not_found("登记凭证", "certificate")
    return certificate


@query
def history(session: Session, *, certificate_id: int) -> Sequence[Statement]:
    return session.scalars(select(Statement).where(Statement.certificate_id == certificate_id)
                           .order_by(Statement.seq)).all()


@query
def own_certificates(session: Session, actor: Actor) -> Sequence[Certificate]:
    """Held by the actor's member, pledged to it, or waiting for its answer."""
    require_member(actor, approved=False)
    me = actor.member_id
    return session.scalars(select(Certificate).where(
        (Certificate.holder_member_id == me) | (Certificate.pledgee_member_id == me)
        | (Certificate.pending_member_id == me)).order_by(Certificate.id.desc())).all()


@query
def effective_status(certificate: Certificate, now: dt.datetime) -> str:
    """A live certificate past its validity is expired even before the expiry job records it."""
    if certificate.status in LIVE and certificate.valid_until <= now:
        return "expired"
    return certificate.status


@query
def certificate_document(session: Session, settings: Settings, certificate: Certificate) -> CertificateView:
    """What the printed certificate shows: the current state, signed by its newest statement."""
    holder = members.public_identity(session, certificate.holder_member_id)
    latest = history(session, certificate_id=certificate.id)[-1]
    key = next(k for k in crypto.public_keys(session) if k.id == latest.key_id)
    status = effective_status(certificate, utcnow())
    return CertificateView(
        number=certificate.number or "", right_type=certificate.right_type,
        right_label=" ".join(RIGHTS[certificate.right_type]), holder_name=holder.name,
        holder_credit_code=holder.credit_code, subject_type=certificate.subject_type,
        subject_title=certificate.title, content_sha256=certificate.content_sha256,
        schema_fingerprint=certificate.schema_fingerprint, source_label=" ".join(SOURCES[certificate.source]),
        valid_from=certificate.valid_from.astimezone(SHANGHAI).date(),
        valid_until=certificate.valid_until.astimezone(SHANGHAI).date(), issued_at=certificate.issued_at,
        status=status, status_label=" ".join(CERTIFICATE_STATUSES[status]), version=certificate.version,
        key_id=latest.key_id, algorithm=key.algorithm, signature_b64=base64.b64encode(latest.signature).decode(),
        exchange_name=settings.registry.exchange_name,
    )


@query
def certificate_read(session: Session, certificate: Certificate, *, now: dt.datetime | None = None) -> CertificateRead:
    """The public view of a certificate with its whole signed history."""
    holder = members.public_identity(session, certificate.holder_member_id)
    names = members.member_names(session, {m for m in (certificate.pledgee_member_id, certificate.pending_member_id)
                                           if m is not None})
    return CertificateRead(
        number=certificate.number or "", status=effective_status(certificate, now or utcnow()),
        right_type=certificate.right_type, holder_name=holder.name, holder_credit_code=holder.credit_code,
        subject_type=certificate.subject_type, subject_title=certificate.title, description=certificate.description,
        content_sha256=certificate.content_sha256, schema_fingerprint=certificate.schema_fingerprint,
        source=certificate.source, valid_from=certificate.valid_from, valid_until=certificate.valid_until,
        issued_at=certificate.issued_at, version=certificate.version,
        pledgee_name=names.get(certificate.pledgee_member_id) if certificate.pledgee_member_id else None,
        pending_action=certificate.pending_action,
        pending_member_name=names.get(certificate.pending_member_id) if certificate.pending_member_id else None,
        history=[StatementRead(seq=s.seq, event=s.event, at=s.created_at, statement=s.body,
                               signature=base64.b64encode(s.signature).decode(), key_id=s.key_id)
                 for s in history(session, certificate_id=certificate.id)],
    )


@self_recording
def bundle(session: Session, *, settings: Settings, number: str) -> dict[str, Any]:
    """The offline verification bundle of the certificate's newest statement (``statement.py``):
    its log proof is against a signed checkpoint, signed now if none covers it yet."""
    certificate = get_certificate(session, number=number)
    latest = history(session, certificate_id=certificate.id)[-1]
    indexes = tlog.record_indexes(session, subject_type="certificate", subject_id=certificate.number or "")
    if len(indexes) != latest.seq:  # one record per statement, written when the statement's transaction commits
        raise Conflict("凭证记录尚未写入日志", "the certificate's records are not in the log yet", code="not_logged")
    return {
        "number": certificate.number, "statement": latest.body,
        "signature": base64.b64encode(latest.signature).decode(), "key_id": latest.key_id,
        "keys": {"suite": settings.crypto.suite, "keys": crypto.public_key_entries(session)},
        "log": tlog.proof_bundle(session, settings=settings, index=indexes[-1], with_record=True),
    }


@command("registry.application.decide_batch")
def decide_applications(session: Session, actor: Actor, *, settings: Settings, application_ids: Sequence[int],
                        decision: ApplicationDecision) -> list[Application]:
    """One decision for many applications in one transaction — a data bureau registering hundreds of
    public resources at once. Each application is decided exactly as ``decide_application`` decides
    it (same checks, its own audit record, its certificates signed and logged), and one record names
    the batch; if any of them cannot be decided so, none is (the transaction rolls back)."""
    require_operator(actor)
    most = 1000  # one transaction holds every row lock and every signature until it commits
    ids = list(application_ids)
    if not ids:
        raise InvalidInput("未指定登记申请", "no applications given", code="empty_batch")
    if len(ids) > most:
        raise InvalidInput(f"一次最多处理 {most} 件申请", f"at most {most} applications at a time",
                           code="batch_too_large")
    if len(set(ids)) != len(ids):
        raise InvalidInput("申请重复", "an application appears twice", code="duplicate_application")
    # Lock them all up front, in id order (so that two overlapping batches cannot deadlock).
    locked = {a.id: a for a in session.scalars(select(Application).where(Application.id.in_(ids))
                                               .order_by(Application.id).with_for_update())}
    missing = [i for i in ids if i not in locked]
    if missing:
        raise not_found(f"登记申请 {missing[0]} ", f"application {missing[0]}")
    decided = [locked[i] for i in ids]
    _decide(session, settings, decided, decision)
    audit.record(session, subject_type="registry_application", subject_id="*", change={
        "batch": {"decision": decision.decision, "reason": decision.reason,
                  "duplicate_reviewed": decision.duplicate_reviewed, "application_ids": ids}})
    return decided
