"""Delta Sharing commands and queries: profiles (bearer tokens) per contract, the check every
protocol request makes, the buyer's copy as Parquet, and the pre-signed file URLs.

The contract id is the order id. Every protocol request checks the profile's token (hashed, in the
database) and then :func:`shujiao.usage.service.authorize_use` with ``action="read"``, so a revoked,
refunded or expired contract is refused even while its token would still be valid."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.storage import FileStorage
from shujiao.commands import Actor, authorize, command, query, require_member, require_system
from shujiao.config import Settings
from shujiao.consent import core as consent_core
from shujiao.consent import service as consent
from shujiao.db import utcnow
from shujiao.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied
from shujiao.fingerprint import scheme as fingerprint_scheme
from shujiao.fingerprint import service as fingerprint
from shujiao.members.models import Member, MemberUser
from shujiao.market import service as market
from shujiao.sharing import protocol
from shujiao.sharing.models import SharingProfile, SharingRead
from shujiao.usage import service as usage
from shujiao.usage.service import Grant

# Listing and metadata requests check the contract without counting a use; the query (which hands
# out the file URLs) is the read that counts.
CHECK_ONLY = 0
READ = 1


class SharingTokenInvalid(NotAuthenticated):
    code = "sharing_token_invalid"


class SharingDenied(PermissionDenied):
    code = "sharing_denied"


class FileUrlInvalid(PermissionDenied):
    code = "file_url_invalid"


class VersionNotFound(DomainError):
    status_code = 400
    code = "version_not_found"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- profiles ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedProfile:
    profile_id: int
    order_id: int
    token: str  # shown once, in the profile file; only its hash is kept
    expires_at: dt.datetime


_profile = SharingProfile.__table__
_INSERT_PROFILE = insert(_profile).returning(_profile.c.id)


@command("sharing.profile.issue")
def issue_profile(session: Session, actor: Actor, *, order_id: int, settings: Settings) -> IssuedProfile:
    """A new profile for the buyer's contract; any earlier profile of the contract stops working
    (rotation). It expires when the contract ends, or after the configured term if it has no end."""
    require_member(actor)
    grant = usage.authorize_use(session, actor, order_id=order_id, action="read", count=CHECK_ONLY)
    now = utcnow()
    expires_at = grant.ends_at or now + dt.timedelta(days=settings.sharing.profile_ttl_days)
    if expires_at <= now:
        raise SharingDenied("合约已到期，不能再签发共享凭证", "the contract has ended; no new profile can be issued")
    revoked = session.execute(
        update(_profile).where(_profile.c.order_id == grant.order_id, _profile.c.revoked_at.is_(None))
        .values(revoked_at=now).returning(_profile.c.id)).scalars().all()
    token = secrets.token_urlsafe(32)
    profile_id = session.execute(_INSERT_PROFILE, {
        "order_id": grant.order_id, "member_id": grant.buyer_member_id, "issued_by_user_id": actor.user_id,
        "token_sha256": _hash(token), "created_at": now, "expires_at": expires_at}).scalar_one()
    audit.record(session, subject_type="order", subject_id=grant.order_id,
                 change={"delta_sharing_profile": {"id": profile_id, "expires_at": expires_at,
                                                   "revoked": list(revoked)}})
    return IssuedProfile(profile_id, grant.order_id, token, expires_at)


# Built once: every protocol request runs it.
_LIVE_PROFILE = (
    select(SharingProfile.id, SharingProfile.order_id, MemberUser.id.label("user_id"), MemberUser.username,
           MemberUser.role, Member.id.label("member_id"), Member.kind, Member.status)
    .join(MemberUser, MemberUser.id == SharingProfile.issued_by_user_id)
    .join(Member, Member.id == SharingProfile.member_id)
    .where(SharingProfile.revoked_at.is_(None), SharingProfile.expires_at > bindparam("now"))
)
_BY_TOKEN = _LIVE_PROFILE.where(SharingProfile.token_sha256 == bindparam("token_sha256"))
_BY_ID = _LIVE_PROFILE.where(SharingProfile.id == bindparam("profile_id"))


@dataclass(frozen=True)
class Access:
    """A protocol request that passed both checks: a live token and a contract usable now."""

    profile_id: int
    actor: Actor
    grant: Grant

    @property
    def share(self) -> str:
        return protocol.share_name(self.grant.order_id)

    @property
    def table(self) -> str:
        return protocol.table_name(self.grant.product_id)

    def require_table(self, *, share: str, schema: str | None = None, table: str | None = None) -> None:
        """Names other than the token's own share, schema and table look like nothing at all."""
        if share != self.share:
            raise NotFound(f"共享 {share} 不存在", f"share {share} not found", code="share_not_found")
        if schema is not None and schema != protocol.SCHEMA:
            raise NotFound(f"模式 {schema} 不存在", f"schema {schema} not found", code="schema_not_found")
        if table is not None and table != self.table:
            raise NotFound(f"表 {table} 不存在", f"table {table} not found", code="table_not_found")


def _actor(row: Any) -> Actor:
    # The buyer's member acting through the profile; the username says it is not a login.
    return Actor(kind="user", username=f"{row.username} (delta-sharing)", user_id=row.user_id,
                 member_id=row.member_id, member_kind=row.kind, member_status=row.status, role=row.role)


@query
def open_share(session: Session, *, token: str | None, reading: bool = False) -> Access:
    """The access a bearer token gives, or a refusal: 401 for a token that is unknown, rotated or
    past its expiry; otherwise whatever :func:`usage.authorize_use` refuses (revoked, refunded,
    ended, mode not offered...), which the protocol layer answers with a 403."""
    row = session.execute(_BY_TOKEN, {"token_sha256": _hash(token or ""), "now": utcnow()}).first() if token else None
    if row is None:
        raise SharingTokenInvalid("共享凭证无效、已更换或已过期", "the sharing token is invalid, rotated or expired")
    # The usage domain's refusals go out as they are (the protocol layer makes them 403s), so that
    # whatever it does with a refusal (logging a denial) happens for Delta Sharing reads too.
    grant = usage.authorize_use(session, _actor(row), order_id=row.order_id, action="read",
                                count=READ if reading else CHECK_ONLY)
    if grant.ends_at is not None and grant.ends_at <= utcnow():
        raise SharingDenied("合约已到期", "the contract has ended", reason="window")
    return Access(row.id, _actor(row), grant)


# --- the buyer's copy -------------------------------------------------------------------------

@dataclass(frozen=True)
class BuyerCopy:
    path: Path  # a Parquet file in the sharing cache
    size_bytes: int
    num_records: int
    schema: pa.Schema
    # Personal data: the live consents the copy was screened by, and what the screening kept.
    consent: tuple[consent_core.Restriction, consent_core.Screened] | None = None


def _screened_path(path: Path) -> Path:
    """Beside a screened copy: its consent counts, so that every read of it records its uses."""
    return path.with_name(path.name + ".consent.json")


def _cache_dir(settings: Settings) -> Path:
    return settings.data_dir / "sharing-cache"


def _cache_path(settings: Settings, grant: Grant, dataset_sha256: str, policy_tag: str) -> Path:
    return _cache_dir(settings) / f"order-{grant.order_id}-{dataset_sha256[:32]}-{policy_tag}.parquet"


def _order_of(cached: Path) -> int:
    return int(cached.name.split("-")[1])


@command("sharing.cache.prune")
def prune_cache(session: Session, actor: Actor, *, settings: Settings) -> list[str]:
    """Delete the cached copies of contracts no one may read any more: no live profile, or a profile
    whose contract ``authorize_use`` now refuses (ended, revoked, refunded). Run it from cron
    (``shujiao sharing prune-cache``); a copy still needed is rebuilt by the next query."""
    require_system(actor)
    cached = sorted(_cache_dir(settings).glob("order-*-*.parquet")) if _cache_dir(settings).is_dir() else []
    readable: set[int] = set()
    for row in session.execute(_LIVE_PROFILE.where(SharingProfile.order_id.in_({_order_of(f) for f in cached})),
                               {"now": utcnow()}):
        try:
            usage.authorize_use(session, _actor(row), order_id=row.order_id, action="read", count=CHECK_ONLY)
            readable.add(row.order_id)
        except DomainError:
            continue
    removed = [f for f in cached if _order_of(f) not in readable]
    for path in removed:
        path.unlink(missing_ok=True)
        _screened_path(path).unlink(missing_ok=True)
    audit.record(session, subject_type="sharing_cache", subject_id=0,
                 change={"removed": [path.name for path in removed], "kept": len(cached) - len(removed)})
    return [path.name for path in removed]


class NotShareable(DomainError):
    status_code = 422
    code = "not_shareable"


def _read_plaintext(path: Path, file_format: str) -> pa.Table:
    """The file as an Arrow table, read by DuckDB as the catalog read it at upload (same types)."""
    reader = "read_csv" if file_format == "csv" else "read_parquet"
    connection = duckdb.connect()
    try:
        return connection.sql(f"SELECT * FROM {reader}($path)", params={"path": str(path)}).to_arrow_table()
    except duckdb.Error as exc:
        # 4xx, not 5xx: the official client retries 5xx for minutes, and this will not get better.
        raise NotShareable("该数据无法以表格形式共享，请联系交易中心", "this dataset cannot be shared as a table; "
                           "contact the exchange") from exc
    finally:
        connection.close()


@query
def buyer_copy_parquet(session: Session, *, settings: Settings, storage: FileStorage, grant: Grant) -> BuyerCopy:
    """The buyer's copy of the contract's dataset as Parquet: made once per contract and dataset,
    then served from the sharing cache.

    This is the one place the buyer's copy is produced: the per-buyer fingerprint (数据指纹) plugs in
    at :func:`_buyer_table`, and every copy (all of a contract's Delta Sharing reads) comes from here.

    Cache choice: the converted Parquet is kept in plaintext under ``<data_dir>/sharing-cache``
    (directory mode 0700), so the file endpoint is a plain ranged ``FileResponse`` — what makes the
    official client's read as fast as a local one. The vault copy stays the only encrypted original;
    the cache is derived data, safe to delete at any time (the next query rebuilds it;
    ``shujiao sharing prune-cache`` deletes the copies no live contract may read)."""
    dataset = catalog.dataset_for_delivery(session, dataset_id=grant.dataset_id)
    # Personal data (个人数据授权): the copy holds only consenting persons' rows, and is named by the
    # set of live consents, so a revocation makes the next read build a new copy.
    restriction = consent.restriction_for(session, product_id=grant.product_id)
    tag = fingerprint.policy_tag(session, settings=settings, product_id=grant.product_id)
    path = _cache_path(settings, grant, dataset.sha256, f"{tag}-consent-{restriction.tag}" if restriction else tag)
    if not path.is_file() or (restriction is not None and not _screened_path(path).is_file()):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as work:
            screen = consent_core.Screen(restriction) if restriction else None
            table = protocol.shareable(_buyer_table(session, settings, storage, grant, Path(work), screen))
            converted = Path(work) / "copy.parquet"
            pq.write_table(table, converted, compression="snappy")
            if screen is not None:  # written first: a copy never exists without its counts
                counts = Path(work) / "copy.consent.json"
                counts.write_text(json.dumps({"rows_in": screen.screened.rows_in,
                                              "rows_kept": screen.screened.rows_kept, "used": screen.screened.used}))
                os.replace(counts, _screened_path(path))
            os.replace(converted, path)  # atomic: another process building the same copy is harmless
    screened = None
    if restriction is not None:
        counts = json.loads(_screened_path(path).read_text())
        screened = (restriction, consent_core.Screened(rows_in=int(counts["rows_in"]), rows_kept=int(counts["rows_kept"]),
                                                       used={str(k): int(n) for k, n in counts["used"].items()}))
    metadata = pq.read_metadata(path)
    return BuyerCopy(path=path, size_bytes=path.stat().st_size, num_records=metadata.num_rows,
                     schema=metadata.schema.to_arrow_schema(), consent=screened)


def _buyer_table(session: Session, settings: Settings, storage: FileStorage, grant: Grant,
                 work: Path, screen: consent_core.Screen | None = None) -> pa.Table:
    """The table this contract's buyer gets: the buyer's fingerprinted copy (数据指纹), the same one a
    file download serves, decrypted through the vault (and screened for consent, like a download)."""
    made = fingerprint.buyer_copy(session, settings=settings, storage=storage, order_id=grant.order_id,
                                  screen=screen)
    if made.file_format != "csv":
        return made.table
    # The fingerprint reads a CSV as text; typed again the way the catalog read the original.
    marked = work / "marked.csv"
    fingerprint_scheme.write_table(made.table, "csv", str(marked))
    return _read_plaintext(marked, "csv")


# --- pre-signed file URLs ---------------------------------------------------------------------

@query
def file_url_token(settings: Settings, access: Access, copy: BuyerCopy) -> tuple[str, dt.datetime]:
    """A short-lived capability for one file: which profile, which cached copy, until when."""
    expires_at = utcnow() + dt.timedelta(seconds=settings.sharing.file_url_ttl_seconds)
    claims = {"p": access.profile_id, "f": copy.path.name, "e": int(expires_at.timestamp())}
    return protocol.sign(settings.secret_key, claims), expires_at


@query
def signed_file(session: Session, *, settings: Settings, signed: str) -> Path:
    """The cached copy a pre-signed URL names, while the URL is unexpired, its profile is live
    (rotating the token also kills the file URLs handed out under it) and its contract may still be
    read: a revocation stops a read in progress at its next range request, not at the URL's expiry."""
    claims = protocol.verified(settings.secret_key, signed)
    if claims is None:
        raise FileUrlInvalid("文件链接无效", "invalid file URL")
    if claims["e"] <= utcnow().timestamp():
        raise FileUrlInvalid("文件链接已过期，请重新查询", "the file URL has expired; query the table again")
    row = session.execute(_BY_ID, {"profile_id": claims["p"], "now": utcnow()}).first()
    if row is None:
        raise FileUrlInvalid("共享凭证已失效", "the sharing profile is no longer valid")
    usage.authorize_use(session, _actor(row), order_id=row.order_id, action="read", count=CHECK_ONLY)
    path = _cache_dir(settings) / Path(claims["f"]).name
    if not path.is_file():
        raise NotFound("文件已失效，请重新查询", "the file is gone; query the table again", code="file_gone")
    return path


# --- the protocol's table responses -----------------------------------------------------------

@query
def table_metadata(session: Session, *, access: Access, settings: Settings, storage: FileStorage) -> list[dict[str, Any]]:
    """The metadata response's NDJSON lines: protocol, then metaData with the copy's Delta schema."""
    copy = buyer_copy_parquet(session, settings=settings, storage=storage, grant=access.grant)
    return [protocol.protocol_line(), _metadata(access, copy)]


@command("sharing.table.read")
def read_table(session: Session, actor: Actor, *, access: Access, settings: Settings, storage: FileStorage,
               file_url: Callable[[str], str]) -> list[dict[str, Any]]:
    """A read of the contract's table (the protocol's query): the response's NDJSON lines —
    protocol, metaData, and the one file of the buyer's copy behind a pre-signed URL (``file_url``
    makes the URL from the signed capability) — and its metering record, which both sides see."""
    authorize(actor.member_id == access.grant.buyer_member_id and actor.user_id == access.actor.user_id,
              "只有合约买方可读取", "only the contract's buyer reads it")
    copy = buyer_copy_parquet(session, settings=settings, storage=storage, grant=access.grant)
    signed, expires_at = file_url_token(settings, access, copy)
    now = utcnow()
    read_id = session.execute(_INSERT_READ, {
        "order_id": access.grant.order_id, "profile_id": access.profile_id, "user_id": actor.user_id,
        "file_bytes": copy.size_bytes, "num_records": copy.num_records, "occurred_at": now}).scalar_one()
    audit.record(session, subject_type="order", subject_id=access.grant.order_id,
                 change={"delta_sharing_read": {"id": read_id, "num_records": copy.num_records,
                                                "file_bytes": copy.size_bytes}})
    if copy.consent is not None:
        consent.record_use(session, restriction=copy.consent[0], screened=copy.consent[1],
                           order_id=access.grant.order_id, channel="sharing", reference=f"read:{read_id}")
    return [protocol.protocol_line(), _metadata(access, copy), protocol.file_line(
        url=file_url(signed), file_id=hashlib.sha256(copy.path.name.encode()).hexdigest()[:32],
        size_bytes=copy.size_bytes, num_records=copy.num_records, committed_at=access.grant.starts_at,
        expires_at=expires_at)]


_read = SharingRead.__table__
_INSERT_READ = insert(_read).returning(_read.c.id)


@query
def reads_of(session: Session, actor: Actor, *, order_id: int) -> Sequence[SharingRead]:
    """The contract's Delta Sharing reads, newest first, for its buyer, its provider or an operator."""
    order = market.get_order(session, actor, order_id=order_id)
    return session.scalars(select(SharingRead).where(SharingRead.order_id == order.id)
                           .order_by(SharingRead.id.desc()).limit(1000)).all()


def _metadata(access: Access, copy: BuyerCopy) -> dict[str, Any]:
    return protocol.metadata_line(
        table_id=protocol.table_id(order_id=access.grant.order_id, product_id=access.grant.product_id),
        schema=copy.schema, size_bytes=copy.size_bytes)
