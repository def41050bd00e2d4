"""Completed trades per second, on SQLite and PostgreSQL, through the service layer and through HTTP.

One trade = create order -> pay -> deliver (issue a download link, download it: the first download
marks the order delivered) -> accept (settle). Each step is its own transaction, as a request is.

The figure is compared with the TPC-B tps that ``pgbench -c 4 -j 2`` reaches on the same machine in
the same run. Targets (PostgreSQL only): service layer >= 0.10 x pgbench tps, HTTP >= 0.05 x.

Runs, each against a fresh scratch database (SQLite file / CREATE DATABASE shujiao_bench_*):
  service  W threads in this process, each with its own buyer, one unit_of_work per step
           (and, on PostgreSQL, the same W buyers spread over P processes: --service-processes)
  http     the real app in uvicorn (1 process, and 2 on PostgreSQL), W httpx client threads
  pgbench  -i -s 10 into its own scratch database, then -c 4 -j 2 -T seconds, before and after;
           the ratio uses the mean of the two
After each run the ledger check must be balanced and the settled orders must match the count.

The script is a measurement, not a test: a missed target does not fail it. It exits non-zero only
if a trade raised an error, a server or pgbench could not be run, or the ledger is not balanced.

The machine is usually shared: each row also shows the CPU per trade (this process / uvicorn /
PostgreSQL), how busy the machine was, how much of that was someone else's work, and how slow a
fixed Python workload ran; before each run it waits (--quiet-wait) for the machine to be idle.

    .venv/bin/python bench/trade_loop.py --seconds 10
    .venv/bin/python bench/trade_loop.py --backends postgresql --skip-http --skip-pgbench --workers 1
        --service-processes "" --profile cprofile-cpu --profile-out /tmp/prof    (one command line)
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import datetime as dt
import io
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "src", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from shujiao.catalog import service as catalog  # noqa: E402
from shujiao.catalog.schemas import ResourceCreate  # noqa: E402
from shujiao.catalog.storage import LocalFileStorage  # noqa: E402
from shujiao.cli import alembic_config  # noqa: E402
from shujiao.commands import ANONYMOUS, SYSTEM, Actor  # noqa: E402
from shujiao.config import Settings  # noqa: E402
from shujiao.crypto import service as keys  # noqa: E402
from shujiao.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from shujiao.delivery import service as delivery  # noqa: E402
from shujiao.ledger import service as ledger  # noqa: E402
from shujiao.listing import service as listing  # noqa: E402
from shujiao.listing.schemas import Checklist, ProductCreate, Review  # noqa: E402
from shujiao.market import service as market  # noqa: E402
from tests.factories import actor_of, random_credit_code  # noqa: E402
from shujiao.market.models import Order  # noqa: E402
from shujiao.members import service as members  # noqa: E402
from shujiao.members.schemas import MemberApply, UserCreate  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"
PRICE_FEN = 1_00
DEPOSIT_FEN = 10**12  # enough for any run
FEE_RATE_BP = 300
LINK_TTL = dt.timedelta(hours=1)
CSV_BYTES = ("企业名称,行业,信用评分\n" + "".join(
    f"贵州数智科技有限公司{i},软件,{600 + i % 300}\n" for i in range(200))).encode()
TARGETS = {"service": 0.10, "http": 0.05}


# --------------------------------------------------------------------------------------------
# databases


def _driver_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def _pg_url_for(admin_url: str, database: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + database


@contextlib.contextmanager
def postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    OUR_DATABASES.add(name)
    admin = sa.create_engine(_driver_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def migrate(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")


# --------------------------------------------------------------------------------------------
# the world: an operator, a provider with one listed product, buyers with money


@dataclasses.dataclass
class Handle:
    member_id: int
    username: str
    password: str
    actor: Actor


@dataclasses.dataclass
class World:
    operator: Handle
    provider: Handle
    buyers: list[Handle]
    product_id: int


def bench_settings(database_url: str, data_dir: Path) -> Settings:
    """The settings the uvicorn server reads from its environment (see uvicorn_server): same keys."""
    return Settings(environment="production", database_url=database_url, data_dir=data_dir, secret_key=SECRET)


def build_world(factory: sessionmaker[Session], storage: LocalFileStorage, settings: Settings, buyers: int) -> World:
    rng = random.Random(20261122)
    with unit_of_work(factory) as s:
        keys.init_keys(s, SYSTEM, settings=settings)  # uploads are sealed with the master key
        members.create_operator(s, SYSTEM, username="bench_operator", password="operator-pass-123")
    with unit_of_work(factory) as s:
        operator = Handle(0, "bench_operator", "operator-pass-123", actor_of(s, "bench_operator"))
        operator.member_id = operator.actor.member_id or 0

    def member(kind: str, n: int, deposit: int) -> Handle:
        username, password = f"bench_{kind}{n}", f"{kind}-pass-{n:04d}"
        with unit_of_work(factory) as s:
            m = members.apply(s, ANONYMOUS, application=MemberApply(
                name=f"压测{kind}公司{n}", credit_code=random_credit_code(rng), kind=kind,
                admin=UserCreate(username=username, password=password)))
            members.approve(s, operator.actor, member_id=m.id)
            if deposit:
                ledger.record_deposit(s, operator.actor, member_id=m.id, amount_fen=deposit, reference=f"BENCH-{n}")
            member_id = m.id
        with unit_of_work(factory) as s:
            return Handle(member_id, username, password, actor_of(s, username))

    provider = member("provider", 0, 0)
    with unit_of_work(factory) as s:
        resource = catalog.create_resource(s, provider.actor, data=ResourceCreate(
            name="企业信用数据", description="压测", domain="信用", grade="general", sensitivity=2))
        dataset = catalog.add_dataset(s, provider.actor, settings=settings, storage=storage, resource_id=resource.id,
                                      filename="credit.csv", stream=io.BytesIO(CSV_BYTES), max_bytes=10**7)
        resource_id, dataset_id = resource.id, dataset.id
    with unit_of_work(factory) as s:
        product = listing.create_product(s, provider.actor, data=ProductCreate(
            resource_id=resource_id, dataset_id=dataset_id, title="企业信用评分数据",
            description="贵州企业公共信用综合评分", price_fen=PRICE_FEN))
        listing.submit_product(s, provider.actor, product_id=product.id)
        listing.review_product(s, operator.actor, product_id=product.id, review=Review(
            decision="approve", reason="合规", checklist=Checklist(
                legal_source=True, personal_information=True, security_grade=True,
                intellectual_property=True, negative_list=True)))
        product_id = product.id
    return World(operator, provider, [member("buyer", i + 1, DEPOSIT_FEN) for i in range(buyers)], product_id)


# --------------------------------------------------------------------------------------------
# the loops


@dataclasses.dataclass
class Usage:
    """CPU used during a timed run, from /proc: by this process (the service layer, or the HTTP
    clients); by the whole machine, as a share of all cores; and by "foreign" work, i.e. anything
    that is neither this process, its children (uvicorn, pgbench) nor PostgreSQL working for our
    scratch databases. Other people's test runs on a shared machine show up there."""

    self_cpu_s: float
    machine_busy: float | None
    foreign_busy: float | None
    children_cpu_s: float | None = None  # uvicorn (or pgbench)
    postgres_cpu_s: float | None = None  # backends of our databases and PostgreSQL's background processes
    calibration_ms: float | None = None  # a fixed pure-Python workload, before and after (see calibrate)


def calibrate() -> float:
    """CPU milliseconds of a fixed pure-Python workload (best of 5). On a shared virtual machine the
    same work can take twice as long from one minute to the next, invisibly to /proc/stat; the
    report shows each run's figure against the fastest one seen, so that such runs stand out."""
    best = float("inf")
    for _ in range(5):
        t0 = time.thread_time()
        d: dict[int, str] = {}
        for i in range(60_000):
            d[i % 1000] = str(i)
        best = min(best, time.thread_time() - t0)
    return 1000 * best


def _machine_ticks() -> tuple[int, int] | None:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle + iowait (guest time is already inside user time)
    return sum(fields) - idle, sum(fields)


OUR_DATABASES: set[str] = set()  # scratch databases made by this run (their backends are "ours")


class _ProcessSampler(threading.Thread):
    """Samples every process's CPU ticks twice a second, so that processes which exit during the
    window (pgbench and its backends) are still accounted for, and classifies them as ours or not:
    this process and its descendants, PostgreSQL backends of our scratch databases, and
    PostgreSQL's own background processes (WAL writer, checkpointer) are ours."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="cpu-sampler")
        self.stop_event = threading.Event()
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.ours: set[int] = {os.getpid()}
        self.initial: set[int] = set()
        self._cmdline: dict[int, str] = {}
        self.sample(initial=True)

    def sample(self, initial: bool = False) -> None:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                head, _, rest = (entry / "stat").read_text().rpartition(")")
                fields = rest.split()
                ppid, ticks = int(fields[1]), int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
            parents[pid] = ppid
            if initial:
                self.initial.add(pid)
                self.first[pid] = ticks
            self.last[pid] = ticks
            if pid not in self._cmdline:
                try:
                    self._cmdline[pid] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    self._cmdline[pid] = ""
                cmd = self._cmdline[pid]
                if cmd.startswith("postgres:") and (
                    any(f" {db} " in cmd for db in OUR_DATABASES) or "127.0.0.1(" not in cmd and "[local]" not in cmd
                ):
                    self.ours.add(pid)
        changed = True
        while changed:  # descendants of ours (uvicorn and its workers, pgbench)
            changed = False
            for pid, ppid in parents.items():
                if ppid == os.getpid() or (ppid in self.ours and pid not in self.ours and
                                           not self._cmdline.get(pid, "").startswith("postgres:")):
                    if pid not in self.ours:
                        self.ours.add(pid)
                        changed = True

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            self.sample()

    def ours_ticks(self) -> int:
        return sum(self.last[pid] - self.first.get(pid, 0) for pid in self.ours if pid in self.last)

    def split_ticks(self) -> tuple[int, int]:
        """(children, postgres) ticks among ours."""
        children = postgres = 0
        for pid in self.ours:
            if pid == os.getpid() or pid not in self.last:
                continue
            ticks = self.last[pid] - self.first.get(pid, 0)
            if self._cmdline.get(pid, "").startswith("postgres:"):
                postgres += ticks
            else:
                children += ticks
        return children, postgres


@contextlib.contextmanager
def measure_usage() -> Iterator[list[Usage]]:
    box: list[Usage] = []
    calibration0 = calibrate()
    sampler = _ProcessSampler() if Path("/proc/self/stat").exists() else None
    cpu0, ticks0 = time.process_time(), _machine_ticks()
    if sampler:
        sampler.start()
    try:
        yield box
    finally:
        cpu1, ticks1 = time.process_time(), _machine_ticks()
        if sampler:
            sampler.stop_event.set()
            sampler.join()
            sampler.sample()
    busy = foreign = children_s = postgres_s = None
    if ticks0 and ticks1 and ticks1[1] > ticks0[1]:
        total = ticks1[1] - ticks0[1]
        busy_ticks = ticks1[0] - ticks0[0]
        busy = busy_ticks / total
        if sampler:
            foreign = max(0.0, (busy_ticks - sampler.ours_ticks()) / total)
            hz = os.sysconf("SC_CLK_TCK")
            children, postgres = sampler.split_ticks()
            children_s, postgres_s = children / hz, postgres / hz
    box.append(Usage(cpu1 - cpu0, busy, foreign, children_s, postgres_s, (calibration0 + calibrate()) / 2))


QUIET = {"wait": 0.0, "threshold": 0.15}  # set from --quiet-wait / --quiet-threshold


def wait_for_quiet(log: Callable[[str], None]) -> None:
    """Before a timed run, wait (up to --quiet-wait seconds) until the machine is nearly idle, because
    other people's test runs on a shared machine skew both the trades and pgbench."""
    if QUIET["wait"] <= 0 or _machine_ticks() is None:
        return
    deadline = time.monotonic() + QUIET["wait"]
    waited = False
    while True:
        a = _machine_ticks()
        time.sleep(1.0)
        b = _machine_ticks()
        busy = (b[0] - a[0]) / max(1, b[1] - a[1]) if a and b else 0.0
        if busy <= QUIET["threshold"]:
            if waited:
                log(f"machine quiet again ({100 * busy:.0f}% busy)")
            return
        if time.monotonic() > deadline:
            log(f"machine still {100 * busy:.0f}% busy after waiting {QUIET['wait']:.0f} s; running anyway")
            return
        if not waited:
            log(f"machine {100 * busy:.0f}% busy with other work; waiting up to {QUIET['wait']:.0f} s for it to calm down")
            waited = True


@dataclasses.dataclass
class RunResult:
    backend: str
    path: str  # "service" or "http"
    label: str  # e.g. "1 proc" for the server configuration
    workers: int
    trades: int
    seconds: float
    errors: collections.Counter[str]
    usage: Usage | None = None
    settled_in_db: int = 0
    ledger_balanced: bool | None = None
    ledger_problems: list[str] = dataclasses.field(default_factory=list)
    note: str = ""

    @property
    def tps(self) -> float:
        return self.trades / self.seconds if self.seconds else 0.0


def _error_key(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:160]}"


last_usage: list[Usage | None] = [None]  # of the latest run_timed (kept out of its return value)


def run_timed(workers: int, seconds: float, trade_for: Callable[[int], Callable[[], None]],
              warmup: int = 1, in_thread: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
              ) -> tuple[int, float, collections.Counter[str]]:
    """Run ``workers`` threads, each calling its trade function until ``seconds`` have passed.

    ``in_thread`` wraps each thread's timed loop (used by --profile)."""
    errors: collections.Counter[str] = collections.Counter()
    counts = [0] * workers
    lock = threading.Lock()
    start_gate = threading.Barrier(workers + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        try:
            trade = trade_for(i)
            for _ in range(warmup):  # connections, caches; not counted, but errors are
                try:
                    trade()
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        errors["warm-up " + _error_key(exc)] += 1
        except BaseException:
            start_gate.abort()  # the main thread gets BrokenBarrierError instead of waiting forever
            raise
        start_gate.wait()
        with in_thread() if in_thread else contextlib.nullcontext():
            while time.perf_counter() < deadline[0]:
                try:
                    trade()
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        errors[_error_key(exc)] += 1
                    continue
                counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), name=f"trader-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + 3600  # placeholder until everyone has warmed up
    with measure_usage() as usage:
        start_gate.wait()
        started = time.perf_counter()
        deadline[0] = started + seconds
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    last_usage[0] = usage[0] if usage else None
    return sum(counts), elapsed, errors


def service_trade(factory: sessionmaker[Session], storage: LocalFileStorage, settings: Settings, world: World,
                  buyer: Handle, step: Callable[[str], None] = lambda _: None) -> Callable[[], None]:
    actor = buyer.actor

    def trade() -> None:
        step("create")
        with unit_of_work(factory) as s:
            order_id = market.create_order(s, actor, product_id=world.product_id).id
        step("pay")
        with unit_of_work(factory) as s:
            market.pay_order(s, actor, order_id=order_id)
        step("issue link")
        with unit_of_work(factory) as s:
            token = delivery.issue_link(s, actor, order_id=order_id, ttl=LINK_TTL).token
        step("download")
        with unit_of_work(factory) as s:
            got = delivery.download(s, actor, token=token, settings=settings, storage=storage,
                                    client_address="127.0.0.1")
        size = sum(len(chunk) for chunk in got.chunks)  # what the HTTP path does too: decrypted, the bytes go out
        if size != len(CSV_BYTES):
            raise RuntimeError(f"download returned {size} bytes, expected {len(CSV_BYTES)}")
        step("accept")
        with unit_of_work(factory) as s:
            order = market.accept_order(s, actor, order_id=order_id, fee_rate_bp=FEE_RATE_BP)
            if order.status != "settled":
                raise RuntimeError(f"order {order_id} is {order.status} after accept")

    return trade


class HttpError(Exception):
    pass


def http_trade(client: Any, product_id: int) -> Callable[[], None]:
    def call(method: str, url: str, **kw: Any) -> Any:
        response = client.request(method, url, **kw)
        if response.status_code >= 400:
            raise HttpError(f"{method} {re.sub(r'/[0-9]+|/downloads/[^/]+', '/…', url)} -> "
                            f"{response.status_code} {response.text[:200]}")
        return response

    def trade() -> None:
        order = call("POST", "/api/v1/orders", json={"product_id": product_id}).json()
        oid = order["id"]
        call("POST", f"/api/v1/orders/{oid}/pay")
        link = call("GET", f"/api/v1/orders/{oid}/delivery").json()
        body = call("GET", link["download_url"]).content
        if len(body) != len(CSV_BYTES):
            raise HttpError(f"download returned {len(body)} bytes, expected {len(CSV_BYTES)}")
        settled = call("POST", f"/api/v1/orders/{oid}/accept").json()
        if settled["status"] != "settled":
            raise HttpError(f"order {oid} is {settled['status']} after accept")

    return trade


# --------------------------------------------------------------------------------------------
# the HTTP server: the real app in uvicorn, in its own process (the clients must not share its GIL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def uvicorn_server(database_url: str, data_dir: Path, processes: int, log_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "SHUJIAO_DATABASE_URL": database_url,
        "SHUJIAO_DATA_DIR": str(data_dir),
        "SHUJIAO_SECRET_KEY": SECRET,
        "SHUJIAO_ENVIRONMENT": "production",
        "SHUJIAO_MARKET__FEE_RATE_BP": str(FEE_RATE_BP),
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    cmd = [sys.executable, "-m", "uvicorn", "shujiao.app:app_from_environment", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes),
           "--no-access-log", "--log-level", "warning"]
    log = log_path.open("ab")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {proc.returncode}; see {log_path}")
            try:
                if httpx.get(base + "/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not answer within 60 s; see {log_path}")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the group of the server we started (and its workers)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def http_login(base: str, buyer: Handle) -> str:
    import httpx

    response = httpx.post(base + "/api/v1/auth/token", data={"username": buyer.username, "password": buyer.password},
                          timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def statement_census(engine: sa.Engine, factory: sessionmaker[Session], storage: LocalFileStorage,
                     settings: Settings, world: World, dump: Path | None) -> dict[str, int]:
    """SQL statements (including BEGIN/COMMIT sent by the driver) of one service-layer trade, per step."""
    current = ["?"]
    counts: collections.Counter[str] = collections.Counter()
    lines: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
        counts[current[0]] += 1
        lines.append(f"[{current[0]}] " + " ".join(statement.split())[:300])

    def on_commit(_conn: Any) -> None:
        counts[current[0]] += 1
        lines.append(f"[{current[0]}] COMMIT")

    def step(name: str) -> None:
        current[0] = name

    trade = service_trade(factory, storage, settings, world, world.buyers[0], step)
    trade()  # warm the caches first, then count a second trade
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    sa.event.listen(engine, "commit", on_commit)
    try:
        trade()
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        sa.event.remove(engine, "commit", on_commit)
    if dump is not None:
        dump.parent.mkdir(parents=True, exist_ok=True)
        dump.write_text("\n".join(lines) + "\n")
    return dict(counts)


# --------------------------------------------------------------------------------------------
# checks


def settled_orders(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.status == "settled")) or 0)


def check_ledger(factory: sessionmaker[Session], operator: Actor) -> tuple[bool, list[str]]:
    with unit_of_work(factory) as s:
        result = ledger.check(s, operator)
        return result.balanced, result.problems


# --------------------------------------------------------------------------------------------
# pgbench


@dataclasses.dataclass
class PgbenchResult:
    tps: float | None
    command: str
    detail: str
    ok: bool
    usage: Usage | None = None
    when: str = ""


def find_pgbench() -> str | None:
    return shutil.which("pgbench") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)), None)


def parse_tps(output: str) -> float | None:
    tps_lines = re.findall(r"^tps = ([0-9.]+)\s*\((.*)\)", output, flags=re.M)
    if not tps_lines:
        return None
    for value, how in tps_lines:  # PostgreSQL < 14 prints both; take the one without connecting
        if "excluding" in how or "without initial connection" in how:
            return float(value)
    return float(tps_lines[-1][0])


def run_pgbench(admin_url: str, seconds: int, log: Callable[[str], None], clients: int = 4, threads: int = 2,
                scale: int = 10) -> PgbenchResult:
    exe = find_pgbench()
    if exe is None:
        return PgbenchResult(None, "pgbench", "pgbench not found", ok=False)
    parts = urlsplit(admin_url)
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    with postgres_database(admin_url, "shujiao_pgbench") as name:
        init = subprocess.run([exe, "-i", "-q", "-s", str(scale), *conn, name], env=env, capture_output=True,
                              text=True)
        if init.returncode:
            return PgbenchResult(None, "pgbench -i", init.stderr[-500:], ok=False)
        cmd = [exe, "-c", str(clients), "-j", str(threads), "-T", str(seconds), *conn, name]
        wait_for_quiet(log)
        with measure_usage() as usage:
            run = subprocess.run(cmd, env=env, capture_output=True, text=True)
        shown = f"pgbench -c {clients} -j {threads} -T {seconds} -s {scale}"
        if run.returncode:
            return PgbenchResult(None, shown, (run.stdout + run.stderr)[-500:], ok=False, usage=usage[0])
        tps = parse_tps(run.stdout)
        return PgbenchResult(tps, shown, run.stdout, ok=tps is not None, usage=usage[0])


# --------------------------------------------------------------------------------------------
# one backend


@dataclasses.dataclass
class Plan:
    seconds: float
    service_workers: list[int]
    http_clients: int
    http_processes: list[int]
    skip_http: bool
    profile: str | None
    profile_out: Path | None
    service_processes: list[int] = dataclasses.field(default_factory=list)


def _service_child(database_url: str, storage_root: str, world: World, buyers: list[int], seconds: float,
                   barrier: Any, results: Any) -> None:
    """One process of a multi-process service-layer run: its own engine, len(buyers) threads."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    storage = LocalFileStorage(Path(storage_root))
    settings = bench_settings(database_url, Path(storage_root).parent)
    errors: collections.Counter[str] = collections.Counter()
    try:
        for i in buyers:  # warm up, not counted
            try:
                service_trade(factory, storage, settings, world, world.buyers[i])()
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors["warm-up " + _error_key(exc)] += 1
        barrier.wait()
        trades, elapsed, run_errors = run_timed(
            len(buyers), seconds, lambda i: service_trade(factory, storage, settings, world, world.buyers[buyers[i]]),
            warmup=0)
        errors.update(run_errors)
        results.put((trades, elapsed, dict(errors), time.process_time()))
    except BaseException as exc:
        errors["process: " + _error_key(exc)] += 1
        results.put((0, 0.0, dict(errors), time.process_time()))
        barrier.abort()
    finally:
        engine.dispose()


def run_service_processes(database_url: str, storage: LocalFileStorage, world: World, processes: int, workers: int,
                          seconds: float) -> tuple[int, float, collections.Counter[str], Usage | None]:
    """``workers`` buyers spread over ``processes`` spawned Python processes (no shared GIL)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    groups = [g for g in (list(range(workers))[p::processes] for p in range(processes)) if g]
    barrier = ctx.Barrier(len(groups) + 1)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_service_child, args=(database_url, str(storage.root), world, g, seconds, barrier,
                                                      queue), name=f"service-{n}") for n, g in enumerate(groups)]
    for proc in procs:
        proc.start()
    errors: collections.Counter[str] = collections.Counter()
    trades, elapsed = 0, 0.0
    try:
        barrier.wait(timeout=300)  # the children have imported everything and warmed up
        with measure_usage() as usage:
            outcomes = [queue.get(timeout=seconds + 300) for _ in procs]
    except Exception as exc:  # noqa: BLE001 - reported
        errors["processes: " + _error_key(exc)] += 1
        outcomes = []
    for proc in procs:
        proc.join(timeout=60)
        if proc.is_alive():  # a child of ours that is stuck: end it, the run already counts as failed
            errors[f"process {proc.name} did not finish"] += 1
            proc.terminate()
            proc.join()
    for n, child_elapsed, child_errors, _ in outcomes:
        trades += n
        elapsed = max(elapsed, child_elapsed)
        errors.update(child_errors)
    u = usage[0] if outcomes and usage else None
    if u is not None:  # the trading happened in the children: show their CPU as the bench's
        u = dataclasses.replace(u, self_cpu_s=u.self_cpu_s + (u.children_cpu_s or 0), children_cpu_s=None)
    return trades, elapsed, errors, u


def bench_backend(backend: str, database_url: str, workdir: Path, plan: Plan, log: Callable[[str], None]) -> list[RunResult]:
    data_dir = workdir / f"data-{backend}"
    storage = LocalFileStorage(data_dir / "storage")
    (data_dir / "storage").mkdir(parents=True, exist_ok=True)
    settings = bench_settings(database_url, data_dir)
    t0 = time.perf_counter()
    migrate(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    results: list[RunResult] = []
    try:
        buyers_needed = max(plan.service_workers + [plan.http_clients])
        world = build_world(factory, storage, settings, buyers_needed)
        log(f"[{backend}] migrated and set up {buyers_needed} buyers in {time.perf_counter() - t0:.1f} s")
        census = statement_census(engine, factory, storage, settings, world,
                                  plan.profile_out / f"{backend}-statements.txt" if plan.profile_out else None)
        log(f"[{backend}] SQL statements per service-layer trade (incl. COMMIT): {sum(census.values())} = "
            + ", ".join(f"{k} {v}" for k, v in census.items()))

        for workers in plan.service_workers:
            before = settled_orders(factory)

            def trade_for(i: int) -> Callable[[], None]:
                return service_trade(factory, storage, settings, world, world.buyers[i])

            wait_for_quiet(log)
            with profiling(plan.profile, plan.profile_out, f"{backend}-service-w{workers}", log) as in_thread:
                trades, seconds, errors = run_timed(workers, plan.seconds, trade_for, in_thread=in_thread)
            result = RunResult(backend, "service", "in-process threads", workers, trades, seconds, errors,
                               last_usage[0])
            results.append(finish(result, factory, world, before, warmups=workers, log=log))

        for processes in plan.service_processes:
            workers = max(plan.service_workers)
            if min(processes, workers) <= 1:
                continue  # the same as the one-process run
            before = settled_orders(factory)
            wait_for_quiet(log)
            trades, seconds, errors, usage = run_service_processes(database_url, storage, world, processes, workers,
                                                                   plan.seconds)
            result = RunResult(backend, "service", f"{min(processes, workers)} processes", workers, trades, seconds,
                               errors, usage)
            results.append(finish(result, factory, world, before, warmups=workers, log=log))

        if not plan.skip_http:
            import httpx

            for processes in plan.http_processes:
                if processes > 1 and backend == "sqlite":
                    continue  # SQLite serves one process (shujiao serve refuses several workers)
                before = settled_orders(factory)
                label = f"uvicorn {processes} proc{'s' if processes > 1 else ''}"
                errors: collections.Counter[str] = collections.Counter()
                trades, seconds = 0, 0.0
                last_usage[0] = None
                try:
                    with uvicorn_server(database_url, data_dir, processes, workdir / f"uvicorn-{backend}.log") as base:
                        tokens = [http_login(base, b) for b in world.buyers[: plan.http_clients]]
                        wait_for_quiet(log)
                        clients = [httpx.Client(base_url=base, timeout=60,
                                                headers={"Authorization": f"Bearer {t}"}) for t in tokens]
                        try:
                            trades, seconds, errors = run_timed(
                                plan.http_clients, plan.seconds, lambda i: http_trade(clients[i], world.product_id))
                        finally:
                            for c in clients:
                                c.close()
                except Exception as exc:  # noqa: BLE001 - the server did not run: an error, reported
                    errors["server: " + _error_key(exc)] += 1
                result = RunResult(backend, "http", label, plan.http_clients, trades, seconds, errors, last_usage[0])
                results.append(finish(result, factory, world, before, warmups=plan.http_clients, log=log))
    finally:
        engine.dispose()
    return results


def finish(result: RunResult, factory: sessionmaker[Session], world: World, before: int, *, warmups: int,
           log: Callable[[str], None]) -> RunResult:
    result.settled_in_db = settled_orders(factory) - before
    result.ledger_balanced, result.ledger_problems = check_ledger(factory, world.operator.actor)
    expected = result.trades + warmups - sum(n for k, n in result.errors.items() if k.startswith("warm-up"))
    if result.settled_in_db != expected:
        result.note = f"settled in DB {result.settled_in_db} != counted {result.trades} + warm-up"
    log(f"[{result.backend}] {result.path:7s} {result.label:20s} workers={result.workers} trades={result.trades} "
        f"in {result.seconds:.1f} s = {result.tps:.1f}/s, errors={sum(result.errors.values())}, "
        f"ledger {'balanced' if result.ledger_balanced else 'NOT BALANCED'}")
    return result


@contextlib.contextmanager
def profiling(kind: str | None, out: Path | None, name: str, log: Callable[[str], None],
              ) -> Iterator[Callable[[], contextlib.AbstractContextManager[Any]] | None]:
    """Profile the timed loop of every worker thread and write one merged profile.

    cprofile and pyinstrument measure wall time per thread, so with several threads on a 2-core
    machine a function's time includes waiting for the GIL; cprofile-cpu counts CPU time only.
    Run with --workers 1 for the cleanest picture."""
    if kind is None:
        yield None
        return
    out = out or Path(tempfile.gettempdir())
    out.mkdir(parents=True, exist_ok=True)
    collected: list[Any] = []
    lock = threading.Lock()

    @contextlib.contextmanager
    def in_thread() -> Iterator[None]:
        if kind.startswith("cprofile"):
            import cProfile

            # cprofile-cpu counts this thread's CPU time only: no waiting for PostgreSQL or the GIL.
            profiler: Any = cProfile.Profile(time.thread_time) if kind == "cprofile-cpu" else cProfile.Profile()
            profiler.enable()
            try:
                yield
            finally:
                profiler.disable()
                with lock:
                    collected.append(profiler)
        else:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
            try:
                yield
            finally:
                session = profiler.stop()
                with lock:
                    collected.append(session)

    yield in_thread
    if not collected:
        return
    if kind.startswith("cprofile"):
        import pstats

        stats = pstats.Stats(collected[0])
        for profiler in collected[1:]:
            stats.add(profiler)
        path = out / f"{name}.{kind}.pstats"
        stats.dump_stats(str(path))
    else:
        from pyinstrument.renderers import ConsoleRenderer
        from pyinstrument.session import Session as ProfileSession

        session = collected[0]
        for other in collected[1:]:
            session = ProfileSession.combine(session, other)
        path = out / f"{name}.pyinstrument.txt"
        path.write_text(ConsoleRenderer(unicode=False, color=False, show_all=False).render(session))
    log(f"profile of {len(collected)} thread(s) written to {path}")


# --------------------------------------------------------------------------------------------
# report


def versions(pg_admin_url: str | None) -> list[tuple[str, str]]:
    import fastapi
    import psycopg
    import uvicorn

    rows = [
        ("machine", f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {_cpu_model()}, "
                    f"{platform.system()} {platform.release()}"),
        ("python", platform.python_version()),
        ("sqlalchemy / fastapi / uvicorn / psycopg", f"{sa.__version__} / {fastapi.__version__} / "
                                                     f"{uvicorn.__version__} / {psycopg.__version__}"),
        ("sqlite", sqlite3.sqlite_version),
    ]
    if pg_admin_url:
        try:
            engine = sa.create_engine(_driver_url(pg_admin_url))
            with engine.connect() as c:
                settings = ", ".join(f"{k}={c.exec_driver_sql(f'SHOW {k}').scalar()}" for k in
                                     ("synchronous_commit", "fsync", "shared_buffers", "max_connections"))
                rows.append(("postgresql", f"{c.exec_driver_sql('SHOW server_version').scalar()} ({settings})"))
            engine.dispose()
        except Exception as exc:  # noqa: BLE001
            rows.append(("postgresql", f"unreachable: {exc}"))
        exe = find_pgbench()
        if exe:
            rows.append(("pgbench", subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()))
    return rows


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _pct(value: float | None) -> str:
    return f"{100 * value:.0f}%" if value is not None else "—"


def print_report(results: list[RunResult], pgbench: list[PgbenchResult], info: list[tuple[str, str]],
                 seconds: float) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text is enough
        Console = Table = None  # type: ignore[assignment,misc]

    measured = [p.tps for p in pgbench if p.tps]
    base = sum(measured) / len(measured) if measured else None
    header = ["backend", "path", "server", "workers", "trades", "seconds", "trades/s", "errors",
              "× pgbench tps", "target", "meets", "ledger", "CPU ms/trade bench|server|pg", "machine busy",
              "foreign CPU", "CPU slowdown"]
    numeric = {"workers", "trades", "seconds", "trades/s", "errors", "× pgbench tps", "CPU ms/trade bench|server|pg",
               "machine busy", "foreign CPU", "CPU slowdown"}
    calibrations = [u.calibration_ms for u in [*(r.usage for r in results), *(p.usage for p in pgbench)]
                    if u and u.calibration_ms]
    fastest = min(calibrations) if calibrations else None

    def slowdown(u: Usage | None) -> str:
        return f"{u.calibration_ms / fastest:.2f}×" if u and u.calibration_ms and fastest else "—"

    def per_trade(r: RunResult) -> str:
        if not r.usage or not r.trades:
            return "—"
        parts = [r.usage.self_cpu_s, r.usage.children_cpu_s if r.path == "http" else None, r.usage.postgres_cpu_s
                 if r.backend == "postgresql" else None]
        return " | ".join(f"{1000 * x / r.trades:.1f}" if x is not None else "—" for x in parts)

    rows = []
    for r in results:
        target = TARGETS[r.path] if r.backend == "postgresql" else None
        ratio = r.tps / base if base else None
        meets = "—" if target is None or ratio is None else ("yes" if ratio >= target else "no")
        rows.append([
            r.backend, r.path, r.label, str(r.workers), str(r.trades), f"{r.seconds:.1f}", f"{r.tps:.1f}",
            str(sum(r.errors.values())), f"{ratio:.3f}" if ratio is not None else "—",
            f"≥ {target:.2f}" if target is not None else "—", meets,
            "balanced" if r.ledger_balanced else "NOT BALANCED",
            per_trade(r),
            _pct(r.usage.machine_busy if r.usage else None), _pct(r.usage.foreign_busy if r.usage else None),
            slowdown(r.usage),
        ])
    for p in pgbench:
        rows.append(["postgresql", f"pgbench TPC-B ({p.when})", p.command, "4 clients", "—", str(int(seconds)),
                     f"{p.tps:.1f} tps" if p.tps else "failed", "0" if p.ok else "1",
                     f"{p.tps / base:.3f}" if p.tps and base else "—", "—", "—", "—", "—",
                     _pct(p.usage.machine_busy if p.usage else None), _pct(p.usage.foreign_busy if p.usage else None),
                     slowdown(p.usage)])

    title = "Completed trades per second (create → pay → link + download → accept/settle)"
    if Console is not None:
        console = Console(width=220)
        for k, v in info:
            console.print(f"[bold]{k}[/bold]: {v}", highlight=False)
        table = Table(title=title)
        for h in header:
            table.add_column(h, justify="right" if h in numeric else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        for k, v in info:
            print(f"{k}: {v}")
        print(title)
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
        print("-+-".join("-" * w for w in widths))
        for row in rows:
            print(" | ".join(c.ljust(w) for c, w in zip(row, widths)))

    if base:
        print(f"pgbench baseline: {base:.1f} tps (mean of {len(measured)} run(s): "
              + ", ".join(f"{p.when} {p.tps:.1f}" for p in pgbench if p.tps) + ")")
    for r in results:
        if r.errors:
            print(f"\nerrors in {r.backend} {r.path} ({r.label}, {r.workers} workers):")
            for key, n in r.errors.most_common(10):
                print(f"  {n:6d} × {key}")
        if r.ledger_problems:
            print(f"\nledger problems after {r.backend} {r.path} ({r.label}): {r.ledger_problems}")
        if r.note:
            print(f"\nnote on {r.backend} {r.path} ({r.label}): {r.note}")
    for p in pgbench:
        if not p.ok:
            print(f"\npgbench ({p.when}) failed: {p.detail}")
    def is_noisy(u: Usage | None) -> bool:
        return bool(u and ((u.foreign_busy or 0) > 0.10 or (fastest and u.calibration_ms
                                                            and u.calibration_ms / fastest > 1.3)))

    noisy = [r for r in results if is_noisy(r.usage)] + [p for p in pgbench if is_noisy(p.usage)]
    print("\nOne trade is 5 transactions (create, pay, issue link, download, accept); a TPC-B transaction is 1.")
    print("Targets apply to PostgreSQL only; a missed target is reported, not a failure.")
    print("CPU ms/trade: this process (the service layer, or the HTTP clients) | uvicorn | PostgreSQL (this run's "
          "backends and its background processes). machine busy: all cores. foreign CPU: anything else "
          "(e.g. other people's tests). CPU slowdown: a fixed Python workload timed around the run, against the "
          "fastest seen (a shared VM can be up to 2× slower for minutes).")
    if noisy:
        print(f"WARNING: {len(noisy)} run(s) shared the machine with other work (foreign CPU > 10%) or ran on a "
              "slowed-down CPU (slowdown > 1.3×); those figures are pessimistic — run again on a quiet machine.")


# --------------------------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="length of each timed run (and of pgbench)")
    parser.add_argument("--workers", type=_int_list, default=[4],
                        help="PostgreSQL: service-layer threads and HTTP client threads (comma list for several "
                             "service runs; the HTTP runs use the first value). Default 4")
    parser.add_argument("--sqlite-workers", type=_int_list, default=[1],
                        help="SQLite: service-layer threads and HTTP client threads (SQLite serializes writers). "
                             "Default 1")
    parser.add_argument("--http-processes", type=_int_list, default=[1, 2],
                        help="uvicorn worker processes to try on PostgreSQL (SQLite always gets 1). Default 1,2")
    parser.add_argument("--service-processes", type=_int_list, default=[2],
                        help="PostgreSQL: also run the service loop with the largest --workers spread over this many "
                             "Python processes (one GIL each); comma list, empty to skip. Default 2")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-pgbench", action="store_true")
    parser.add_argument("--postgres-url", default=os.environ.get("SHUJIAO_BENCH_POSTGRES_URL", DEFAULT_PG_URL),
                        help="admin URL; a scratch database is created next to it and dropped at the end")
    parser.add_argument("--quiet-wait", type=float, default=60,
                        help="before each timed run, wait up to this many seconds for the machine to be idle "
                             "(others' test runs skew the figures); 0 to never wait. Default 60")
    parser.add_argument("--quiet-threshold", type=float, default=0.15,
                        help="share of all cores counted as idle enough. Default 0.15")
    parser.add_argument("--profile", choices=["cprofile", "cprofile-cpu", "pyinstrument"],
                        help="profile the service-layer runs (written to --profile-out)")
    parser.add_argument("--profile-out", type=Path)
    args = parser.parse_args(argv)

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    seconds = args.seconds
    # Turn a plain `kill` into SystemExit so that the scratch databases are still dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    QUIET.update(wait=args.quiet_wait, threshold=args.quiet_threshold)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    uses_pg = "postgresql" in backends or not args.skip_pgbench
    info = versions(args.postgres_url if uses_pg else None)
    results: list[RunResult] = []
    pgbench: list[PgbenchResult] = []
    failed_setup = False

    def measure_pgbench(when: str) -> None:
        log(f"pgbench ({when}): initialising scale 10 and running -c 4 -j 2 -T {int(round(seconds))} ...")
        result = run_pgbench(args.postgres_url, max(1, int(round(seconds))), log)
        result.when = when
        pgbench.append(result)
        log(f"pgbench ({when}): {result.tps} tps" if result.ok else f"pgbench failed: {result.detail}")

    with tempfile.TemporaryDirectory(prefix="shujiao-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_pgbench:
            measure_pgbench("before")
        for backend in backends:
            workers = args.sqlite_workers if backend == "sqlite" else args.workers
            plan = Plan(seconds=seconds, service_workers=workers, http_clients=workers[0],
                        http_processes=[1] if backend == "sqlite" else args.http_processes,
                        skip_http=args.skip_http, profile=args.profile, profile_out=args.profile_out,
                        service_processes=[] if backend == "sqlite" else [p for p in args.service_processes if p > 1])
            try:
                if backend == "sqlite":
                    results += bench_backend(backend, f"sqlite:///{workdir / 'bench.db'}", workdir, plan, log)
                else:
                    with postgres_database(args.postgres_url, "shujiao_bench") as name:
                        results += bench_backend(backend, _pg_url_for(args.postgres_url, name), workdir, plan, log)
            except Exception as exc:  # noqa: BLE001 - reported, and the exit code says so
                failed_setup = True
                log(f"[{backend}] FAILED: {_error_key(exc)}")
                import traceback

                traceback.print_exc()
            for line in _tail(workdir.glob(f"uvicorn-{backend}.log")):
                log(f"[{backend}] server log: {line}")

        if not args.skip_pgbench:
            measure_pgbench("after")

    print_report(results, pgbench, info, seconds)
    bad = failed_setup or any(r.errors or not r.ledger_balanced or r.note for r in results) or any(
        not p.ok for p in pgbench)
    return 1 if bad else 0


def _tail(paths: Iterator[Path], lines: int = 20) -> list[str]:
    out: list[str] = []
    for path in paths:
        text = path.read_text(errors="replace").strip()
        if text:
            out += text.splitlines()[-lines:]
    return out


if __name__ == "__main__":
    sys.exit(main())
