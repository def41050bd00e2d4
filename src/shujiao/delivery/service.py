"""Delivery commands: issue a download link, and serve a download through it."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.storage import FileStorage
from shujiao.commands import Actor, command, query, require_member
from shujiao.config import Settings
from shujiao.consent import core as consent_core
from shujiao.consent import service as consent
from shujiao.db import utcnow
from shujiao.delivery.models import DeliveryDownload, DeliveryLink
from shujiao.errors import DomainError, NotFound
from shujiao.fingerprint import service as fingerprint
from shujiao.market import service as market
from shujiao.usage import service as usage


class LinkExpired(DomainError):
    status_code = 410
    code = "link_expired"


_link = DeliveryLink.__table__
_download = DeliveryDownload.__table__
# Built once: every trade issues a link and downloads through it.
_INSERT_LINK = insert(_link).returning(_link.c.id)
_FIND_LINK = select(_link.c.id, _link.c.order_id, _link.c.member_id, _link.c.expires_at).where(
    _link.c.token_sha256 == bindparam("token_sha256"))
_INSERT_DOWNLOAD = insert(_download).returning(_download.c.id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    token: str
    link_id: int
    expires_at: dt.datetime


@command("delivery.link.issue")
def issue_link(session: Session, actor: Actor, *, order_id: int, ttl: dt.timedelta) -> IssuedLink:
    require_member(actor)
    # The contract's check without taking a download (the download itself takes one).
    grant = usage.authorize_use(session, actor, order_id=order_id, action="download", count=0)
    order = market.deliverable_order(session, actor, order_id=grant.order_id)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + ttl
    link_id = session.execute(_INSERT_LINK, {
        "order_id": order.id, "member_id": order.buyer_member_id, "token_sha256": _hash(token),
        "created_at": now, "expires_at": expires_at}).scalar_one()
    audit.record(session, subject_type="order", subject_id=order.id,
                 change={"delivery_link": {"id": link_id, "expires_at": expires_at}})
    return IssuedLink(token, link_id, expires_at)


@dataclass(frozen=True)
class Download:
    chunks: Iterator[bytes]  # the plaintext, decrypted as it is read; read it once
    filename: str
    size_bytes: int
    sha256: str


@command("delivery.download")
def download(
    session: Session, actor: Actor, *, token: str, settings: Settings, storage: FileStorage,
    client_address: str = "",
) -> Download:
    """Serve a download to the buyer the link was made for; the first one marks the order delivered.

    The file is opened and its first chunk decrypted before anything is recorded, so a missing or
    damaged file is refused (503) without marking the order delivered."""
    require_member(actor)
    link = session.execute(_FIND_LINK, {"token_sha256": _hash(token)}).first()
    # A link used by anyone but its buyer looks like no link at all.
    if link is None or link.member_id != actor.member_id:
        raise NotFound("下载链接无效", "no such download link", code="link_not_found")
    if link.expires_at <= utcnow():
        raise LinkExpired("下载链接已过期，请重新获取", "the download link has expired; ask for a new one")
    # Window, mode, revocation and the download count (taken atomically; rolled back with the
    # rest if the file cannot be served).
    usage.authorize_use(session, actor, order_id=link.order_id, action="download")
    order = market.deliverable_order(session, actor, order_id=link.order_id)
    dataset = catalog.dataset_for_delivery(session, dataset_id=order.dataset_id)
    # Personal data (个人数据授权): only the records of persons with live consent go out.
    restriction = consent.restriction_for(session, product_id=order.product_id)
    screen = consent_core.Screen(restriction) if restriction is not None else None
    # The buyer's own fingerprinted copy (数据指纹), when the product's dataset carries one.
    copy = fingerprint.serve_copy(session, settings=settings, storage=storage, order_id=order.id, screen=screen)
    if screen is not None:
        assert restriction is not None
        refused = consent.refusal(restriction, screen.screened)
        if refused is not None:
            refused.details.update(order_id=order.id, scenario_id=restriction.scenario_id,
                                   rows_in=screen.screened.rows_in, consent_tag=restriction.tag)
            raise refused  # the caller records the refusal after rolling back (consent.record_refusal)
        consent.record_use(session, restriction=restriction, screened=screen.screened, order_id=order.id,
                           channel="download", reference=f"link:{link.id}")
    if copy is not None:
        chunks, size_bytes, sha256 = copy.chunks, copy.size_bytes, copy.sha256
    else:
        chunks = catalog.dataset_content(session, settings=settings, storage=storage, dataset=dataset)
        size_bytes, sha256 = dataset.size_bytes, dataset.sha256
    if order.status == "paid":
        market.record_delivery(session, actor, order_id=order.id)
    download_id = session.execute(_INSERT_DOWNLOAD, {
        "link_id": link.id, "order_id": order.id, "user_id": actor.user_id, "size_bytes": size_bytes,
        "sha256": sha256, "client_address": client_address[:64], "downloaded_at": utcnow()}).scalar_one()
    audit.record(session, subject_type="order", subject_id=order.id,
                 change={"download": {"id": download_id, "link_id": link.id, "sha256": sha256,
                                      "size_bytes": size_bytes, "fingerprinted": copy is not None and copy.fingerprinted,
                                      "consent_screened": screen is not None}})
    return Download(chunks=chunks, filename=dataset.filename, size_bytes=size_bytes, sha256=sha256)


@query
def downloads_of(session: Session, actor: Actor, *, order_id: int) -> Sequence[DeliveryDownload]:
    order = market.get_order(session, actor, order_id=order_id)
    return session.scalars(
        select(DeliveryDownload).where(DeliveryDownload.order_id == order.id).order_by(DeliveryDownload.id)
    ).all()
