"""Metered requests/s through the API gateway against calling the upstream directly, and against a
naive aiohttp reverse proxy to the same upstream, all on loopback in one run.

  upstream  a raw ASGI app under uvicorn (httptools, uvloop): a ~100-byte JSON answer
  naive     an aiohttp web server forwarding every request with one shared ClientSession
            (the straightforward proxy: no auth, no metering, default asyncio loop)
  gateway   `shujiao gateway serve` (uvicorn, the lean ASGI gateway) on a scratch database with a
            per-call contract (quota and per-second rate limit set high enough not to refuse):
            every call is key-checked, takes quota and rate leases, is forwarded with the secret
            and metered (records batched into the database)

Each target is driven by the same load generator (a separate process: aiohttp client, N concurrent
connections, fixed duration after a warm-up), in rounds (direct, naive, gateway, repeated); the
table shows the median round. Added latency = the target's p50/p99 minus direct's, both under that
load (where it is mostly queueing in a saturated process) and with one connection (the cost of one
call alone), measured after the rounds. After the run the
gateway's call records are counted in the database: every successful call must be there.

Targets (issue 6): gateway ≥ 0.35 × direct, ≥ 1.2 × naive, added p50 ≤ 2 ms. A measurement, not a
test: it exits non-zero only if something broke (errors, missing call records).

    .venv/bin/python bench/gateway.py --seconds 5 --concurrency 32 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "src", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

PY = sys.executable
SECRET = "bench-upstream-secret"


# -- the three servers ------------------------------------------------------------------------------

async def upstream_app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    ok = any(k == b"x-upstream-token" and v == SECRET.encode() for k, v in scope["headers"])
    body = json.dumps({"ok": ok, "path": scope["path"], "score": 812, "name": "贵州数智科技有限公司"}).encode()
    await send({"type": "http.response.start", "status": 200 if ok else 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def serve_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(upstream_app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                loop="uvloop", http="httptools", lifespan="off")


def serve_naive(port: int, upstream: str) -> None:
    import aiohttp
    from aiohttp import web

    async def forward(request: web.Request) -> web.Response:
        session: aiohttp.ClientSession = request.app["client"]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        headers["X-Upstream-Token"] = SECRET
        async with session.request(request.method, upstream + request.rel_url.path_qs, headers=headers,
                                   data=await request.read()) as resp:
            body = await resp.read()
            return web.Response(body=body, status=resp.status,
                                headers={"Content-Type": resp.headers.get("Content-Type", "application/json")})

    async def start(app: web.Application) -> None:
        app["client"] = aiohttp.ClientSession()

    async def stop(app: web.Application) -> None:
        await app["client"].close()

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", forward)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the load generator -----------------------------------------------------------------------------

async def _load(url: str, seconds: float, concurrency: int, headers: dict[str, str], warmup: float) -> dict:
    import aiohttp

    latencies: list[float] = []
    warm_calls = [0]
    errors = 0
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker(until: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                if not record:
                    warm_calls[0] += 1
                t0 = time.perf_counter()
                try:
                    async with session.get(url, headers=headers) as resp:
                        await resp.read()
                        status = resp.status
                except aiohttp.ClientError:
                    errors += 1
                    continue
                if record:
                    latencies.append(time.perf_counter() - t0)
                    statuses[status] = statuses.get(status, 0) + 1
        await asyncio.gather(*(worker(time.perf_counter() + warmup, False) for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "n": len(latencies), "warm": warm_calls[0], "errors": errors,
            "statuses": statuses,
            "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process so far (Linux /proc), 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def drive(url: str, seconds: float, concurrency: int, headers: dict[str, str], warmup: float,
          server_pid: int | None = None) -> dict:
    """One measured run; also the server's CPU per request over the whole run (warm-up included),
    which is steadier than requests/s on a shared machine."""
    cpu0 = cpu_seconds(server_pid)
    out = subprocess.run([PY, __file__, "_load", url, str(seconds), str(concurrency), json.dumps(headers),
                          str(warmup)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    total = result["n"] + result["warm"]
    result["cpu_us_per_req"] = 1e6 * (cpu_seconds(server_pid) - cpu0) / total if server_pid and total else 0.0
    return result


# -- set-up -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def make_contract(settings, upstream: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A provider with an API product behind the gateway, a buyer with a paid contract and its key."""
    from shujiao.catalog.storage import LocalFileStorage
    from shujiao.cli import alembic_config
    from shujiao.db import make_engine, make_session_factory, unit_of_work
    from shujiao.gateway import service as gateway
    from shujiao.gateway.schemas import UpstreamRegister
    from shujiao.market import service as market
    from shujiao.usage.offer import Offer, PricingPlan, UsageTerms
    from tests.factories import make_listed_product, make_member, make_operator

    from alembic import command

    command.upgrade(alembic_config(settings.database_url), "head")
    factory = make_session_factory(make_engine(settings.database_url))
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    storage = LocalFileStorage(settings.storage_root)
    operator = make_operator(factory)
    provider = make_member(factory, operator)
    buyer = make_member(factory, operator, kind="buyer", deposit_fen=1_000_000_00)
    plan = PricingPlan(kind="per_call", price_per_1000_calls_fen=100, quota_calls_per_period=10**9,
                       rate_limit_per_second=100_000)
    product_id = make_listed_product(factory, storage, provider, operator, settings=settings, price_fen=0,
                                     offer=Offer(plan=plan, terms=UsageTerms(delivery_modes=["api"])))
    with unit_of_work(factory) as session:
        gateway.register_upstream(session, provider.actor, settings=settings, product_id=product_id, data=UpstreamRegister(
            base_url=upstream, auth_header="X-Upstream-Token", secret=SECRET))
        order = market.create_order(session, buyer.actor, product_id=product_id)
        market.pay_order(session, buyer.actor, order_id=order.id)
        _, key = gateway.create_api_key(session, buyer.actor, order_id=order.id)
        return order.id, key


def count_calls(database_url: str, order_id: int) -> int:
    from sqlalchemy import func, select

    from shujiao.db import make_engine
    from shujiao.gateway.models import Call

    with make_engine(database_url).connect() as connection:
        return connection.execute(select(func.count()).select_from(Call).where(
            Call.order_id == order_id, Call.status == 200)).scalar_one()


def _admin(admin_url: str):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    return sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")


def scratch_postgres(admin_url: str) -> str:
    import uuid

    name = f"shujiao_bench_gateway_{uuid.uuid4().hex[:8]}"
    with _admin(admin_url).connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres(admin_url: str, url: str) -> None:
    with _admin(admin_url).connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gateway-workers", type=int, default=1)
    parser.add_argument("--latency-seconds", type=float, default=3,
                        help="a run with one connection per target, for the added latency of one call alone")
    parser.add_argument("--postgres", default="", metavar="ADMIN_URL",
                        help="use a scratch PostgreSQL database made through this server (e.g. "
                             "postgresql://postgres@127.0.0.1:5432/postgres); needed for --gateway-workers > 1. "
                             "Default: a scratch SQLite file")
    args = parser.parse_args()

    from shujiao.config import Settings

    scratch = Path(tempfile.mkdtemp(prefix="shujiao-bench-gateway-"))
    database_url = scratch_postgres(args.postgres) if args.postgres else f"sqlite:///{scratch / 'bench.db'}"
    secret_key = "bench-secret-key-0123456789abcdef0123456789"
    settings = Settings(environment="test", database_url=database_url, data_dir=scratch / "data", secret_key=secret_key)
    settings.gateway.allow_private_upstreams = True  # the upstream is on loopback
    ports = {name: free_port() for name in ("upstream", "naive", "gateway")}
    upstream = f"http://127.0.0.1:{ports['upstream']}"
    procs = [subprocess.Popen([PY, __file__, "_upstream", str(ports["upstream"])])]
    try:
        wait_for(ports["upstream"])
        order_id, key = make_contract(settings, upstream)
        procs.append(subprocess.Popen([PY, __file__, "_naive", str(ports["naive"]), upstream]))
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "SHUJIAO_ENVIRONMENT": "test",
               "SHUJIAO_DATABASE_URL": database_url, "SHUJIAO_DATA_DIR": str(scratch / "data"),
               "SHUJIAO_SECRET_KEY": secret_key}
        procs.append(subprocess.Popen([PY, "-c", "from shujiao.cli import app; app()", "gateway", "serve", "--host", "127.0.0.1",
                                       "--port", str(ports["gateway"]), "--workers", str(args.gateway_workers)],
                                      env=env))
        wait_for(ports["naive"])
        wait_for(ports["gateway"])
        targets = {
            "direct": (f"{upstream}/v1/score?id=1", {"X-Upstream-Token": SECRET}, procs[0].pid),
            "naive proxy": (f"http://127.0.0.1:{ports['naive']}/v1/score?id=1", {}, procs[1].pid),
            "gateway": (f"http://127.0.0.1:{ports['gateway']}/gateway/{order_id}/v1/score?id=1", {"X-Api-Key": key},
                        procs[2].pid if args.gateway_workers == 1 else None),
        }
        rounds: dict[str, list[dict]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, headers, pid) in targets.items():
                rounds[name].append(drive(url, args.seconds, args.concurrency, headers, args.warmup, pid))
        alone = {name: drive(url, args.latency_seconds, 1, headers, 0.5, pid)
                 for name, (url, headers, pid) in targets.items()} if args.latency_seconds else {}
        time.sleep(1.5)  # the gateway's last batch of call records
        recorded = count_calls(database_url, order_id)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        if args.postgres:
            drop_postgres(args.postgres, database_url)

    def median(name: str, field: str) -> float:
        return statistics.median(r[field] for r in rounds[name])

    failures = 0
    print(f"\nAPI gateway, loopback, {args.concurrency} connections, {args.seconds:g} s × {args.rounds} rounds "
          f"(median round), {os.cpu_count()} CPUs, gateway workers {args.gateway_workers}, "
          f"database {database_url.split(':')[0]}")
    print(f"{'target':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU µs/req':>18} {'errors':>7}  statuses")
    for name in targets:
        errors = sum(r["errors"] for r in rounds[name])
        statuses: dict[str, int] = {}
        for r in rounds[name]:
            for status, n in r["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
        failures += errors + sum(n for s, n in statuses.items() if s != "200")
        print(f"{name:<12} {median(name, 'rps'):>9.0f} {median(name, 'p50_ms'):>8.2f} {median(name, 'p99_ms'):>8.2f} "
              f"{median(name, 'cpu_us_per_req'):>18.0f} {errors:>7}  {statuses}")
    direct, naive, gw = (median(n, "rps") for n in targets)
    served = sum(r["statuses"].get("200", 0) for r in rounds["gateway"]) + (
        alone["gateway"]["statuses"].get("200", 0) if alone else 0)
    warm = "(plus the warm-up calls)"
    print(f"\ngateway / direct      = {gw / direct:.2f}   (target ≥ 0.35)")
    print(f"gateway / naive proxy = {gw / naive:.2f}   (target ≥ 1.2)")
    print(f"added latency vs direct under load ({args.concurrency} connections, queueing included): p50 {median('gateway', 'p50_ms') - median('direct', 'p50_ms'):+.2f} ms "
          f"(target ≤ 2), p99 {median('gateway', 'p99_ms') - median('direct', 'p99_ms'):+.2f} ms; "
          f"naive proxy p50 {median('naive proxy', 'p50_ms') - median('direct', 'p50_ms'):+.2f} ms")
    if alone:
        print(f"one connection ({args.latency_seconds:g} s each): p50/p99 ms direct "
              f"{alone['direct']['p50_ms']:.2f}/{alone['direct']['p99_ms']:.2f}, naive "
              f"{alone['naive proxy']['p50_ms']:.2f}/{alone['naive proxy']['p99_ms']:.2f}, gateway "
              f"{alone['gateway']['p50_ms']:.2f}/{alone['gateway']['p99_ms']:.2f}")
        print(f"added latency of one call alone: p50 {alone['gateway']['p50_ms'] - alone['direct']['p50_ms']:+.2f} ms "
              f"(target ≤ 2), p99 {alone['gateway']['p99_ms'] - alone['direct']['p99_ms']:+.2f} ms")
    cpu_naive, cpu_gw = median("naive proxy", "cpu_us_per_req"), median("gateway", "cpu_us_per_req")
    if cpu_naive and cpu_gw:
        print(f"proxy CPU per request (the proxy process only, upstream excluded): gateway / naive = "
              f"{cpu_gw / cpu_naive:.2f} (below 1: the gateway does its metered call on less CPU)")
    print(f"call records in the database: {recorded} for {served} measured calls {warm}")
    if recorded < served:
        print("ERROR: call records are missing")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_upstream":
        serve_upstream(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_naive":
        serve_naive(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "_load":
        print(json.dumps(asyncio.run(_load(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]),
                                           float(sys.argv[6])))))
    else:
        sys.exit(main())
