"""The gateway itself: a lean ASGI app (no FastAPI, no dependency injection per call) mounted at
/gateway and runnable alone (``shujiao gateway serve --workers N``).

Per call: find the key's route in a short-lived cache → take one call from this process's quota
lease and rate lease → forward with the provider's secret added (pooled keep-alive connections,
:mod:`shujiao.gateway.upstream_client`) → stream the answer back → append a call record to a
buffer. The database is touched off that path:

* routes (key → grant, upstream, secret, suspension) are cached ``gateway.cache_seconds`` (default
  2 s) and refreshed in the background: a revoked key, a suspended contract or a changed upstream
  is honoured within that time plus one refresh;
* quota: the process claims blocks of calls from the contract's period counter (one conditional
  UPDATE, never past the quota), refills in the background before the block runs out, and returns
  the unused rest after ``lease_seconds``. A process that dies loses at most its block until the
  period ends (the quota then under-serves by that much; billing counts records, so nobody pays
  for it);
* rate limit: the same, against a per-contract, per-second row;
* call records are inserted in batches every ``flush_seconds`` or ``flush_records`` records.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shujiao.config import Settings
from shujiao.db import MAX_ID, make_engine, make_session_factory
from shujiao.errors import DomainError
from shujiao.gateway import core, store
from shujiao.gateway.upstream_client import UpstreamError, UpstreamPool

logger = logging.getLogger(__name__)

HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
              b"transfer-encoding", b"upgrade", b"host", b"content-length"}
_NOT_FORWARDED = HOP_BY_HOP | {b"x-api-key", b"authorization", b"cookie"}
_RESPONSE_DROP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"server", b"date"}
_JSON = [(b"content-type", b"application/json; charset=utf-8")]


def _error_body(code: str, zh: str, en: str, **details: Any) -> bytes:
    error: dict[str, Any] = {"code": code, "message": f"{zh} ({en})", "message_zh": zh, "message_en": en}
    if details:
        error["details"] = details
    return json.dumps({"error": error}, ensure_ascii=False).encode()


@dataclass
class Lease:
    """This process's share of one contract's period quota."""

    start: dt.datetime
    end: dt.datetime
    block: int
    remaining: int = 0
    taken_at: float = 0.0
    refill: asyncio.Task | None = None
    exhausted_until: float = 0.0


@dataclass
class RateLease:
    second: int = -1
    remaining: int = 0
    exhausted: bool = False
    claim: asyncio.Task | None = None
    # The next second's allowance, claimed ahead in the last part of the current second.
    next_second: int = -1
    next_remaining: int = 0
    next_claim: asyncio.Task | None = None


@dataclass
class _Cached:
    expires: float
    value: Any


@dataclass
class Gateway:
    settings: Settings
    factory: sessionmaker[Session] | None = None
    _client: UpstreamPool | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _routes: dict[tuple[str, int], _Cached] = field(default_factory=dict)
    _resolving: dict[tuple[str, int], asyncio.Task] = field(default_factory=dict)
    _leases: dict[int, Lease] = field(default_factory=dict)
    _rates: dict[int, RateLease] = field(default_factory=dict)
    _buffer: list[dict] = field(default_factory=list)
    _flusher: asyncio.Task | None = None
    _wake: asyncio.Event | None = None

    def __post_init__(self) -> None:
        if self.factory is None:
            self.factory = make_session_factory(make_engine(self.settings.database_url))
        self.cfg = self.settings.gateway

    # -- lifecycle ------------------------------------------------------------------------------

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._loop = loop
        self._client = UpstreamPool(max_idle_per_host=self.cfg.max_connections,
                                    timeout=self.cfg.upstream_timeout_seconds)
        self._wake = asyncio.Event()
        self._leases.clear()
        self._rates.clear()
        self._flusher = loop.create_task(self._flush_loop())

    async def stop(self) -> None:
        """Flush the records, give back the leases, close the client."""
        if self._loop is None or self._loop is not asyncio.get_running_loop():
            self.flush_now()
            return
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        self.flush_now()
        for order_id, lease in list(self._leases.items()):
            await self._return_lease(order_id, lease)
        if self._client is not None:
            self._client.close()
        self._loop = None

    async def _run(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))

    async def _flush_loop(self) -> None:
        last_cleanup = time.monotonic()
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.cfg.flush_seconds)  # type: ignore[union-attr]
            self._wake.clear()  # type: ignore[union-attr]
            try:
                # The buffer is swapped here, on the event loop (the only thread that appends to it),
                # and the taken records are inserted in a worker thread.
                rows, self._buffer = self._buffer, []
                if rows:
                    try:
                        await self._run(store.insert_calls, self.factory, rows)
                    except Exception:
                        self._buffer[:0] = rows
                        raise
                now = time.monotonic()
                for order_id, lease in list(self._leases.items()):
                    if lease.remaining and now - lease.taken_at > self.cfg.lease_seconds and lease.refill is None:
                        await self._return_lease(order_id, lease)
                if now - last_cleanup > 30:
                    last_cleanup = now
                    await self._run(store.forget_windows, self.factory, before_second=int(time.time()) - 60)
            except Exception:  # a database outage: keep the buffer growing and try again
                logger.exception("gateway: call records not written")

    def flush_now(self) -> int:
        """Insert the buffered call records now, in this thread: at shutdown, and in tests between
        requests (never while the event loop may be appending)."""
        rows, self._buffer = self._buffer, []
        if rows:
            try:
                store.insert_calls(self.factory, rows)  # type: ignore[arg-type]
            except Exception:
                self._buffer[:0] = rows
                raise
        return len(rows)

    async def _return_lease(self, order_id: int, lease: Lease) -> None:
        n, lease.remaining = lease.remaining, 0
        if n:
            await self._run(store.return_calls, self.factory, order_id=order_id, start=lease.start, n=n)

    # -- the call -------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self._loop is not asyncio.get_running_loop():
            await self._start()
        started = time.perf_counter()
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if path.startswith("/gateway/"):
            path = path[8:]
        contract, _, rest = path.lstrip("/").partition("/")
        if not contract.isdigit() or not 0 < int(contract) <= MAX_ID:
            await self._send_error(send, 404, "not_found", "合约不存在", "contract not found")
            return
        order_id = int(contract)
        if ".." in rest.split("/"):  # the caller stays under the upstream's base URL
            await self._send_error(send, 400, "bad_path", "路径不合法", "the path may not contain '..'")
            return
        key = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                key = value.decode("latin-1").strip()
                break
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    key = token.strip()
        if not key:
            await self._send_error(send, 401, "invalid_api_key", "请在 X-Api-Key 请求头中提供 API 密钥",
                                   "an API key is required (X-Api-Key or Authorization: Bearer)")
            return
        route = await self._route(hashlib.sha256(key.encode()).hexdigest(), order_id)
        if isinstance(route, DomainError):
            await self._send_json(send, route.status_code, json.dumps(route.body(), ensure_ascii=False).encode())
            return
        if route.consented is not None and _person_key(scope) not in route.consented:
            # Refused before any quota is taken; the call record (status 403, not forwarded) records it.
            body = _error_body("consent_missing", "该 API 涉及个人数据：请求须在 X-Person-Key 中给出已授权个人的标识",
                               "this API serves personal data: name a person with live consent in X-Person-Key")
            await self._send_json(send, 403, body)
            self._meter(route, scope, 403, False, 0, len(body), started)
            return
        refusal = await self._take_quota(route) or await self._take_rate(route)
        if refusal is not None:
            status, body, headers = refusal
            await self._send_json(send, status, body, headers)
            self._meter(route, scope, status, False, 0, len(body), started)
            return
        await self._forward(route, scope, receive, send, rest, started)

    async def _route(self, key_hash: str, order_id: int) -> store.Route | DomainError:
        """The cached route; an expired one is still served while one refresh runs in the background
        (so a call never waits for the database once its key is known). A revoked key, a suspended
        contract or a changed upstream therefore takes effect within ``cache_seconds`` plus the
        time of one refresh."""
        cache_key = (key_hash, order_id)
        cached = self._routes.get(cache_key)
        if cached is not None:
            if cached.expires <= time.monotonic() and cache_key not in self._resolving:
                self._resolving[cache_key] = asyncio.get_running_loop().create_task(self._resolve(cache_key))
            return cached.value
        pending = self._resolving.get(cache_key)
        if pending is None:
            pending = self._resolving[cache_key] = asyncio.get_running_loop().create_task(self._resolve(cache_key))
        return await asyncio.shield(pending)

    async def _resolve(self, cache_key: tuple[str, int]) -> store.Route | DomainError:
        try:
            value = await self._run(store.resolve, self.factory, self.settings, key_hash=cache_key[0],
                                    order_id=cache_key[1])
            if len(self._routes) > 100_000:
                self._routes.clear()
            self._routes[cache_key] = _Cached(time.monotonic() + self.cfg.cache_seconds, value)
            return value
        finally:
            del self._resolving[cache_key]

    async def _claim(self, route: store.Route, lease: Lease) -> None:
        # A busy contract gets bigger blocks (fewer database round trips): the block doubles when
        # the last one lasted under a quarter of the lease time, up to 64 × the configured size.
        now = time.monotonic()
        if lease.taken_at and now - lease.taken_at < self.cfg.lease_seconds / 4:
            lease.block = min(lease.block * 2, self.cfg.lease_block_calls * 64)
        try:
            n = await self._run(store.claim_calls, self.factory, order_id=route.order_id, start=lease.start,
                                end=lease.end, plan=route.plan, block=lease.block)
        finally:
            lease.refill = None
        lease.remaining += n
        lease.taken_at = time.monotonic()
        if n == 0:
            lease.exhausted_until = time.monotonic() + self.cfg.cache_seconds

    async def _take_quota(self, route: store.Route) -> tuple[int, bytes, list] | None:
        now = dt.datetime.now(dt.UTC)
        lease = self._leases.get(route.order_id)
        if lease is None or now >= lease.end or now < lease.start:
            if lease is not None:
                await self._return_lease(route.order_id, lease)
            start, end = core.period_of(route.starts_at, route.plan.period_days, now)
            lease = self._leases[route.order_id] = Lease(start, end, self.cfg.lease_block_calls)
        while lease.remaining <= 0:
            if lease.exhausted_until > time.monotonic():
                return 429, _error_body(
                    "quota_exhausted", f"本期调用次数已用完（本期额度 {route.plan.quota_calls_per_period} 次，"
                    f"{lease.end:%Y-%m-%d %H:%M} UTC 起重新计数）",
                    f"the call quota for this period is used up ({route.plan.quota_calls_per_period} calls; "
                    f"it renews at {lease.end.isoformat()})",
                    quota=route.plan.quota_calls_per_period, period_end=lease.end.isoformat()), []
            if lease.refill is None:
                lease.refill = asyncio.get_running_loop().create_task(self._claim(route, lease))
            await asyncio.shield(lease.refill)
        lease.remaining -= 1
        if lease.remaining < lease.block // 2 and lease.refill is None and not lease.exhausted_until:
            lease.refill = asyncio.get_running_loop().create_task(self._claim(route, lease))  # refill ahead
        return None

    async def _take_rate(self, route: store.Route) -> tuple[int, bytes, list] | None:
        limit = route.plan.rate_limit_per_second
        if limit is None:
            return None
        rate = self._rates.setdefault(route.order_id, RateLease())
        while True:
            now = time.time()
            second = int(now)
            if rate.second != second:
                rate.second, rate.remaining, rate.exhausted = second, 0, False
                if rate.next_second == second:
                    rate.remaining, rate.next_second = rate.next_remaining, -1
            if rate.remaining > 0:
                rate.remaining -= 1
                if now - second > 0.7 and rate.next_claim is None and rate.next_second != second + 1:
                    rate.next_claim = asyncio.get_running_loop().create_task(
                        self._claim_next_second(route, rate, second + 1, limit))
                return None
            if rate.exhausted:
                return 429, _error_body("rate_limited", f"调用过于频繁（每秒最多 {limit} 次），请稍后重试",
                                        f"too many calls (at most {limit} per second); retry shortly",
                                        limit_per_second=limit), [(b"retry-after", b"1")]
            if rate.claim is None:
                rate.claim = asyncio.get_running_loop().create_task(self._claim_rate(route, rate, second, limit))
            await asyncio.shield(rate.claim)

    async def _claim_rate(self, route: store.Route, rate: RateLease, second: int, limit: int) -> None:
        try:
            n = await self._run(store.claim_rate, self.factory, order_id=route.order_id, second=second,
                                limit=limit, block=max(1, limit // 4))
        finally:
            rate.claim = None
        if rate.second == second:
            rate.remaining += n
            rate.exhausted = n == 0

    async def _claim_next_second(self, route: store.Route, rate: RateLease, second: int, limit: int) -> None:
        try:
            n = await self._run(store.claim_rate, self.factory, order_id=route.order_id, second=second,
                                limit=limit, block=max(1, limit // 4))
        finally:
            rate.next_claim = None
        if rate.second < second:
            rate.next_second, rate.next_remaining = second, n
        elif rate.second == second:  # the second began while claiming
            rate.remaining += n

    async def _forward(self, route: store.Route, scope: dict, receive: Any, send: Any, rest: str,
                       started: float) -> None:
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.cfg.max_request_bytes:
                await self._send_error(send, 413, "payload_too_large", "请求体过大", "request body too large")
                return
        auth = route.auth_header.lower().encode()
        secret = route.secret.encode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k not in _NOT_FORWARDED and k != auth]
        headers.append((auth, secret))
        url = f"{route.base_url}/{rest}"
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        status, sent, responded = 502, 0, False
        try:
            resp = await self._client.request(scope["method"], url, headers, bytes(body))  # type: ignore[union-attr]
            try:
                status = resp.status
                out_headers = [(k, v) for k, v in resp.headers if k.lower() not in _RESPONSE_DROP and secret not in v]
                length = resp.content_length()
                if length is not None and scope["method"] != "HEAD":
                    out_headers.append((b"content-length", str(length).encode()))
                await send({"type": "http.response.start", "status": status, "headers": out_headers})
                responded = True
                async for chunk in resp.chunks():
                    sent += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                resp.release()
        except (UpstreamError, OSError) as exc:
            logger.warning("gateway: upstream of contract %s failed: %s", route.order_id, type(exc).__name__)
            if not responded:  # else the answer is cut short: the client sees a broken response
                status = 502
                body_out = _error_body("upstream_unavailable", "上游接口暂时不可用，请稍后重试",
                                       "the provider's API is not reachable; retry later")
                with contextlib.suppress(Exception):
                    await self._send_json(send, 502, body_out)
                sent = len(body_out)
            self._meter(route, scope, status, False, len(body), sent, started)
            return
        self._meter(route, scope, status, True, len(body), sent, started)

    def _meter(self, route: store.Route, scope: dict, status: int, forwarded: bool, bytes_in: int,
               bytes_out: int, started: float) -> None:
        self._buffer.append({
            "order_id": route.order_id, "key_id": route.key_id, "at": dt.datetime.now(dt.UTC),
            "method": scope["method"][:10], "path": scope["path"][:200], "status": status,
            "forwarded": forwarded, "bytes_in": bytes_in, "bytes_out": bytes_out,
            "latency_us": int((time.perf_counter() - started) * 1_000_000)})
        if len(self._buffer) >= self.cfg.flush_records and self._wake is not None:
            self._wake.set()

    async def _send_error(self, send: Any, status: int, code: str, zh: str, en: str) -> None:
        await self._send_json(send, status, _error_body(code, zh, en))

    @staticmethod
    async def _send_json(send: Any, status: int, body: bytes, headers: list | None = None) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": _JSON + [(b"content-length", str(len(body)).encode())] + (headers or [])})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _person_key(scope: dict) -> str:
    for name, value in scope["headers"]:
        if name == b"x-person-key":
            return value.decode("latin-1").strip().lower()
    return ""


def app_from_environment() -> Gateway:
    """For ``shujiao gateway serve`` (uvicorn --factory): settings from SHUJIAO_* variables."""
    from shujiao.config import get_settings

    return Gateway(get_settings())
