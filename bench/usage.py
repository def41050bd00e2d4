"""Usage control, measured: ``authorize_use`` checks per second, as every delivery point makes one.

    cd /work/wt-usage && PYTHONPATH=src:. /work/main/.venv/bin/python bench/usage.py      # ~1 minute
    PYTHONPATH=src:. /work/main/.venv/bin/python bench/usage.py --backends sqlite --n 500

For each database (a SQLite file; a PostgreSQL database created for the run and dropped after it)
the bench makes an operator, a provider with one product offered for file, API and Delta Sharing
delivery, and a buyer with one paid order (so one contract). Then, ``--n`` times each, every check
in its own transaction (session, check, commit), as one request makes it:

  check (call)        ``authorize_use(action="call")``: contract, order state, chain, window, mode
  check + take (dl)   ``authorize_use(action="download")``: the same and the atomic count UPDATE
  baseline            the transaction alone (``SELECT 1`` and commit): what any request pays

Figures: checks per second and the median microseconds per check.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(ROOT))

from databases import make_database  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from shujiao.catalog.storage import LocalFileStorage  # noqa: E402
from shujiao.config import Settings  # noqa: E402
from shujiao.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from shujiao.listing import service as listing  # noqa: E402
from shujiao.listing.schemas import Delisting, ProductUpdate, Review  # noqa: E402
from shujiao.market import service as market  # noqa: E402
from shujiao.usage import service as usage  # noqa: E402
from shujiao.usage.offer import Offer, UsageTerms  # noqa: E402
from tests.factories import ALL_CHECKED, make_listed_product, make_member, make_operator  # noqa: E402

SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"


def _timed(n: int, step: Callable[[], None]) -> tuple[float, float]:
    samples = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        samples.append(time.perf_counter() - t0)
    return n / (time.perf_counter() - started), statistics.median(samples) * 1e6


def run(backend: str, n: int, workdir: Path) -> list[tuple[str, str, float, float]]:
    url, drop = make_database(backend, "gm", workdir, f"usage-{backend}")
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        settings = Settings(environment="test", database_url=url, data_dir=workdir / backend, secret_key=SECRET)
        storage = LocalFileStorage(settings.storage_root)
        operator = make_operator(factory)
        provider = make_member(factory, operator)
        buyer = make_member(factory, operator, kind="buyer", deposit_fen=10_000_00)
        product_id = make_listed_product(factory, storage, provider, operator, settings=settings)
        with unit_of_work(factory) as s:  # relist with an offer for every delivery mode
            listing.delist_product(s, provider.actor, product_id=product_id, data=Delisting())
            listing.update_product(s, provider.actor, product_id=product_id, data=ProductUpdate(offer=Offer(
                terms=UsageTerms(delivery_modes=["file", "api", "delta_sharing"]))))
        with unit_of_work(factory) as s:
            listing.submit_product(s, provider.actor, product_id=product_id)
            listing.review_product(s, operator.actor, product_id=product_id,
                                   review=Review(decision="approve", checklist=ALL_CHECKED, reason="ok"))
        with unit_of_work(factory) as s:
            order_id = market.create_order(s, buyer.actor, product_id=product_id).id
            market.pay_order(s, buyer.actor, order_id=order_id)

        def check(action: str) -> Callable[[], None]:
            def step() -> None:
                with unit_of_work(factory) as s:
                    usage.authorize_use(s, buyer.actor, order_id=order_id, action=action)  # type: ignore[arg-type]
            return step

        def baseline() -> None:
            with unit_of_work(factory) as s:
                s.execute(sa.text("SELECT 1"))

        rows = []
        for label, step in (("baseline txn", baseline), ("check (call)", check("call")),
                            ("check + take (download)", check("download"))):
            step()  # warm
            rate, p50 = _timed(n, step)
            rows.append((backend, label, rate, p50))
        return rows
    finally:
        engine.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            rows += run(backend, args.n, Path(tmp))
    print(f"{'backend':<11} {'what':<26} {'per s':>9} {'p50 µs':>9}")
    for backend, label, rate, p50 in rows:
        print(f"{backend:<11} {label:<26} {rate:>9.0f} {p50:>9.0f}")


if __name__ == "__main__":
    main()
