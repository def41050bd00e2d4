"""The sandbox worker (沙箱任务): buyer queries and PSI runs, run by every server process's
background loop and by ``shujiao sandbox work``.

A claimed job runs outside any transaction (a query over 10M rows, a PSI over a million IDs);
only the claim and the outcome are short transactions. Any number of processes may run this at
once on PostgreSQL (a claim skips rows another worker holds)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker

from shujiao.catalog.storage import FileStorage
from shujiao.commands import SYSTEM
from shujiao.config import Settings
from shujiao.consent import core as consent_core
from shujiao.consent import service as consent
from shujiao.db import unit_of_work, utcnow
from shujiao.errors import Conflict, DomainError
from shujiao.sandbox import execution, service
from shujiao.sandbox.engines import EngineFailed, engine_for

logger = logging.getLogger(__name__)


def requeue_stale(factory: sessionmaker[Session], settings: Settings) -> int:
    now = utcnow()
    with unit_of_work(factory) as session:
        stale = service.stale_jobs(session, settings=settings, now=now)
    handled = 0
    for kind, row_id in stale:
        try:
            with unit_of_work(factory) as session:
                service.requeue_stale(session, SYSTEM, settings=settings, kind=kind, row_id=row_id, now=now)
            handled += 1
        except Conflict:  # another process got there first, or it finished meanwhile
            pass
    return handled


ConsentUse = tuple[consent_core.Restriction, consent_core.Screened]


def _outcome(settings: Settings, storage: FileStorage, work: service.JobWork,
             screening: list[ConsentUse]) -> execution.Outcome | EngineFailed:
    """Run the job; the consent screening of its copy, if its data is personal, goes to ``screening``."""
    try:
        prepared = service.ensure_prepared(settings, work)
        if work.consent is not None and prepared.screened is not None:
            screening.append((work.consent, prepared.screened))
            if consent.refusal(work.consent, prepared.screened) is not None:
                return EngineFailed("consent_missing")
        data = prepared.path
        if work.intersection_key is not None:
            assert work.policy.psi_key_column is not None  # a PSI job was checked against it
            data = execution.restrict_to_intersection(
                prepared=prepared.path, key_column=work.policy.psi_key_column,
                intersection=storage.local_path(work.intersection_key),
                out=prepared.path.with_name(f"psi-{work.psi_run_id}-{prepared.path.name}"))
        return execution.run(work.checked, policy=work.policy, data=data, engine=engine_for(work.policy.engine),
                             limits=service.limits_for(settings, work.policy), epsilon=work.epsilon)
    except EngineFailed as failed:
        if failed.reason == "error":
            logger.warning("sandbox job %s failed in the engine: %s", work.job_id, failed.detail)
        return failed
    except (DomainError, duckdb.Error, OSError) as exc:  # the dataset unreadable, damaged, missing
        logger.warning("sandbox job %s could not prepare its data: %s", work.job_id, exc)
        return EngineFailed("data_unavailable" if isinstance(exc, DomainError) else "error", str(exc))  # type: ignore[arg-type]
    except Exception as exc:  # a fault of ours: the buyer still gets an answer, the log the details
        logger.exception("sandbox job %s failed", work.job_id)
        return EngineFailed("error", repr(exc))


def run_one_job(factory: sessionmaker[Session], settings: Settings, storage: FileStorage) -> int | None:
    """Claim the oldest queued job, run it and store the outcome; its id, or None if none was queued."""
    try:
        with unit_of_work(factory) as session:
            job = service.claim_next_job(session, SYSTEM, now=utcnow())
            job_id, attempt = job.id, job.attempts
    except Conflict:
        return None
    screening: list[ConsentUse] = []
    try:
        with unit_of_work(factory) as session:  # short: the key unwrapped, the first chunk checked
            work = service.job_work(session, settings=settings, storage=storage, job_id=job_id)
        outcome = _outcome(settings, storage, work, screening)
    except DomainError as exc:
        logger.warning("sandbox job %s: %s", job_id, exc.en)
        outcome = EngineFailed("data_unavailable", exc.en)  # type: ignore[arg-type]
    try:
        with unit_of_work(factory) as session:
            service.finish_job(session, SYSTEM, job_id=job_id, attempt=attempt, outcome=outcome, now=utcnow(),
                               consent_use=screening[0] if screening else None)
    except Conflict as exc:  # taken for dead and claimed again meanwhile: the newer attempt answers
        logger.warning("sandbox job %s: %s", job_id, exc.en)
    return job_id


def _provider_keys(work: service.PsiWork) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="shujiao-psi-") as folder:
        plaintext = Path(folder) / f"data.{work.file_format}"
        with plaintext.open("wb") as out:
            for chunk in work.content:
                out.write(chunk)
        reader = "read_csv" if work.file_format == "csv" else "read_parquet"
        column = '"' + work.key_column.replace('"', '""') + '"'
        connection = duckdb.connect()
        consented = ""
        if work.consent is not None:  # persons without live consent take no part in the intersection
            connection.register("consent_allowed", work.consent.allowed_table())
            consented = f" AND {consent_core.match_expression(work.consent.key_column)}"
        try:
            return [row[0] for row in connection.execute(
                f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM {reader}(?) WHERE {column} IS NOT NULL{consented}",
                [str(plaintext)]).fetchall()]
        finally:
            connection.close()


def _psi_outcome(storage: FileStorage, work: service.PsiWork) -> service.PsiOutcome:
    from shujiao.sandbox import psi

    provider = _provider_keys(work)
    buyer = work.buyer_ids_path.read_text().split("\n")
    result = psi.intersect(buyer, provider, reveal_intersection=True)
    assert result.intersection is not None
    key = f"sandbox/psi/intersection-{work.run_id}-{work.attempt}.parquet"
    with storage.writing(key) as out:
        pq.write_table(pa.table({"id": pa.array(result.intersection, pa.string())}), out)
    return service.PsiOutcome(provider_count=len(provider), intersection_size=result.size, intersection_key=key)


def run_one_psi(factory: sessionmaker[Session], settings: Settings, storage: FileStorage) -> int | None:
    try:
        with unit_of_work(factory) as session:
            run = service.claim_next_psi(session, SYSTEM, now=utcnow())
            run_id, attempt = run.id, run.attempts
    except Conflict:
        return None
    outcome: service.PsiOutcome | str
    try:
        with unit_of_work(factory) as session:
            work = service.psi_work(session, settings=settings, storage=storage, run_id=run_id)
        outcome = _psi_outcome(storage, work)
    except DomainError as exc:
        outcome = exc.en
    except Exception as exc:  # noqa: BLE001 — recorded as the run's failure; details in the log
        logger.exception("PSI run %s failed", run_id)
        outcome = f"the intersection failed: {type(exc).__name__}"
    try:
        with unit_of_work(factory) as session:
            service.finish_psi(session, SYSTEM, run_id=run_id, attempt=attempt, outcome=outcome, now=utcnow())
    except Conflict as exc:
        logger.warning("PSI run %s: %s", run_id, exc.en)
    return run_id


def run_pending(factory: sessionmaker[Session], settings: Settings, storage: FileStorage, *,
                limit: int) -> list[int]:
    """Requeue stale work, then run queued PSI runs and jobs until none is left or ``limit`` ran."""
    requeue_stale(factory, settings)
    ran: list[int] = []
    while len(ran) < limit:
        done = run_one_psi(factory, settings, storage)
        if done is None:
            done = run_one_job(factory, settings, storage)
        if done is None:
            break
        ran.append(done)
    return ran
