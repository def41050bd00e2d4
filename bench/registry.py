"""The registry, measured: certificates issued per second and certificate bundles verified per second,
next to the raw sign/s and verify/s of the suite's signature algorithm in the same process.

    cd /work/wt-bench && PYTHONPATH=src:. .venv/bin/python bench/registry.py            # ~3 minutes
    .venv/bin/python bench/registry.py --quick                                          # smoke run
    .venv/bin/python bench/registry.py --suites gm --backends sqlite --repeats 5

For each suite (``gm``: SM2 + SM3; ``international``: Ed25519 + SHA-256) and each database (a SQLite
file; a PostgreSQL database created for the run and dropped after it), the bench migrates, runs
``keys init``, makes an operator and members with a dataset each, and submits applications with a
comment period of 0 days. Then, ``--repeats`` times each, on fresh applications:

  issue, 1/txn     ``decide_application`` approve in its own transaction (one certificate: row,
                   signed statement, audit record → log leaf, commit), as one operator request does
  issue, batch     ``decide_applications`` (many approvals in one transaction, ``--batch`` each)
  verify bundle    ``statement.verify_bundle(bundle, keys_document)`` over the bundles of every
                   distinct certificate issued (built first, untimed): statement signature, leaf
                   hash, inclusion proof, signed checkpoint, record = statement. The bundles share
                   the checkpoint that covers them all, as an auditor's batch does; each pass
                   starts with the verifier's caches cleared.
  verify, cold     the same with the caches cleared before every bundle (``--cold`` of them): a
                   bundle whose checkpoint this process has not seen yet

and the baselines: raw ``sign`` and ``verify`` calls/s of ``generate_signer(alg)`` of the suite
over distinct ~1 KB messages (statements are about that size). Figures are medians of the repeats.

Target (the issue): certificates issued and verified per second >= 0.5 x the raw sign / verify rate.
Set SHUJIAO_BENCH_POSTGRES_URL to use another PostgreSQL server (default 127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(ROOT))

from databases import make_database  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import update  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from shujiao.catalog import service as catalog  # noqa: E402
from shujiao.catalog.schemas import ResourceCreate  # noqa: E402
from shujiao.catalog.storage import LocalFileStorage  # noqa: E402
from shujiao.commands import ANONYMOUS, SYSTEM, Actor  # noqa: E402
from shujiao.config import CryptoSettings, RegistrySettings, Settings  # noqa: E402
from shujiao.crypto import service as keys  # noqa: E402
from shujiao.crypto.signing import generate_signer  # noqa: E402
from shujiao.crypto.suites import SUITES  # noqa: E402
from shujiao.db import make_engine, make_session_factory, unit_of_work, utcnow  # noqa: E402
from shujiao.members import service as members  # noqa: E402
from shujiao.members.schemas import MemberApply, UserCreate  # noqa: E402
from shujiao.registry import service as registry  # noqa: E402
from shujiao.registry import statement  # noqa: E402
from shujiao.registry.models import Application  # noqa: E402
from shujiao.registry.schemas import ApplicationCreate, ApplicationDecision  # noqa: E402
from tests.factories import actor_of, random_credit_code  # noqa: E402

SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"
APPROVE = ApplicationDecision(decision="approve")
TARGET = 0.5
MEMBERS = 4


# --- databases and the world -------------------------------------------------------------------

@dataclass
class World:
    operator: Actor
    providers: list[tuple[Actor, int]]  # (actor, dataset id)


def build_world(factory: sessionmaker[Session], settings: Settings, storage: LocalFileStorage) -> World:
    with unit_of_work(factory) as s:
        keys.init_keys(s, SYSTEM, settings=settings)
        members.create_operator(s, SYSTEM, username="bench_operator", password="operator-pass-123")
    with unit_of_work(factory) as s:
        operator = actor_of(s, "bench_operator")
    providers = []
    for n in range(MEMBERS):
        username = f"bench_provider{n}"
        with unit_of_work(factory) as s:
            m = members.apply(s, ANONYMOUS, application=MemberApply(
                name=f"压测数据公司{n}", credit_code=random_credit_code(), kind="provider",
                admin=UserCreate(username=username, password=f"provider-pass-{n:04d}")))
            members.approve(s, operator, member_id=m.id)
        with unit_of_work(factory) as s:
            actor = actor_of(s, username)
        content = ("企业名称,行业,信用评分\n" + "".join(
            f"贵州数智科技有限公司{n}-{i},软件,{600 + i % 300}\n" for i in range(50))).encode()
        with unit_of_work(factory) as s:
            resource = catalog.create_resource(s, actor, data=ResourceCreate(
                name=f"企业信用数据{n}", description="压测", domain="信用", grade="general", sensitivity=2))
            dataset = catalog.add_dataset(s, actor, settings=settings, storage=storage, resource_id=resource.id,
                                          filename="credit.csv", stream=io.BytesIO(content), max_bytes=10**7)
            providers.append((actor, dataset.id))
    return World(operator, providers)


def submit_applications(factory: sessionmaker[Session], settings: Settings, world: World, count: int) -> list[int]:
    """``count`` applications in publicity whose comment period is over (untimed)."""
    ids: list[int] = []
    while len(ids) < count:
        with unit_of_work(factory) as s:
            for _ in range(min(200, count - len(ids))):
                actor, dataset_id = world.providers[len(ids) % len(world.providers)]
                application = registry.create_application(s, actor, settings=settings, data=ApplicationCreate(
                    subject_type="dataset", subject_id=dataset_id, title=f"企业信用评分数据 第{len(ids)}号",
                    description="贵州企业公共信用综合评分，按月更新。" * 4, rights=["holding"],
                    source="self_collected"))
                registry.submit_application(s, actor, settings=settings, application_id=application.id)
                ids.append(application.id)
    with unit_of_work(factory) as s:  # publicity_days=0 already; make sure the clock has moved past it
        s.execute(update(Application).where(Application.id.in_(ids)).values(publicity_ends_at=utcnow()))
    return ids


# --- the measurements ------------------------------------------------------------------------

def issue_one_per_transaction(factory: sessionmaker[Session], settings: Settings, operator: Actor,
                              ids: list[int]) -> float:
    started = time.perf_counter()
    for application_id in ids:
        with unit_of_work(factory) as s:
            registry.decide_application(s, operator, settings=settings, application_id=application_id,
                                        decision=APPROVE)
    return len(ids) / (time.perf_counter() - started)


def issue_batched(factory: sessionmaker[Session], settings: Settings, operator: Actor, ids: list[int],
                  batch: int) -> float:
    many = getattr(registry, "decide_applications", None)
    started = time.perf_counter()
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        with unit_of_work(factory) as s:
            if many is not None:
                many(s, operator, settings=settings, application_ids=chunk, decision=APPROVE)
            else:  # before decide_applications existed: the same approvals, one transaction
                for application_id in chunk:
                    registry.decide_application(s, operator, settings=settings, application_id=application_id,
                                                decision=APPROVE)
    return len(ids) / (time.perf_counter() - started)


def build_bundles(factory: sessionmaker[Session], settings: Settings, limit: int) -> tuple[list[dict], dict]:
    """The bundles of up to ``limit`` distinct certificates, spread over all that were issued."""
    with unit_of_work(factory) as s:
        numbers = list(s.scalars(sa.text("SELECT number FROM registry_certificate ORDER BY id")).all())
    if len(numbers) > limit:
        numbers = [numbers[i * len(numbers) // limit] for i in range(limit)]
    bundles = []
    with unit_of_work(factory) as s:
        for number in numbers:
            bundles.append(registry.bundle(s, settings=settings, number=number))
    keys_document = bundles[0]["keys"]  # what GET /api/v1/keys returns, saved once by the verifier
    return bundles, keys_document


def clear_verifier_caches() -> None:
    """Each timed pass starts cold (whatever caches the verifying code keeps)."""
    clear = getattr(statement, "clear_caches", None)
    if clear is not None:
        clear()


def verify_all(bundles: list[dict], keys_document: dict) -> float:
    clear_verifier_caches()
    verify = statement.verify_bundle
    started = time.perf_counter()
    for b in bundles:
        if not verify(b, keys_document).ok:
            raise AssertionError(f"bundle {b['number']} does not verify")
    return len(bundles) / (time.perf_counter() - started)


def verify_each_cold(bundles: list[dict], keys_document: dict) -> float:
    """The worst case: every bundle as if it were the first one seen (its own checkpoint, keys
    parsed anew): caches are cleared before each, untimed."""
    verify = statement.verify_bundle
    seconds = 0.0
    for b in bundles:
        clear_verifier_caches()
        started = time.perf_counter()
        if not verify(b, keys_document).ok:
            raise AssertionError(f"bundle {b['number']} does not verify")
        seconds += time.perf_counter() - started
    return len(bundles) / seconds


def check_tampering_fails(bundles: list[dict], keys_document: dict) -> None:
    """A sanity check of the measured path: one changed byte anywhere that matters is caught."""
    import base64
    import copy

    b = bundles[-1]
    statement.verify_bundle(b, keys_document)  # warm every cache first
    bad_statement = copy.deepcopy(b)
    bad_statement["statement"] = b["statement"].replace('"status":"valid"', '"status":"revoked"')
    signature = bytearray(base64.b64decode(b["signature"]))
    signature[-1] ^= 1
    bad_signature = dict(b, signature=base64.b64encode(bytes(signature)).decode())
    bad_proof = copy.deepcopy(b)
    bad_proof["log"]["leaf_hash"] = base64.b64encode(bytes(32)).decode()
    bad_note = copy.deepcopy(b)
    bad_note["log"]["checkpoint"] = b["log"]["checkpoint"].replace("\n", "\n ", 1)
    other = copy.deepcopy(bundles[0])
    mixed = dict(b, log=other["log"])
    for name, bad in [("statement", bad_statement), ("signature", bad_signature), ("proof", bad_proof),
                      ("checkpoint", bad_note), ("another record's proof", mixed)]:
        if statement.verify_bundle(bad, keys_document).ok:
            raise AssertionError(f"a tampered {name} verified")


def raw_rates(algorithm: str, n: int) -> tuple[float, float]:
    signer = generate_signer(algorithm)  # type: ignore[arg-type]
    verifier = signer.verifier()
    messages = [os.urandom(1024) for _ in range(n)]
    started = time.perf_counter()
    signatures = [signer.sign(m) for m in messages]
    sign_rate = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for s, m in zip(signatures, messages):
        if not verifier.verify(s, m):
            raise AssertionError("raw verify failed")
    return sign_rate, n / (time.perf_counter() - started)


# --- main --------------------------------------------------------------------------------------

@dataclass
class Sizes:
    repeats: int
    single: int
    batched: int
    batch: int
    raw: int
    cold: int
    verify: int


def run_one(suite: str, backend: str, sizes: Sizes, workdir: Path, rows: list[tuple[str, ...]]) -> None:
    algorithm = SUITES[suite]["signature"]
    url, drop = make_database(backend, suite, workdir, f"registry-{suite}")
    data_dir = workdir / f"data-{suite}-{backend}"
    settings = Settings(environment="production", database_url=url, data_dir=data_dir, secret_key=SECRET,
                        crypto=CryptoSettings(suite=suite), registry=RegistrySettings(publicity_days=0))
    storage = LocalFileStorage(settings.storage_root)
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        world = build_world(factory, settings, storage)
        per_repeat = sizes.single + sizes.batched
        ids = submit_applications(factory, settings, world, per_repeat * sizes.repeats)
        single, batched, raw_sign, raw_verify = [], [], [], []
        for r in range(sizes.repeats):
            mine = ids[r * per_repeat:(r + 1) * per_repeat]
            s_rate, v_rate = raw_rates(algorithm, sizes.raw)
            raw_sign.append(s_rate)
            raw_verify.append(v_rate)
            single.append(issue_one_per_transaction(factory, settings, world.operator, mine[:sizes.single]))
            batched.append(issue_batched(factory, settings, world.operator, mine[sizes.single:], sizes.batch))
        started = time.perf_counter()
        bundles, keys_document = build_bundles(factory, settings, sizes.verify)
        build_seconds = time.perf_counter() - started
        verified = [verify_all(bundles, keys_document) for _ in range(sizes.repeats)]
        cold = [verify_each_cold(bundles[:sizes.cold], keys_document) for _ in range(sizes.repeats)]
        check_tampering_fails(bundles, keys_document)
    finally:
        engine.dispose()
        drop()
    sign, verify = statistics.median(raw_sign), statistics.median(raw_verify)
    many = "decide_applications" if hasattr(registry, "decide_applications") else "decide_application loop"
    for mode, figure, base in [
        ("issue, 1 approval/txn", statistics.median(single), sign),
        (f"issue, {sizes.batch}/txn ({many})", statistics.median(batched), sign),
        (f"verify bundle ({len(bundles)} distinct)", statistics.median(verified), verify),
        (f"verify bundle, caches cleared each ({min(sizes.cold, len(bundles))})", statistics.median(cold), verify),
    ]:
        ratio = figure / base
        rows.append((suite, backend, mode, f"{figure:,.0f}", f"{base:,.0f} {algorithm} "
                     f"{'sign' if mode.startswith('issue') else 'verify'}", f"{ratio:.2f}", f"{TARGET}",
                     "yes" if ratio >= TARGET else "NO"))
    print(f"  done: {suite} on {backend} (bundles built in {build_seconds:.1f} s; runs: single "
          f"{[round(x) for x in single]}, batched {[round(x) for x in batched]}, verify "
          f"{[round(x) for x in verified]}, raw sign {[round(x) for x in raw_sign]}, raw verify "
          f"{[round(x) for x in raw_verify]})", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suites", default="gm,international")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--single", type=int, default=100, help="approvals one per transaction, per repeat")
    parser.add_argument("--batched", type=int, default=400, help="approvals in batches, per repeat")
    parser.add_argument("--batch", type=int, default=200, help="approvals per batch transaction")
    parser.add_argument("--raw", type=int, default=2000, help="raw sign/verify calls per repeat")
    parser.add_argument("--verify", type=int, default=1000, help="distinct bundles verified per pass")
    parser.add_argument("--cold", type=int, default=200, help="bundles verified with caches cleared before each")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes, one repeat")
    args = parser.parse_args()
    sizes = Sizes(args.repeats, args.single, args.batched, args.batch, args.raw, args.cold, args.verify)
    if args.quick:
        sizes = Sizes(1, 20, 60, 30, 300, 30, 80)
    rows: list[tuple[str, ...]] = [("suite", "db", "mode", "figure/s", "baseline/s", "ratio", "target", "met?")]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; medians of {sizes.repeats} run(s)")
    with tempfile.TemporaryDirectory(prefix="shujiao-bench-registry-") as tmp:
        for suite in args.suites.split(","):
            for backend in args.backends.split(","):
                run_one(suite, backend, sizes, Path(tmp), rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
