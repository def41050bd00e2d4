"""The transparency log, measured: appends, proofs, and whole-log verification against raw hashing.

For each hash (SHA-256: suite ``international``; SM3: suite ``gm``) and each database (SQLite file,
PostgreSQL scratch database), a log is grown through the real write path
(``tlog.writer.append_records``, the function every committing transaction runs) and measured:

  appends/s      one record per transaction (each a commit, as a request is), and 1,000 per transaction;
                 beside it pymerkle 7 (``SqliteTree.append_entry``: one commit per entry, and
                 ``append_entries``; ``InmemoryTree`` for reference: no persistence at all)
  proofs         mean time of an inclusion proof and a consistency proof through the service
                 (one SELECT of the O(log n) stored nodes + hashing) at 10^3, 10^5, 10^6 leaves
  verify         ``log verify`` throughput (leaves/s) on the database and on an export, next to
                 the raw calls/s of the same hash on 64-byte inputs in the same process

    .venv/bin/python bench/log.py                      # everything (about 10 minutes)
    .venv/bin/python bench/log.py --sizes 1000,100000 --backends sqlite --hashes sm3

Targets: verify >= 0.3 x raw hash calls/s; proofs < 1 ms at 10^6; appends/s ahead of pymerkle.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from databases import make_database  # noqa: E402


from shujiao.crypto.hashing import SHA256, SM3, Hash  # noqa: E402
from shujiao.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from shujiao.tlog import service as tlog  # noqa: E402
from shujiao.tlog.offline import NODE_RECORD, Export  # noqa: E402
from shujiao.tlog.verify import verify  # noqa: E402
from shujiao.tlog.writer import append_records  # noqa: E402

SUITE_OF = {"sha256": "international", "sm3": "gm"}


def record(i: int) -> dict:
    return dict(occurred_at=dt.datetime.now(dt.UTC), actor_kind="user", actor_user_id=1000 + i % 97,
                actor_member_id=10 + i % 13, actor_label=f"user{i % 97}", action="market.order.pay",
                subject_type="order", subject_id=str(i),
                change_json='{"amount_fen":%d,"status":{"from":"created","to":"paid"}}' % (i * 7 % 100000))


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def raw_calls_per_second(h: Hash, n: int = 300_000) -> float:
    inputs = [os.urandom(64) for _ in range(n)]
    digest = h.digest
    started = time.perf_counter()
    for x in inputs:
        digest(x)
    return n / (time.perf_counter() - started)


def grow(factory, start: int, count: int, per_transaction: int) -> float:
    started = time.perf_counter()
    done = 0
    while done < count:
        n = min(per_transaction, count - done)
        with unit_of_work(factory) as session:
            append_records(session, [record(start + done + i) for i in range(n)])
        done += n
    return count / (time.perf_counter() - started)


def pymerkle_appends(workdir: Path, hash_name: str, count: int) -> dict[str, float]:
    from pymerkle import InmemoryTree, SqliteTree

    entries = [f"record {i}".encode() for i in range(count)]
    results = {}
    tree = SqliteTree(str(workdir / f"pymerkle-{uuid.uuid4().hex[:6]}.db"), algorithm=hash_name if hash_name != "sm3" else "sha256")
    results["pymerkle SqliteTree append_entry (1/commit)"] = count / timed(lambda: [tree.append_entry(e) for e in entries])
    tree.close()
    tree = SqliteTree(str(workdir / f"pymerkle-{uuid.uuid4().hex[:6]}.db"), algorithm=hash_name if hash_name != "sm3" else "sha256")
    results["pymerkle SqliteTree append_entries (batch)"] = count * 10 / timed(tree.append_entries, entries * 10, 1000)
    tree.close()
    memory = InmemoryTree(algorithm=hash_name if hash_name != "sm3" else "sha256")
    results["pymerkle InmemoryTree append_entry (no persistence)"] = count * 10 / timed(
        lambda: [memory.append_entry(e) for e in entries * 10])
    return results


def proof_times(factory, size: int, samples: int = 300) -> tuple[float, float]:
    rng = random.Random(size)
    with unit_of_work(factory) as session:
        started = time.perf_counter()
        for _ in range(samples):
            tlog.inclusion_proof(session, index=rng.randrange(size), tree_size=size)
        inclusion = (time.perf_counter() - started) / samples
        started = time.perf_counter()
        for _ in range(samples):
            tlog.consistency_proof(session, first=rng.randrange(1, size + 1), second=size)
        consistency = (time.perf_counter() - started) / samples
    return inclusion, consistency


def verify_database(factory) -> tuple[int, float]:
    with unit_of_work(factory) as session:
        head = tlog.head(session)
        started = time.perf_counter()
        report = verify(head.hash, tlog.iter_leaves(session), stored_nodes=tlog.iter_nodes(session),
                        checkpoints=[], keys=[])
        seconds = time.perf_counter() - started
    assert report.ok, report.problems
    return report.leaves, report.leaves / seconds


def export(factory, directory: Path, hash_name: str) -> Export:
    import json

    directory.mkdir(parents=True, exist_ok=True)
    with unit_of_work(factory) as session:
        size = tlog.head(session).tree_size
        with (directory / "leaves.jsonl").open("wb") as out:
            for _, data in tlog.iter_leaves(session):
                out.write(data + b"\n")
        with (directory / "nodes.bin").open("wb") as out:
            for node_id, value in tlog.iter_nodes(session):
                out.write(NODE_RECORD.pack(node_id, value))
    (directory / "checkpoints.jsonl").write_text("")
    (directory / "log.json").write_text(json.dumps({"origin": "bench", "hash": hash_name, "tree_size": size, "keys": []}))
    return Export.open(directory)


def verify_export(exported: Export, h: Hash) -> float:
    started = time.perf_counter()
    report = verify(h, exported.leaves(), stored_nodes=exported.nodes(), checkpoints=[], keys=[])
    seconds = time.perf_counter() - started
    assert report.ok, report.problems
    return report.leaves / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--hashes", default="sha256,sm3")
    parser.add_argument("--single-appends", type=int, default=2000, help="records appended one per transaction")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    hashes = {"sha256": SHA256, "sm3": SM3}
    rows: list[tuple[str, ...]] = []
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory(prefix="shujiao-bench-log-") as tmp:
        workdir = Path(tmp)
        for hash_name in args.hashes.split(","):
            h = hashes[hash_name]
            raw = raw_calls_per_second(h)
            rows.append((hash_name, "-", "raw hash calls/s, 64-byte inputs (the limit)", f"{raw:,.0f}", ""))
            for name, rate in pymerkle_appends(workdir, hash_name, args.single_appends).items():
                note = "" if hash_name == "sha256" else "(pymerkle has no SM3: SHA-256)"
                rows.append((hash_name, "sqlite" if "Sqlite" in name else "memory", name, f"{rate:,.0f}/s", note))
            for backend in args.backends.split(","):
                url, drop = make_database(backend, SUITE_OF[hash_name], workdir, f"log-{hash_name}")
                engine = make_engine(url)
                factory = make_session_factory(engine)
                try:
                    single = grow(factory, 0, args.single_appends, 1)
                    rows.append((hash_name, backend, "appends, 1 record per transaction (commit each)", f"{single:,.0f}/s", ""))
                    size = args.single_appends
                    batched = None
                    for target in sizes:
                        if target > size:
                            rate = grow(factory, size, target - size, 1000)
                            batched = rate if batched is None else batched
                            size = target
                        inclusion, consistency = proof_times(factory, target)
                        ok = "ok" if target < 10**6 or max(inclusion, consistency) < 1e-3 else "target 1 ms missed"
                        rows.append((hash_name, backend, f"proofs at {target:>9,} leaves: inclusion / consistency",
                                     f"{inclusion*1e3:.3f} / {consistency*1e3:.3f} ms", ok))
                    if batched is not None:
                        rows.append((hash_name, backend, "appends, 1,000 records per transaction", f"{batched:,.0f}/s", ""))
                    leaves, rate = verify_database(factory)
                    rows.append((hash_name, backend, f"log verify on the database ({leaves:,} leaves)",
                                 f"{rate:,.0f} leaves/s", f"{rate/raw:.2f} x raw"))
                    if backend == "sqlite":
                        exported = export(factory, workdir / f"export-{hash_name}", hash_name)
                        rate = verify_export(exported, h)
                        rows.append((hash_name, "export", f"log verify --export ({leaves:,} leaves)",
                                     f"{rate:,.0f} leaves/s", f"{rate/raw:.2f} x raw (target 0.3)"))
                finally:
                    engine.dispose()
                    drop()
                print(f"  done: {hash_name} on {backend}", file=sys.stderr)
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
