"""Delta Sharing read speed: rows/s the official ``delta-sharing`` client (``load_as_pandas``) reads
from our server, against reading the same Parquet file locally (pyarrow -> pandas), in one run.

    PYTHONPATH=src:. .venv/bin/python bench/delta_sharing.py --rows 3000000

Setup (not timed): a scratch SQLite database and data dir; a provider uploads a Parquet file of
``--rows`` rows (id, 企业名称, 行业, 信用评分, 金额, 日期) — sealed in the vault like any upload — lists it,
a buyer buys and pays, and gets a profile. The server is the real app in its own uvicorn process on
a free loopback port (so client and server do not share a GIL, as in production).

Measured:
  first      the first load_as_pandas: includes building the buyer's copy (decrypt + convert into
             the sharing cache) — once per contract
  client     load_as_pandas, best of --repeat (REST: metadata + query; then the pre-signed file,
             read by pyarrow over fsspec HTTP with range requests, served as a FileResponse)
  local      pyarrow.parquet.read_table(the same cached file).to_pandas(), best of --repeat
  local-1t   the same with use_threads=False, as the client converts (for reference)
Target (issue 6): client >= 0.5 x local.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This script's own name would shadow the delta_sharing package: take bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
for path in (ROOT / "src", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

TARGET = 0.5
SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"


def parquet_bytes(rows: int) -> bytes:
    rng = np.random.default_rng(6)
    industries = np.array(["软件", "制造", "金融", "物流", "能源", "医疗", "农业", "零售"])
    table = pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "企业名称": pa.array([f"贵州数智科技有限公司{i}" for i in range(rows)]),
        "行业": pa.array(industries[rng.integers(0, len(industries), rows)]),
        "信用评分": pa.array(rng.integers(300, 900, rows, dtype=np.int32)),
        "金额": pa.array(rng.random(rows) * 1e6),
        "日期": pa.array((np.datetime64("2020-01-01") + rng.integers(0, 2000, rows)).astype("datetime64[D]")),
    })
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_world(settings, content: bytes) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    """Provider, listed Parquet product, buyer with a paid order; returns (order id, buyer actor)."""
    from shujiao.catalog.storage import LocalFileStorage
    from shujiao.cli import alembic_config
    from shujiao.db import make_engine, make_session_factory, unit_of_work
    from shujiao.market import service as market
    from shujiao.usage.offer import Offer, UsageTerms
    from tests.factories import make_listed_product, make_member, make_operator

    from alembic import command

    command.upgrade(alembic_config(settings.database_url), "head")
    factory = make_session_factory(make_engine(settings.database_url))
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    storage = LocalFileStorage(settings.storage_root)
    operator = make_operator(factory)
    provider = make_member(factory, operator)
    buyer = make_member(factory, operator, kind="buyer", deposit_fen=10**9)
    product_id = make_listed_product(
        factory, storage, provider, operator, settings=settings, price_fen=100_00, title="企业信用评分数据（大）",
        content=content, filename="credit.parquet",
        offer=Offer(terms=UsageTerms(delivery_modes=["file", "delta_sharing"])))
    with unit_of_work(factory) as session:
        order = market.create_order(session, buyer.actor, product_id=product_id)
        market.pay_order(session, buyer.actor, order_id=order.id)
        order_id = order.id
    return order_id, (factory, buyer.actor, product_id)


def best(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import delta_sharing

    from shujiao.config import Settings
    from shujiao.db import unit_of_work
    from shujiao.sharing import protocol, service as sharing

    work = Path(tempfile.mkdtemp(prefix="shujiao-bench-sharing-"))
    port = free_port()
    env = {**os.environ, "SHUJIAO_ENVIRONMENT": "test", "SHUJIAO_SECRET_KEY": SECRET,
           "SHUJIAO_DATA_DIR": str(work / "data"), "SHUJIAO_DATABASE_URL": f"sqlite:///{work / 'shujiao.db'}",
           "SHUJIAO_QUALITY__WORKER_INTERVAL_SECONDS": "0",
           "SHUJIAO_SHARING__PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    settings = Settings(environment="test", secret_key=SECRET, data_dir=work / "data",
                        database_url=env["SHUJIAO_DATABASE_URL"])
    started = time.perf_counter()
    content = parquet_bytes(args.rows)
    order_id, (factory, buyer, product_id) = make_world(settings, content)
    print(f"setup: {args.rows:,} rows, Parquet {len(content) / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s")
    with unit_of_work(factory) as session:
        issued = sharing.issue_profile(session, buyer, order_id=order_id, settings=settings)
    profile = work / "bench.share"
    profile.write_text(json.dumps(protocol.profile_document(
        token=issued.token, expires_at=issued.expires_at, endpoint=f"http://127.0.0.1:{port}/delta-sharing")))
    url = f"{profile}#{protocol.share_name(order_id)}.{protocol.SCHEMA}.{protocol.table_name(product_id)}"

    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "shujiao.app:app_from_environment", "--factory",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                               "--lifespan", "off"], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.1)
        first, frame = best(lambda: delta_sharing.load_as_pandas(url), 1)
        # The buyer's copy is fingerprinted: without a provider policy, a keyed ~5% of rows is left
        # out (no value changed), so both reads count the copy's rows, not the original's.
        cached = next((work / "data" / "sharing-cache").glob("*.parquet"))
        rows = pq.read_metadata(cached).num_rows
        assert len(frame) == rows and rows > args.rows * 0.9, (len(frame), rows)
        client, frame = best(lambda: delta_sharing.load_as_pandas(url), args.repeat)
        assert len(frame) == rows
        local, local_frame = best(lambda: pq.read_table(cached).to_pandas(), args.repeat)
        local_1t, _ = best(lambda: pq.read_table(cached, use_threads=False).to_pandas(use_threads=False),
                           args.repeat)
        assert len(local_frame) == rows
    finally:
        server.terminate()
        server.wait(10)
        cached_size = sum(f.stat().st_size for f in (work / "data" / "sharing-cache").glob("*.parquet"))
        shutil.rmtree(work, ignore_errors=True)

    print(f"served Parquet (the buyer's copy, {rows:,} rows): {cached_size / 1e6:.1f} MB")
    print(f"{'read':<10} {'seconds':>8} {'rows/s':>14}")
    for name, seconds in (("first", first), ("client", client), ("local", local), ("local-1t", local_1t)):
        print(f"{name:<10} {seconds:>8.3f} {rows / seconds:>14,.0f}")
    ratio = local / client
    print(f"client / local = {ratio:.2f} (target >= {TARGET}: {'met' if ratio >= TARGET else 'MISSED'}); "
          f"client / local-1t = {local_1t / client:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
