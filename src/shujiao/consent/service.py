"""Personal data authorization (个人数据授权, 一场景一授权): persons log in with a phone code, see the
scenarios products declare, grant consent per scenario and purpose for a period (a signed consent
receipt), see every use and revoke at any time; deliveries keep only the records of persons whose
consent is live (:func:`restriction_for`, :func:`record_use`).

Persons log in the way members' users do — a bearer token (or the page cookie) whose hash is stored
— with their own session table; a person token starts with ``p.`` so ``deps.actor_for_token`` knows
which table to look in. The audit log (public through the transparency log) names persons by id and
receipts by their hash, never a person key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac as std_hmac
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from shujiao.audit import canonical
from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.commands import (
    Actor, allow_anyone, authorize, command, inside_command, query, require_member, require_person,
)
from shujiao.config import Settings
from shujiao.consent import core
from shujiao.consent.models import Challenge, Consent, Person, PersonKey, PersonSession, Scenario, Use
from shujiao.consent.schemas import (
    ConsentDetail, ConsentRead, PersonRead, ScenarioCreate, ScenarioRead, UseRead,
)
from shujiao.crypto import service as crypto
from shujiao.crypto.suites import suite_hash
from shujiao.db import utcnow
from shujiao.errors import Conflict, DomainError, InvalidInput, NotAuthenticated, not_found
from shujiao.listing.models import Product
from shujiao.market import service as market
from shujiao.members import service as members

logger = logging.getLogger(__name__)

PERSON_TOKEN_PREFIX = "p."
# At most this many codes per phone within one code lifetime (a resend, a typo, then wait).
MAX_LIVE_CHALLENGES = 3


class TooManyCodes(DomainError):
    status_code = 429
    code = "too_many_codes"


class ConsentMissing(DomainError):
    """The product refuses delivery when any person in it has not consented (``on_missing=refuse``)."""

    status_code = 409
    code = "consent_missing"


def _key(settings: Settings) -> bytes:
    return core.hmac_key(settings.secret_key)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@query
def person_key(settings: Settings, *, kind: core.IdentifierKind, value: str) -> str:
    """The person key of a phone or ID number: what a provider's dataset carries in its key column
    (computed by the exchange, which alone holds the secret: ``shujiao consent person-key``)."""
    try:
        return core.person_key(_key(settings), settings.crypto.suite, kind, value)
    except core.BadIdentifier as exc:
        raise InvalidInput("手机号或身份证号格式不正确", f"malformed {kind}: {exc}", code="bad_identifier") from exc


# --- persons: phone verification and sessions --------------------------------------------------

@dataclass(frozen=True)
class StartedChallenge:
    challenge: Challenge
    code: str  # for the SMS backend only; the database keeps its keyed hash


def _code_hash(settings: Settings, challenge_key: str, code: str) -> str:
    return core.keyed_hash(_key(settings), settings.crypto.suite, f"code:{challenge_key}:{code}")


@command("consent.challenge.start")
def start_challenge(session: Session, actor: Actor, *, settings: Settings, phone: str) -> StartedChallenge:
    """Send a one-time code to a phone (with the ``log`` backend: write it to the server log)."""
    allow_anyone()
    key_hash = person_key(settings, kind="phone", value=phone)
    now = utcnow()
    live = session.scalar(select(func.count(Challenge.id)).where(
        Challenge.key_hash == key_hash, Challenge.expires_at > now, Challenge.used_at.is_(None)))
    if (live or 0) >= MAX_LIVE_CHALLENGES:
        raise TooManyCodes("验证码发送过于频繁，请稍后再试", "too many codes for this phone; try again later")
    code = f"{secrets.randbelow(10**6):06d}"
    row = Challenge(kind="phone", key_hash=key_hash, code_hash="", attempts=0, created_at=now,
                    expires_at=now + dt.timedelta(seconds=settings.consent.code_ttl_seconds))
    session.add(row)
    session.flush()
    row.code_hash = _code_hash(settings, str(row.id), code)
    session.flush()
    if settings.consent.sms_backend == "log":
        logger.info("consent: one-time code %s for challenge %s (sms_backend=log, no SMS sent)", code, row.id)
    audit.record(session, subject_type="consent_challenge", subject_id=row.id,
                 change={"kind": "phone", "expires_at": row.expires_at})
    return StartedChallenge(row, code)


@dataclass(frozen=True)
class LoginResult:
    """A login either opens a session or fails; a failure is returned, not raised, so that the
    counted attempt commits (a raised error would roll it back and allow endless guesses)."""

    token: str | None = None
    session_row: PersonSession | None = None
    error: DomainError | None = None


@command("consent.login")
def login(session: Session, actor: Actor, *, settings: Settings, challenge_id: int, code: str) -> LoginResult:
    allow_anyone()
    now = utcnow()
    challenge = session.scalar(select(Challenge).where(Challenge.id == challenge_id).with_for_update())
    bad = NotAuthenticated("验证码错误或已失效", "wrong or expired code", code="bad_code")
    if challenge is None or challenge.used_at is not None or challenge.expires_at <= now:
        audit.record(session, subject_type="consent_challenge", subject_id=challenge_id,
                     change={"login": "refused", "reason": "no live challenge"})
        return LoginResult(error=bad)
    if challenge.attempts >= settings.consent.code_max_attempts:
        audit.record(session, subject_type="consent_challenge", subject_id=challenge.id,
                     change={"login": "refused", "reason": "too many attempts"})
        return LoginResult(error=NotAuthenticated("尝试次数过多，请重新获取验证码",
                                                  "too many attempts; ask for a new code", code="too_many_attempts"))
    challenge.attempts += 1
    if not std_hmac.compare_digest(challenge.code_hash, _code_hash(settings, str(challenge.id), code.strip())):
        session.flush()
        audit.record(session, subject_type="consent_challenge", subject_id=challenge.id,
                     change={"login": "refused", "reason": "wrong code", "attempt": challenge.attempts})
        return LoginResult(error=bad)
    challenge.used_at = now
    key = session.scalar(select(PersonKey).where(PersonKey.key_hash == challenge.key_hash))
    if key is None:
        person = Person(created_at=now)
        session.add(person)
        session.flush()
        key = PersonKey(person_id=person.id, kind=challenge.kind, key_hash=challenge.key_hash, verified_at=now)
        session.add(key)
        audit.record(session, subject_type="consent_person", subject_id=person.id,
                     change={"created": {"verified": challenge.kind}})
    token = PERSON_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = PersonSession(token_sha256=_token_hash(token), person_id=key.person_id, created_at=now,
                        expires_at=now + dt.timedelta(hours=settings.consent.session_ttl_hours))
    session.add(row)
    session.flush()
    audit.record(session, subject_type="consent_person", subject_id=key.person_id,
                 change={"login": {"session_id": row.id, "challenge_id": challenge.id, "expires_at": row.expires_at}})
    return LoginResult(token=token, session_row=row)


@command("consent.logout")
def logout(session: Session, actor: Actor, *, token: str) -> None:
    require_person(actor)
    row = session.scalar(select(PersonSession).where(PersonSession.token_sha256 == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.person_id != actor.person_id:
        raise NotAuthenticated("会话不存在或已退出", "no such session")
    row.revoked_at = utcnow()
    session.flush()
    audit.record(session, subject_type="consent_person", subject_id=row.person_id, change={"logout": {"session_id": row.id}})


_ACTOR_FOR_TOKEN = select(PersonSession.person_id).where(
    PersonSession.token_sha256 == bindparam("token_sha256"), PersonSession.revoked_at.is_(None),
    PersonSession.expires_at > bindparam("now"))


@query
def actor_for_token(session: Session, token: str) -> Actor | None:
    """The person holding a person token, or None if it is unknown, expired or revoked."""
    person_id = session.execute(_ACTOR_FOR_TOKEN, {"token_sha256": _token_hash(token), "now": utcnow()}).scalar()
    if person_id is None:
        return None
    return Actor(kind="person", username=f"个人 #{person_id}", person_id=person_id)


@query
def me(session: Session, actor: Actor) -> PersonRead:
    if actor.kind != "person":
        raise NotAuthenticated("请先以个人身份登录", "log in as a person first")
    keys = session.scalars(select(PersonKey).where(PersonKey.person_id == actor.person_id).order_by(PersonKey.id))
    return PersonRead(person_id=actor.person_id or 0, keys=[{"kind": k.kind, "person_key": k.key_hash} for k in keys])


# --- scenarios --------------------------------------------------------------------------------

def _own_product(session: Session, actor: Actor, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or product.member_id != actor.member_id:
        raise not_found("产品", "product")
    return product


def _active_scenario(session: Session, product_id: int) -> Scenario | None:
    return session.scalar(select(Scenario).where(Scenario.product_id == product_id, Scenario.status == "active"))


@command("consent.scenario.declare")
def declare_scenario(session: Session, actor: Actor, *, settings: Settings, product_id: int,
                     data: ScenarioCreate) -> Scenario:
    """The provider declares that its product holds personal data, and under which scenario (一场景一授权:
    one active scenario per product; its buyers receive only the records of persons who consented)."""
    require_member(actor)
    product = _own_product(session, actor, product_id)
    if _active_scenario(session, product.id) is not None:
        raise Conflict("该产品已声明个人数据使用场景", "the product already declares a scenario", code="scenario_exists")
    dataset = catalog.dataset_for_delivery(session, dataset_id=product.dataset_id)
    columns = {c["name"] for c in json.loads(dataset.columns_json)}
    unknown = [n for n in [data.key_column, *data.data_items] if n not in columns]
    if unknown:
        raise InvalidInput(f"数据集中没有这些字段：{'、'.join(unknown)}",
                           f"the dataset has no such columns: {', '.join(unknown)}", code="unknown_columns",
                           columns=unknown)
    if len(set(data.data_items)) != len(data.data_items):
        raise InvalidInput("数据项重复", "a data item is named twice", code="bad_scenario")
    if data.max_days > settings.consent.max_consent_days:
        raise InvalidInput(f"授权期限最长 {settings.consent.max_consent_days} 天",
                           f"a consent lasts at most {settings.consent.max_consent_days} days", code="period_too_long")
    row = Scenario(product_id=product.id, member_id=product.member_id, name=data.name.strip(), purpose=data.purpose,
                   description=data.description.strip(), data_items_json=json.dumps(data.data_items, ensure_ascii=False),
                   key_column=data.key_column, max_days=data.max_days, sensitive=data.sensitive,
                   on_missing=data.on_missing, status="active", created_by_user_id=actor.user_id, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, subject_type="consent_scenario", subject_id=row.id, change={
        "declared": {"product_id": product.id, "name": row.name, "purpose": row.purpose, "data_items": data.data_items,
                     "key_column": row.key_column, "max_days": row.max_days, "sensitive": row.sensitive,
                     "on_missing": row.on_missing}})
    return row


def _live_clause(now: dt.datetime) -> Any:
    return (Consent.revoked_at.is_(None)) & (Consent.granted_at <= now) & (Consent.expires_at > now)


def _scenario_reads(session: Session, rows: Sequence[Scenario], *, counts_for: Actor | None = None) -> list[ScenarioRead]:
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(list({r.product_id for r in rows}))))}
    names = members.member_names(session, {r.member_id for r in rows})
    counts: dict[int, int] = {}
    if counts_for is not None and rows:
        counts = dict(session.execute(select(Consent.scenario_id, func.count(Consent.id)).where(
            Consent.scenario_id.in_([r.id for r in rows]), _live_clause(utcnow())).group_by(Consent.scenario_id)).all())
    reads = []
    for r in rows:
        zh, en = core.PURPOSES[r.purpose]
        may_count = counts_for is not None and (counts_for.is_operator or counts_for.member_id == r.member_id)
        reads.append(ScenarioRead(
            id=r.id, product_id=r.product_id, product_title=products[r.product_id].title,
            provider_name=names.get(r.member_id, ""), name=r.name, purpose=r.purpose, purpose_zh=zh, purpose_en=en,
            description=r.description, data_items=json.loads(r.data_items_json), key_column=r.key_column,
            max_days=r.max_days, sensitive=r.sensitive, on_missing=r.on_missing, status=r.status,
            created_at=r.created_at, live_consents=counts.get(r.id, 0) if may_count else None))
    return reads


@query
def open_scenarios(session: Session, *, limit: int = 200, offset: int = 0) -> list[ScenarioRead]:
    """The scenarios of listed products that want persons' data: what a person may consent to."""
    rows = session.scalars(select(Scenario).join(Product, Product.id == Scenario.product_id)
                           .where(Scenario.status == "active", Product.status == "listed")
                           .order_by(Scenario.id.desc()).limit(limit).offset(offset)).all()
    return _scenario_reads(session, rows)


@query
def product_scenarios(session: Session, actor: Actor, *, product_id: int) -> list[ScenarioRead]:
    """A product's scenarios: public for a listed product (like the product); its provider and the
    operator also see how many consents are live (a count, never who)."""
    product = session.get(Product, product_id)
    if product is None or (product.status != "listed" and not (
            actor.is_operator or (actor.member_id is not None and product.member_id == actor.member_id))):
        raise not_found("产品", "product")
    rows = session.scalars(select(Scenario).where(Scenario.product_id == product.id).order_by(Scenario.id)).all()
    return _scenario_reads(session, rows, counts_for=actor)


# --- consents ---------------------------------------------------------------------------------

_SIGNER = "shujiao.consent.signer"


def _signer(session: Session, settings: Settings) -> crypto.ActiveSigner:
    if _SIGNER not in session.info:
        session.info[_SIGNER] = crypto.active_signers(session, settings)[0]
    return session.info[_SIGNER]


def _signed(session: Session, settings: Settings, document: dict[str, Any]) -> tuple[str, bytes, str, str]:
    """The document as canonical JSON, its signature, the key id and its digest (``sm3:…``) for the log."""
    signer = _signer(session, settings)
    document["shujiao"]["keyId"] = signer.key.id
    body = canonical.dumps(document)
    hash_ = suite_hash(settings)
    return body, signer.signer.sign(body.encode()), signer.key.id, f"{hash_.name}:{hash_.digest(body.encode()).hex()}"


def _principal(session: Session, person_id: int) -> str:
    key = session.scalar(select(PersonKey.key_hash).where(PersonKey.person_id == person_id).order_by(PersonKey.id))
    assert key is not None  # every person is made with a verified key
    return key


@command("consent.grant")
def grant(session: Session, actor: Actor, *, settings: Settings, scenario_id: int, days: int | None = None) -> Consent:
    """A person consents to one scenario's purpose for a period; the exchange signs the receipt."""
    require_person(actor)
    assert actor.person_id is not None
    scenario = session.get(Scenario, scenario_id)
    product = session.get(Product, scenario.product_id) if scenario else None
    if scenario is None or product is None or scenario.status != "active" or product.status != "listed":
        raise not_found("授权场景", "scenario")
    days = scenario.max_days if days is None else days
    if days > scenario.max_days:
        raise InvalidInput(f"该场景授权期限最长 {scenario.max_days} 天",
                           f"this scenario asks for at most {scenario.max_days} days", code="period_too_long")
    now = utcnow()
    live = session.scalar(select(Consent.id).where(Consent.person_id == actor.person_id,
                                                   Consent.scenario_id == scenario.id, _live_clause(now)))
    if live is not None:
        raise Conflict("已授权且仍在有效期内", "a live consent to this scenario exists", code="already_consented")
    identity = members.public_identity(session, scenario.member_id)
    receipt_id = str(uuid.uuid4())
    expires_at = now + dt.timedelta(days=days)
    document = core.receipt(
        receipt_id=receipt_id, principal=_principal(session, actor.person_id), granted_at=now, expires_at=expires_at,
        controller={"name": identity.name, "credit_code": identity.credit_code}, service=product.title,
        purpose=scenario.purpose, scenario={"id": scenario.id, "product_id": product.id, "name": scenario.name,
                                            "data_items": json.loads(scenario.data_items_json)},
        sensitive=scenario.sensitive, policy_url=f"{settings.registry.public_base_url}/products/{product.id}",
        exchange=settings.registry.exchange_name, key_id="")
    body, signature, key_id, digest = _signed(session, settings, document)
    row = Consent(receipt_id=receipt_id, person_id=actor.person_id, scenario_id=scenario.id, purpose=scenario.purpose,
                  granted_at=now, expires_at=expires_at, receipt_json=body, signature=signature, key_id=key_id)
    session.add(row)
    session.flush()
    audit.record(session, subject_type="consent", subject_id=receipt_id, change={
        "event": "grant", "person_id": actor.person_id, "scenario_id": scenario.id, "purpose": scenario.purpose,
        "expires_at": expires_at, "receipt": digest, "signature": base64.b64encode(signature).decode(),
        "key_id": key_id})
    return row


def _own_consent(session: Session, actor: Actor, consent_id: int, *, for_update: bool = False) -> Consent:
    stmt = select(Consent).where(Consent.id == consent_id)
    row = session.scalar(stmt.with_for_update() if for_update else stmt)
    if row is None or actor.kind != "person" or row.person_id != actor.person_id:
        raise not_found("授权", "consent")
    return row


@command("consent.revoke")
def revoke(session: Session, actor: Actor, *, settings: Settings, consent_id: int) -> Consent:
    """Withdraw a consent at any time (撤回授权); the next delivery leaves the person's records out."""
    require_person(actor)
    row = _own_consent(session, actor, consent_id, for_update=True)
    if row.revoked_at is not None:
        raise Conflict("该授权已撤回", "the consent is already revoked", code="already_revoked")
    now = utcnow()
    document = core.revocation(receipt_id=row.receipt_id, principal=_principal(session, row.person_id),
                               revoked_at=now, exchange=settings.registry.exchange_name, key_id="")
    body, signature, key_id, digest = _signed(session, settings, document)
    row.revoked_at, row.revocation_json, row.revocation_signature = now, body, signature
    session.flush()
    audit.record(session, subject_type="consent", subject_id=row.receipt_id, change={
        "event": "revoke", "person_id": row.person_id, "scenario_id": row.scenario_id,
        "revocation": digest, "signature": base64.b64encode(signature).decode(), "key_id": key_id})
    return row


def _status(row: Consent, now: dt.datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "live" if row.expires_at > now else "expired"


def _consent_reads(session: Session, rows: Sequence[Consent]) -> list[ConsentRead]:
    scenarios = {s.id: s for s in session.scalars(select(Scenario).where(Scenario.id.in_(list({r.scenario_id for r in rows}))))}
    titles = dict(session.execute(select(Product.id, Product.title).where(
        Product.id.in_(list({s.product_id for s in scenarios.values()})))).all())
    uses = dict(session.execute(select(Use.consent_id, func.count(Use.id)).where(
        Use.consent_id.in_([r.id for r in rows])).group_by(Use.consent_id)).all()) if rows else {}
    now = utcnow()
    return [ConsentRead(id=r.id, receipt_id=r.receipt_id, scenario_id=r.scenario_id,
                        product_id=scenarios[r.scenario_id].product_id, scenario_name=scenarios[r.scenario_id].name,
                        product_title=titles.get(scenarios[r.scenario_id].product_id, ""), purpose=r.purpose,
                        status=_status(r, now), granted_at=r.granted_at, expires_at=r.expires_at,
                        revoked_at=r.revoked_at, uses=uses.get(r.id, 0)) for r in rows]


@query
def my_consents(session: Session, actor: Actor) -> list[ConsentRead]:
    """The person's own consents, newest first (我的授权)."""
    if actor.kind != "person":
        raise NotAuthenticated("请先以个人身份登录", "log in as a person first")
    rows = session.scalars(select(Consent).where(Consent.person_id == actor.person_id).order_by(Consent.id.desc())).all()
    return _consent_reads(session, rows)


@query
def consent_detail(session: Session, actor: Actor, *, consent_id: int) -> ConsentDetail:
    """One of the person's consents with its signed receipt and every use of it; 404 for anyone else."""
    row = _own_consent(session, actor, consent_id)
    read = _consent_reads(session, [row])[0]
    uses = session.scalars(select(Use).where(Use.consent_id == row.id).order_by(Use.id.desc())).all()
    names = members.member_names(session, {u.buyer_member_id for u in uses})
    return ConsentDetail(
        **read.model_dump(), receipt=json.loads(row.receipt_json), receipt_json=row.receipt_json,
        signature=base64.b64encode(row.signature).decode(), key_id=row.key_id,
        revocation=json.loads(row.revocation_json) if row.revocation_json else None,
        revocation_json=row.revocation_json,
        revocation_signature=base64.b64encode(row.revocation_signature).decode() if row.revocation_signature else None,
        use_log=[UseRead(channel=u.channel, order_id=u.order_id, buyer_name=names.get(u.buyer_member_id, ""),
                         reference=u.reference, rows=u.rows, used_at=u.used_at) for u in uses])


# --- enforcement ------------------------------------------------------------------------------

@query
def restriction_for(session: Session, *, product_id: int, now: dt.datetime | None = None) -> core.Restriction | None:
    """The live consents of the product's scenario, or None when the product declares no personal data.
    Every delivery of a product with a scenario goes through it."""
    scenario = _active_scenario(session, product_id)
    if scenario is None:
        return None
    now = now or utcnow()
    rows = session.execute(
        select(PersonKey.key_hash, Consent.id, Consent.person_id)
        .join(Consent, Consent.person_id == PersonKey.person_id)
        .where(Consent.scenario_id == scenario.id, _live_clause(now)).order_by(Consent.id)).all()
    allowed = {key: (consent_id, person_id) for key, consent_id, person_id in rows}
    tag = hashlib.sha256(json.dumps([scenario.id, scenario.key_column, sorted(c for c, _ in allowed.values())])
                         .encode()).hexdigest()[:16]
    return core.Restriction(scenario_id=scenario.id, key_column=scenario.key_column, on_missing=scenario.on_missing,
                            allowed=allowed, tag=tag)


@query
def refusal(restriction: core.Restriction, screened: core.Screened) -> ConsentMissing | None:
    """The error to answer with when the product refuses delivery over persons without consent."""
    if restriction.on_missing != "refuse" or screened.rows_excluded == 0:
        return None
    return ConsentMissing(f"数据中有 {screened.rows_excluded} 条记录的个人未授权，提供方要求此时拒绝交付",
                          f"{screened.rows_excluded} records belong to persons without live consent; "
                          "the product refuses delivery then", rows_excluded=screened.rows_excluded)


@inside_command
def record_use(session: Session, *, restriction: core.Restriction, screened: core.Screened, order_id: int,
               channel: str, reference: Any, refused: bool = False) -> None:
    """Record a delivery's screening: one use per consenting person whose records went out (what each
    person sees), and one audit record with how many records were left out."""
    order = market.order_row(session, order_id=order_id)
    assert order is not None
    now = utcnow()
    uses = [{"consent_id": restriction.allowed[key][0], "person_id": restriction.allowed[key][1],
             "scenario_id": restriction.scenario_id, "order_id": order_id, "buyer_member_id": order.buyer_member_id,
             "channel": channel, "reference": str(reference), "rows": rows, "used_at": now}
            for key, rows in screened.used.items() if key in restriction.allowed]
    if uses and not refused:  # one multi-row INSERT: a delivery may touch many persons
        session.execute(insert(Use), uses)
    audit.record(session, subject_type="consent_scenario", subject_id=restriction.scenario_id, change={"use": {
        "channel": channel, "order_id": order_id, "reference": str(reference), "rows_in": screened.rows_in,
        "rows_kept": 0 if refused else screened.rows_kept, "rows_excluded": screened.rows_excluded,
        "persons": 0 if refused else len(screened.used), "refused": refused, "consent_tag": restriction.tag}})


@command("consent.use.refused")
def record_refusal(session: Session, actor: Actor, *, refused: ConsentMissing, channel: str) -> None:
    """Record a delivery refused because persons in it have not consented, after the refused
    transaction rolled back (the buyer's own order, as the refused download had checked)."""
    order = market.order_row(session, order_id=int(refused.details["order_id"]))
    authorize(order is not None and (actor.is_system or order.buyer_member_id == actor.member_id))
    audit.record(session, subject_type="consent_scenario", subject_id=refused.details["scenario_id"], change={"use": {
        "channel": channel, "order_id": refused.details["order_id"], "rows_in": refused.details.get("rows_in"),
        "rows_kept": 0, "rows_excluded": refused.details["rows_excluded"], "persons": 0, "refused": True,
        "consent_tag": refused.details.get("consent_tag")}})
