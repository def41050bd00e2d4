"""A lean HTTP/1.1 client for the gateway's upstream calls: keep-alive connections pooled per
upstream, responses parsed with httptools (the parser uvicorn uses), bodies handed on as they arrive
with back-pressure. It does only what a reverse proxy needs — no redirects, cookies, decompression
or proxies — which is why it costs a fraction of a general client per call (measured with
bench/gateway.py against aiohttp's client)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import urlsplit

import httptools

PAUSE_AT = 1024 * 1024  # stop reading from the upstream while this much body waits for the client


class UpstreamError(Exception):
    """The upstream could not be reached or broke off before answering."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.head: asyncio.Future | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.readable = asyncio.Event()
        self.complete = False
        self.closed = False
        self.error: Exception | None = None
        self.paused = False
        self.head_only = False
        self.keep_alive = False
        self.timeout = 30.0

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"bad response: {exc}"))
            self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete:
            self._fail(UpstreamError("connection closed by the upstream"))

    def _fail(self, error: Exception) -> None:
        self.error = error
        if self.head is not None and not self.head.done():
            self.head.set_exception(error)
        self.readable.set()

    # -- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        if self.head is not None and not self.head.done():
            self.head.set_result(self.parser.get_status_code())
        if self.head_only:
            self.complete = True
            self.readable.set()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        self.readable.set()
        if self.buffered > PAUSE_AT and not self.paused:
            self.paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        self.complete = True
        self.readable.set()

    # -- one exchange
    def start(self, request: bytes, head_only: bool) -> asyncio.Future:
        self.headers, self.chunks, self.buffered, self.complete = [], deque(), 0, False
        self.error, self.head_only = None, head_only
        self.readable.clear()
        self.head = asyncio.get_running_loop().create_future()
        self.transport.write(request)  # type: ignore[union-attr]
        return self.head

    async def body(self):  # type: ignore[no-untyped-def]
        """The body's chunks as they arrive."""
        while True:
            while self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                if self.paused and self.buffered < PAUSE_AT // 2:
                    self.paused = False
                    self.transport.resume_reading()  # type: ignore[union-attr]
                yield chunk
            if self.complete:
                return
            if self.error is not None:
                raise self.error
            self.readable.clear()
            try:
                await asyncio.wait_for(self.readable.wait(), self.timeout)
            except asyncio.TimeoutError as exc:
                self.transport.close()  # type: ignore[union-attr]
                raise UpstreamError("the upstream stopped sending") from exc

    @property
    def reusable(self) -> bool:
        return self.complete and not self.closed and not self.head_only and self.keep_alive


def _too_late(connection: _Connection) -> None:
    connection._fail(UpstreamError("the upstream did not answer in time"))
    connection.transport.close()  # type: ignore[union-attr]


class Response:
    def __init__(self, pool: "UpstreamPool", key: tuple, connection: _Connection, status: int) -> None:
        self.status = status
        self.headers = connection.headers
        self._pool, self._key, self._connection = pool, key, connection

    def content_length(self) -> int | None:
        for name, value in self.headers:
            if name.lower() == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    def chunks(self):  # type: ignore[no-untyped-def]
        return self._connection.body()

    def release(self) -> None:
        """Back to the pool if the whole answer was read and the connection may be kept, else closed."""
        connection = self._connection
        if connection.reusable:
            self._pool._idle.setdefault(self._key, []).append(connection)
        elif not connection.closed:
            connection.transport.close()  # type: ignore[union-attr]


class UpstreamPool:
    def __init__(self, *, max_idle_per_host: int = 256, timeout: float = 30.0) -> None:
        self._idle: dict[tuple, list[_Connection]] = {}
        self._ssl = ssl.create_default_context()
        self.max_idle = max_idle_per_host
        self.timeout = timeout

    async def _connect(self, key: tuple) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(loop.create_connection(
                _Connection, host, port, ssl=self._ssl if scheme == "https" else None), self.timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"cannot connect: {type(exc).__name__}") from exc
        return connection  # type: ignore[return-value]

    async def request(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
        parts = urlsplit(url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, parts.hostname, port)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        host = parts.netloc.encode()
        request = b"".join([method.encode(), b" ", target.encode(), b" HTTP/1.1\r\nhost: ", host, b"\r\n",
                            *(b"%s: %s\r\n" % (k, v) for k, v in headers),
                            b"content-length: %d\r\n\r\n" % len(body) if body or method not in ("GET", "HEAD")
                            else b"\r\n", body])
        idle = self._idle.get(key)
        # A pooled connection the upstream has closed meanwhile fails before any answer: try once more
        # on a fresh one (the request never reached the upstream's application).
        for attempt in (0, 1):
            connection = None
            while idle and connection is None:
                candidate = idle.pop()
                if not candidate.closed:
                    connection = candidate
            reused = connection is not None
            if connection is None:
                connection = await self._connect(key)
            connection.timeout = self.timeout
            head = connection.start(request, method == "HEAD")
            # call_later rather than asyncio.wait_for: the same deadline for a fraction of the cost.
            deadline = asyncio.get_running_loop().call_later(self.timeout, _too_late, connection)
            try:
                status = await head
            except UpstreamError:
                if reused and attempt == 0 and not connection.headers:
                    continue
                raise
            finally:
                deadline.cancel()
            if len(self._idle.get(key, ())) > self.max_idle:
                self._idle[key].pop(0).transport.close()  # type: ignore[union-attr]
            return Response(self, key, connection, status)
        raise UpstreamError("unreachable")

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                if not connection.closed:
                    connection.transport.close()  # type: ignore[union-attr]
        self._idle.clear()
