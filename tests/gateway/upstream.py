"""A real upstream HTTP API on a loopback port, for the gateway tests: a raw ASGI app under uvicorn
in a thread. It never echoes the secret; it says whether the secret header was right."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

SECRET_HEADER = "X-Provider-Token"
SECRET = "prov-secret-7c1f0e9a5b"


async def upstream_app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    if scope["path"].endswith("/big"):  # a streamed answer (chunked, no content-length)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for _ in range(30):
            await send({"type": "http.response.body", "body": b"x" * 100_000, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["path"].endswith("/boom"):
        status, payload = 500, {"error": "upstream broke"}
    else:
        status, payload = 200, {
            "path": scope["path"], "query": scope["query_string"].decode(), "method": scope["method"],
            "auth_ok": headers.get(SECRET_HEADER.lower()) == SECRET, "body_len": len(body),
            "saw_api_key": "x-api-key" in headers or "authorization" in headers}
    out = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_upstream() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(upstream_app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
