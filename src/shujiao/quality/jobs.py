"""The evaluation worker (评价任务): jobs that own their transactions, run by every server
process's background loop and by ``shujiao quality work``.

A claimed job is profiled outside any transaction (a 10M-row profile takes minutes); only the
claim and the outcome are short transactions. Any number of processes may run this at once on
PostgreSQL (the claim skips rows another worker holds)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from shujiao.catalog.storage import FileStorage
from shujiao.commands import SYSTEM
from shujiao.config import Settings
from shujiao.db import unit_of_work, utcnow
from shujiao.errors import Conflict, DomainError
from shujiao.quality import service
from shujiao.quality.profile import Profile

logger = logging.getLogger(__name__)

# (job id, profile stage, done, total) — the engine's stages, for a progress display.
Progress = Callable[[int, str, int, int], None]


def requeue_stale(factory: sessionmaker[Session], settings: Settings) -> int:
    """Queue again (or fail, past the attempts allowed) every job whose worker died."""
    now = utcnow()
    with unit_of_work(factory) as session:
        stale = service.stale_evaluations(session, settings=settings, now=now)
    handled = 0
    for evaluation_id in stale:
        try:
            with unit_of_work(factory) as session:
                service.requeue_stale_evaluation(session, SYSTEM, settings=settings, evaluation_id=evaluation_id,
                                                 now=now)
            handled += 1
        except Conflict:  # another process requeued it, or it finished meanwhile
            pass
    return handled


def run_one(factory: sessionmaker[Session], settings: Settings, storage: FileStorage, *,
            progress: Progress | None = None) -> int | None:
    """Claim the oldest queued job, profile it and store the outcome; the job's id, or None if
    nothing was queued."""
    started = utcnow()
    try:
        with unit_of_work(factory) as session:
            job = service.claim_next_evaluation(session, SYSTEM, now=started)
            evaluation_id, attempt = job.id, job.attempts
    except Conflict:
        return None
    outcome: Profile | DomainError
    try:
        with unit_of_work(factory) as session:  # a short read: the key unwrapped, the first chunk checked
            chunks, file_format, rules_text = service.evaluation_work(session, settings=settings, storage=storage,
                                                                      evaluation_id=evaluation_id)
        stage = (lambda name, done, total: progress(evaluation_id, name, done, total)) if progress else None
        outcome = service.profile_content(chunks, file_format=file_format, rules_text=rules_text, now=started,
                                          progress=stage)
    except DomainError as exc:  # unreadable or damaged file, rules that no longer fit it...
        outcome = exc
    except Exception:  # a fault of ours: the requester still gets an answer, the log the details
        logger.exception("quality evaluation %s failed", evaluation_id)
        outcome = DomainError("评价过程出错，请联系交易中心", "the evaluation failed; contact the exchange",
                              code="evaluation_error")
    try:
        with unit_of_work(factory) as session:
            service.finish_evaluation(session, SYSTEM, evaluation_id=evaluation_id, attempt=attempt,
                                      outcome=outcome, now=utcnow())
    except Conflict as exc:  # taken for dead and claimed again meanwhile: the newer attempt answers
        logger.warning("quality evaluation %s: %s", evaluation_id, exc.en)
    return evaluation_id


def run_pending(factory: sessionmaker[Session], settings: Settings, storage: FileStorage, *, limit: int,
                progress: Progress | None = None) -> list[int]:
    """Requeue stale jobs, then run queued ones until none is left or ``limit`` have run; the ids
    of the jobs run (each ended done or failed)."""
    requeue_stale(factory, settings)
    ran: list[int] = []
    while len(ran) < limit:
        evaluation_id = run_one(factory, settings, storage, progress=progress)
        if evaluation_id is None:
            break
        ran.append(evaluation_id)
    return ran
