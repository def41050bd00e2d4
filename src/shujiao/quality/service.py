"""Quality evaluation (数据质量评价) as the exchange keeps it: rule sets per dataset, reports, the
assessment commissions (委托评估) of third-party assessors (第三方评估机构), their signatures, and the
reports shown on product pages.

Who may see a report whole: the dataset's owner, an assessor commissioned for that dataset, the
operator. A report attached to a listed product is public in summary (scores, grade, indicators
with their A, B and formula), never its failed-row examples or the profile's top values — those
are cells of the data itself and may hold personal information (个人信息), which buyers have not
paid for and the owner has not disclosed.

A dataset of at most ``quality.inline_max_rows`` rows is profiled inside the request that asks for
it: the plaintext is decrypted to a private temporary folder, profiled by the engine
(``profile.py``, DuckDB, streaming) and deleted before the function returns. A larger one is
queued (评价任务, ``Evaluation``) after the same checks; a worker in any server process or
``shujiao quality work`` claims it, profiles it outside any transaction and stores the report the
same way (``quality/jobs.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shujiao.audit import canonical
from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset
from shujiao.catalog.storage import FileStorage
from shujiao.commands import Actor, authorize, command, query, require_member, require_system, require_user
from shujiao.config import Settings
from shujiao.crypto import service as crypto
from shujiao.crypto.suites import suite_hash
from shujiao.db import utcnow
from shujiao.errors import Conflict, DomainError, InvalidInput, NotFound, not_found
from shujiao.listing import service as listing
from shujiao.listing.models import Product
from shujiao.members import service as members
from shujiao.quality import profile as engine_profile
from shujiao.quality import rules as engine_rules
from shujiao.quality import scoring as engine_scoring
from shujiao.quality.models import Attachment, Commission, Evaluation, Report, RuleSet, Signature
from shujiao.quality.report import ReportView
from shujiao.quality.schemas import CommissionCreate, ReportRead, ReportSummary, SignatureCreate, SignatureRead
from shujiao.quality.signature import SIGNATURE_TYPE
from shujiao.registry.statement import statement_bytes
from shujiao.tlog import offline as tlog_offline
from shujiao.tlog import service as tlog

REPORT_HASH_TYPE = "shujiao.quality-report/v1"


def _not_found_report() -> NotFound:
    return not_found("质量评价报告", "quality report")


def _not_found_dataset() -> NotFound:
    return not_found("数据集", "dataset")


# --- who may do what with a dataset -----------------------------------------------------------

def _open_commission(session: Session, actor: Actor, dataset_id: int) -> Commission | None:
    """The actor's open commission (委托) for this dataset, if the actor is an assessor member."""
    if actor.member_id is None or actor.member_kind != "assessor":
        return None
    return session.scalar(select(Commission).where(
        Commission.dataset_id == dataset_id, Commission.assessor_member_id == actor.member_id,
        Commission.status == "open").order_by(Commission.id.desc()).limit(1))


def _is_commissioned(session: Session, actor: Actor, dataset_id: int) -> bool:
    """An assessor commissioned for the dataset (open or signed) may read its reports."""
    if actor.member_id is None or actor.member_kind != "assessor":
        return False
    return session.scalar(select(Commission.id).where(
        Commission.dataset_id == dataset_id, Commission.assessor_member_id == actor.member_id,
        Commission.status.in_(("open", "signed"))).limit(1)) is not None


def _evaluable_dataset(session: Session, actor: Actor, dataset_id: int) -> tuple[Dataset, Commission | None]:
    """The dataset if the actor may profile it: its owner, the operator, or an assessor with an
    open commission for it (who then profiles it under that commission). 404 for anyone else."""
    require_user(actor)
    commission = _open_commission(session, actor, dataset_id)
    if commission is not None:
        # Read directly: the catalog's get_dataset is for owners, and the assessor is not one.
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            raise _not_found_dataset()
        return dataset, commission
    return catalog.get_dataset(session, actor, dataset_id=dataset_id), None


@query
def dataset_for_quality(session: Session, actor: Actor, *, dataset_id: int) -> Dataset:
    """A dataset's description (never its content) for its owner, the operator and an assessor
    commissioned for it; 404 for anyone else."""
    if _is_commissioned(session, actor, dataset_id):
        dataset = session.get(Dataset, dataset_id)
        if dataset is not None:
            return dataset
    return catalog.get_dataset(session, actor, dataset_id=dataset_id)


# --- rules ------------------------------------------------------------------------------------

@query
def current_rules(session: Session, *, dataset_id: int) -> RuleSet | None:
    """The newest rule set version of a dataset (callers have already checked the actor)."""
    return session.scalar(select(RuleSet).where(RuleSet.dataset_id == dataset_id)
                          .order_by(RuleSet.version.desc()).limit(1))


@query
def rules_history(session: Session, actor: Actor, *, dataset_id: int) -> Sequence[RuleSet]:
    dataset = dataset_for_quality(session, actor, dataset_id=dataset_id)
    return session.scalars(select(RuleSet).where(RuleSet.dataset_id == dataset.id)
                           .order_by(RuleSet.version.desc())).all()


@query
def draft_rules(dataset: Dataset) -> str:
    """A first draft of rules from the dataset's columns (e.g. 身份证号 → id_card), as YAML."""
    columns = json.loads(dataset.columns_json)
    return engine_rules.dump_rules(engine_rules.suggest_rules(columns))


@command("quality.rules.save")
def save_rules(session: Session, actor: Actor, *, dataset_id: int, text: str) -> RuleSet:
    """A new version of the dataset's rules; refused (InvalidInput ``bad_rules``, naming the line
    at fault) unless the engine parses them. Only the dataset's owner edits its rules."""
    require_member(actor)
    dataset = catalog.get_dataset(session, actor, dataset_id=dataset_id)
    parsed = engine_rules.parse_rules(text)
    known = {column["name"] for column in json.loads(dataset.columns_json)}
    unknown = [name for name in parsed.columns() if name not in known]
    if unknown:
        raise InvalidInput(f"规则引用了数据集中没有的字段：{'、'.join(unknown)}",
                           f"the rules name columns the dataset does not have: {', '.join(unknown)}",
                           code="bad_rules", columns=unknown)
    newest = current_rules(session, dataset_id=dataset.id)
    if newest is not None and newest.rules_text == text:
        raise InvalidInput("规则没有变化", "the rules are unchanged", code="no_change")
    rule_set = RuleSet(dataset_id=dataset.id, version=(newest.version + 1) if newest else 1, rules_text=text,
                       edited_by_user_id=actor.user_id, edited_by=actor.username, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(rule_set)
    except IntegrityError:
        # Two saves at once both took version n + 1; the unique (dataset, version) lets one win.
        raise Conflict("规则刚被他人修改，请刷新后再保存", "the rules were just changed by someone else; reload and save again",
                       code="concurrent_edit") from None
    audit.record(session, subject_type="dataset", subject_id=dataset.id, change={
        "quality_rules": {"version": rule_set.version, "text": text}})
    return rule_set


# --- running an evaluation --------------------------------------------------------------------

def _checked_request(session: Session, actor: Actor, dataset_id: int) -> tuple[Dataset, Commission | None, RuleSet]:
    """Who may evaluate the dataset now, and under which rules: the checks of an evaluation run
    inside the request and of one queued for a worker alike."""
    dataset, commission = _evaluable_dataset(session, actor, dataset_id)
    authorize(actor.is_operator or (actor.member_status == "approved"
                                    and (actor.member_id == dataset.member_id or commission is not None)),
              "会员尚未通过准入审核", "the member has not been approved yet")
    rule_set = current_rules(session, dataset_id=dataset.id)
    if rule_set is None:
        raise Conflict("请先保存该数据集的质量规则", "save the dataset's quality rules first", code="rules_required")
    return dataset, commission, rule_set


@query
def sealed_content(session: Session, *, settings: Settings, storage: FileStorage,
                   dataset: Dataset) -> Iterator[bytes]:
    """The dataset's plaintext as chunks; once this returns, reading them needs no session (the
    data key is already unwrapped), so a worker can profile outside any transaction."""
    return catalog.dataset_content(session, settings=settings, storage=storage, dataset=dataset)


@query
def profile_content(chunks: Iterable[bytes], *, file_format: str, rules_text: str, now: dt.datetime,
                    progress: Callable[[str, int, int], None] | None = None) -> engine_profile.Profile:
    """Write the plaintext to a private temporary folder, profile it, and delete it."""
    rules = engine_rules.parse_rules(rules_text)
    with tempfile.TemporaryDirectory(prefix="shujiao-quality-") as folder:
        plaintext = Path(folder) / f"data.{file_format}"
        with plaintext.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        return engine_profile.profile_file(plaintext, file_format=file_format,  # type: ignore[arg-type]
                                           rules=rules, now=now, progress=progress)


def _store_report(session: Session, *, dataset: Dataset, rule_set: RuleSet, profile: engine_profile.Profile,
                  commission_id: int | None, run_by_member_id: int | None, run_by_user_id: int | None,
                  run_by: str, now: dt.datetime) -> Report:
    """Score the profile (GB/T 36344-2018) and store the report with its audit record, whether it
    was profiled inside the request or by a worker."""
    weights = engine_rules.parse_rules(rule_set.rules_text).weights
    scored = engine_scoring.score(profile, weights=weights or None).to_dict()
    report = Report(
        dataset_id=dataset.id, member_id=dataset.member_id, dataset_sha256=dataset.sha256, rule_set_id=rule_set.id,
        rule_set_version=rule_set.version, profile_json=canonical.dumps(profile.to_dict()),
        score_json=canonical.dumps(scored), overall_score=Decimal(scored["overall"]), grade=scored["grade"],
        commission_id=commission_id, run_by_member_id=run_by_member_id, run_by_user_id=run_by_user_id,
        run_by=run_by, created_at=now)
    session.add(report)
    session.flush()
    audit.record(session, subject_type="quality_report", subject_id=report.id, change={
        "dataset_id": dataset.id, "dataset_sha256": dataset.sha256, "rule_set_version": rule_set.version,
        "overall": scored["overall"], "grade": scored["grade"], "commission_id": report.commission_id})
    return report


@command("quality.report.run")
def run_evaluation(session: Session, actor: Actor, *, settings: Settings, storage: FileStorage,
                   dataset_id: int) -> Report | Evaluation:
    """Profile the dataset under its current rules and score it (GB/T 36344-2018); the report is
    stored whatever the scores. A dataset of at most ``quality.inline_max_rows`` rows is profiled
    now, in the caller's transaction (returns the report); a larger one takes minutes, past any
    request timeout, so it is queued for a worker instead (returns the job, see ``request_evaluation``)."""
    dataset, commission, rule_set = _checked_request(session, actor, dataset_id)
    if dataset.row_count > settings.quality.inline_max_rows:
        return _queue(session, actor, dataset, commission, rule_set)
    now = utcnow()
    profile = profile_content(sealed_content(session, settings=settings, storage=storage, dataset=dataset),
                              file_format=dataset.file_format, rules_text=rule_set.rules_text, now=now)
    return _store_report(session, dataset=dataset, rule_set=rule_set, profile=profile,
                         commission_id=commission.id if commission else None, run_by_member_id=actor.member_id,
                         run_by_user_id=actor.user_id, run_by=actor.username, now=now)


# --- queued evaluations (评价任务) --------------------------------------------------------------

EVALUATION_ACTIVE = ("queued", "running")


def _not_found_evaluation() -> NotFound:
    return not_found("评价任务", "evaluation job")


@command("quality.evaluation.request")
def request_evaluation(session: Session, actor: Actor, *, dataset_id: int) -> Evaluation:
    """Queue an evaluation of the dataset under its current rules, whatever its size, with the
    checks of ``run_evaluation``; a worker profiles it (``quality/jobs.py``). A second queued or
    running job of the same dataset for the same member is a 409 (``evaluation_pending``)."""
    return _queue(session, actor, *_checked_request(session, actor, dataset_id))


def _queue(session: Session, actor: Actor, dataset: Dataset, commission: Commission | None,
           rule_set: RuleSet) -> Evaluation:
    assert actor.user_id is not None and actor.member_id is not None  # _checked_request authorized a member user
    pending = session.scalar(select(Evaluation.id).where(
        Evaluation.dataset_id == dataset.id, Evaluation.requested_by_member_id == actor.member_id,
        Evaluation.status.in_(EVALUATION_ACTIVE)).limit(1))
    if pending is not None:
        raise Conflict(f"该数据集已有排队中的评价任务（#{pending}）",
                       f"an evaluation of this dataset is already queued (#{pending})",
                       code="evaluation_pending", evaluation_id=pending)
    job = Evaluation(dataset_id=dataset.id, member_id=dataset.member_id, rule_set_id=rule_set.id,
                     requested_by_user_id=actor.user_id, requested_by_member_id=actor.member_id,
                     requested_by=actor.username, commission_id=commission.id if commission else None,
                     status="queued", attempts=0, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        # Two requests raced past the check; the partial unique index let one of them in.
        raise Conflict("该数据集已有排队中的评价任务", "an evaluation of this dataset is already queued",
                       code="evaluation_pending") from None
    audit.record(session, subject_type="quality_evaluation", subject_id=job.id, change={
        "status": "queued", "dataset_id": dataset.id, "rule_set_version": rule_set.version,
        "commission_id": job.commission_id})
    return job


@command("quality.evaluation.claim")
def claim_next_evaluation(session: Session, actor: Actor, *, now: dt.datetime) -> Evaluation:
    """Take the oldest queued job for this worker (status running, one more attempt). Several
    workers on PostgreSQL never take the same job: the row is locked ``FOR UPDATE SKIP LOCKED``
    and the update re-checks its status (SQLite serves one process). ``Conflict``
    (``queue_empty``) when there is nothing to take."""
    require_system(actor)
    candidate = session.scalar(select(Evaluation.id).where(Evaluation.status == "queued")
                               .order_by(Evaluation.id).limit(1).with_for_update(skip_locked=True))
    taken = candidate is not None and session.execute(
        update(Evaluation).where(Evaluation.id == candidate, Evaluation.status == "queued")
        .values(status="running", attempts=Evaluation.attempts + 1, started_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not taken:
        raise Conflict("没有排队中的评价任务", "no evaluation is queued", code="queue_empty")
    job = session.get(Evaluation, candidate, populate_existing=True)
    assert job is not None
    audit.record(session, subject_type="quality_evaluation", subject_id=job.id, change={
        "status": "running", "attempt": job.attempts})
    return job


@query
def evaluation_work(session: Session, *, settings: Settings, storage: FileStorage,
                    evaluation_id: int) -> tuple[Iterator[bytes], str, str]:
    """What a worker profiles for a claimed job: the plaintext chunks, the file format and the
    rules text (callers are the system's own jobs)."""
    job = session.get(Evaluation, evaluation_id)
    assert job is not None
    dataset = session.get(Dataset, job.dataset_id)
    rule_set = session.get(RuleSet, job.rule_set_id)
    assert dataset is not None and rule_set is not None  # foreign keys
    return sealed_content(session, settings=settings, storage=storage, dataset=dataset), dataset.file_format, \
        rule_set.rules_text


def _running_attempt(session: Session, evaluation_id: int, attempt: int) -> Evaluation:
    """The job, locked, if this attempt is still the one running; a worker that was taken for
    dead (its job requeued and claimed again) must not store a second outcome."""
    job = session.scalar(select(Evaluation).where(Evaluation.id == evaluation_id).with_for_update())
    if job is None:
        raise _not_found_evaluation()
    if job.status != "running" or job.attempts != attempt:
        raise Conflict("该评价任务已由其他进程接手", "the evaluation job was taken over by another worker",
                       code="evaluation_superseded")
    return job


def _fail(session: Session, job: Evaluation, error: DomainError, now: dt.datetime) -> None:
    job.status, job.finished_at = "failed", now
    job.error_code, job.error_zh, job.error_en = error.code, error.zh, error.en
    session.flush()
    audit.record(session, subject_type="quality_evaluation", subject_id=job.id, change={
        "status": "failed", "attempt": job.attempts, "error": {"code": error.code, "en": error.en}})


@command("quality.evaluation.finish")
def finish_evaluation(session: Session, actor: Actor, *, evaluation_id: int, attempt: int,
                      outcome: engine_profile.Profile | DomainError, now: dt.datetime) -> Evaluation:
    """Store the worker's outcome: a profile becomes the report, exactly as ``run_evaluation``
    stores one (scored, audited, run by the requester, under the commission if an assessor asked);
    a domain error (an unreadable file, rules that no longer fit it) fails the job with its code
    and message. Refused (``evaluation_superseded``) if the attempt is no longer the running one."""
    require_system(actor)
    job = _running_attempt(session, evaluation_id, attempt)
    if isinstance(outcome, DomainError):
        _fail(session, job, outcome, now)
        return job
    if job.commission_id is not None and session.get(Commission, job.commission_id).status != "open":  # type: ignore[union-attr]
        _fail(session, job, Conflict("委托已办结，评价结果不再保存", "the commission was closed; the result is not kept",
                                     code="commission_closed"), now)
        return job
    dataset = session.get(Dataset, job.dataset_id)
    rule_set = session.get(RuleSet, job.rule_set_id)
    assert dataset is not None and rule_set is not None  # foreign keys
    report = _store_report(session, dataset=dataset, rule_set=rule_set, profile=outcome,
                           commission_id=job.commission_id, run_by_member_id=job.requested_by_member_id,
                           run_by_user_id=job.requested_by_user_id, run_by=job.requested_by, now=now)
    job.status, job.report_id, job.finished_at = "done", report.id, now
    session.flush()
    audit.record(session, subject_type="quality_evaluation", subject_id=job.id, change={
        "status": "done", "attempt": job.attempts, "report_id": report.id})
    return job


@query
def stale_evaluations(session: Session, *, settings: Settings, now: dt.datetime) -> list[int]:
    """Jobs running for longer than ``quality.stale_after_minutes``: their worker died."""
    cutoff = now - dt.timedelta(minutes=settings.quality.stale_after_minutes)
    return list(session.scalars(select(Evaluation.id).where(Evaluation.status == "running",
                                                            Evaluation.started_at < cutoff)
                                .order_by(Evaluation.id)))


@command("quality.evaluation.requeue")
def requeue_stale_evaluation(session: Session, actor: Actor, *, settings: Settings, evaluation_id: int,
                             now: dt.datetime) -> Evaluation:
    """Queue a job whose worker died again, or fail it once it has been started
    ``quality.max_attempts`` times. ``Conflict`` (``not_stale``) if another process got there first
    or the job finished meanwhile."""
    require_system(actor)
    job = session.scalar(select(Evaluation).where(Evaluation.id == evaluation_id).with_for_update())
    cutoff = now - dt.timedelta(minutes=settings.quality.stale_after_minutes)
    if job is None or job.status != "running" or job.started_at is None or job.started_at >= cutoff:
        raise Conflict("评价任务并未中断", "the evaluation job is not stale", code="not_stale")
    if job.attempts >= settings.quality.max_attempts:
        _fail(session, job, Conflict(f"评价进程已中断 {job.attempts} 次，任务终止；请联系交易中心",
                                     f"the evaluation was interrupted {job.attempts} times and was stopped; "
                                     "contact the exchange", code="evaluation_interrupted"), now)
        return job
    job.status, job.started_at = "queued", None
    session.flush()
    audit.record(session, subject_type="quality_evaluation", subject_id=job.id, change={
        "status": "queued", "after_attempt": job.attempts, "reason": "stale"})
    return job


@query
def get_evaluation(session: Session, actor: Actor, *, evaluation_id: int) -> Evaluation:
    """A job for its requester's member, the dataset's owner and the operator; 404 for anyone else."""
    job = session.get(Evaluation, evaluation_id)
    if job is None or actor.kind != "user" or not (
            actor.is_operator or actor.member_id in (job.member_id, job.requested_by_member_id)):
        raise _not_found_evaluation()
    return job


@query
def evaluations_of_dataset(session: Session, actor: Actor, *, dataset_id: int) -> Sequence[Evaluation]:
    """The dataset's jobs, newest first: all of them for its owner and the operator, an assessor's
    own for a commissioned assessor; 404 for anyone who may not see the dataset."""
    dataset = dataset_for_quality(session, actor, dataset_id=dataset_id)
    where = [Evaluation.dataset_id == dataset.id]
    if not (actor.is_operator or actor.member_id == dataset.member_id):
        where.append(Evaluation.requested_by_member_id == actor.member_id)
    return session.scalars(select(Evaluation).where(*where).order_by(Evaluation.id.desc())).all()


# --- reading reports --------------------------------------------------------------------------

def _may_see_whole(session: Session, actor: Actor, report: Report) -> bool:
    if actor.kind != "user":
        return False
    return (actor.is_operator or actor.member_id == report.member_id
            or _is_commissioned(session, actor, report.dataset_id))


@query
def get_report(session: Session, actor: Actor, *, report_id: int) -> Report:
    """A whole report for the dataset's owner, a commissioned assessor or the operator; 404 else."""
    report = session.get(Report, report_id)
    if report is None or not _may_see_whole(session, actor, report):
        raise _not_found_report()
    return report


@query
def report_for_reader(session: Session, actor: Actor, *, report_id: int) -> tuple[Report, bool]:
    """The report and whether the actor sees it whole (True) or only its public summary (False,
    for a report shown on a listed product). 404 for anyone who may see neither."""
    report = session.get(Report, report_id)
    if report is None:
        raise _not_found_report()
    if _may_see_whole(session, actor, report):
        return report, True
    if _shown_on_listed_product(session, report.id):
        return report, False
    raise _not_found_report()


@query
def products_showing(session: Session, *, report_id: int) -> list[int]:
    """The products whose page shows this report now (it is their newest attachment)."""
    candidates = session.scalars(select(Attachment.product_id).where(Attachment.report_id == report_id).distinct())
    return sorted(product_id for product_id in candidates
                  if (current := _current_attachment(session, product_id)) is not None
                  and current.report_id == report_id)


def _shown_on_listed_product(session: Session, report_id: int) -> bool:
    return any(session.scalar(select(Product.status).where(Product.id == product_id)) == "listed"
               for product_id in products_showing(session, report_id=report_id))


@query
def reports_of_dataset(session: Session, actor: Actor, *, dataset_id: int) -> Sequence[Report]:
    dataset = dataset_for_quality(session, actor, dataset_id=dataset_id)
    return session.scalars(select(Report).where(Report.dataset_id == dataset.id)
                           .order_by(Report.id.desc())).all()


@query
def latest_score(session: Session, *, dataset_id: int) -> tuple[Decimal, str, int] | None:
    """The newest report's overall score (0–100, exact), grade and id — for the valuation domain,
    whose cost and market methods adjust by quality. None if the dataset was never evaluated."""
    row = session.execute(select(Report.overall_score, Report.grade, Report.id)
                          .where(Report.dataset_id == dataset_id)
                          .order_by(Report.id.desc()).limit(1)).first()
    if row is None:
        return None
    return Decimal(row.overall_score).quantize(Decimal("0.01")), row.grade, row.id


@query
def latest_scores(session: Session, *, dataset_ids: Sequence[int]) -> dict[int, Report]:
    """The newest report of each of these datasets (for lists; callers checked the actor)."""
    newest: dict[int, Report] = {}
    if not dataset_ids:
        return newest
    for report in session.scalars(select(Report).where(Report.dataset_id.in_(list(dataset_ids)))
                                  .order_by(Report.id)):
        newest[report.dataset_id] = report
    return newest


@query
def rule_set_of(session: Session, report: Report) -> RuleSet:
    rule_set = session.get(RuleSet, report.rule_set_id)
    assert rule_set is not None  # a foreign key
    return rule_set


@query
def public_summary(score: dict[str, Any]) -> dict[str, Any]:
    """What anyone may read of a report's scores: the overall score and grade, every indicator
    with its sub-indicators (A, B, formula, score) and which fields failed most — but none of the
    failed values or rows (they are the data itself and may be personal information)."""
    return {
        "overall": score["overall"], "grade": score["grade"], "indicators": score["indicators"],
        "worst_fields": [{key: value for key, value in field.items() if key != "rules"}
                         | {"rules": [{k: v for k, v in rule.items() if k != "examples"} for rule in field["rules"]]}
                         for field in score.get("worst_fields", [])],
    }


# --- commissions (委托评估) ---------------------------------------------------------------------

def _assessor_member(session: Session, counterparty: Any) -> tuple[int, members.PublicIdentity]:
    member_id, identity = members.approved_counterparty(session, member_id=counterparty.member_id,
                                                        credit_code=counterparty.credit_code)
    if identity.kind != "assessor":
        raise InvalidInput("受托方须为第三方评估机构会员", "the commissioned member must be a third-party assessor",
                           code="not_an_assessor")
    return member_id, identity


def _already_commissioned() -> Conflict:
    return Conflict("已委托该评估机构评估此数据集", "that assessor already has an open commission for this dataset",
                    code="already_commissioned")


@command("quality.commission.create")
def commission_assessor(session: Session, actor: Actor, *, dataset_id: int, data: CommissionCreate) -> Commission:
    """The dataset's owner commissions an assessor (委托第三方评估机构) to evaluate and sign."""
    require_member(actor)
    dataset = catalog.get_dataset(session, actor, dataset_id=dataset_id)
    assessor_id, _ = _assessor_member(session, data.assessor)
    already = session.scalar(select(Commission.id).where(
        Commission.dataset_id == dataset.id, Commission.assessor_member_id == assessor_id,
        Commission.status == "open").limit(1))
    if already is not None:
        raise _already_commissioned()
    commission = Commission(dataset_id=dataset.id, member_id=dataset.member_id, assessor_member_id=assessor_id,
                            note=data.note, status="open", created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(commission)
    except IntegrityError:
        # A concurrent request opened the same commission after the check above (unique partial index).
        raise _already_commissioned() from None
    audit.record(session, subject_type="quality_commission", subject_id=commission.id, change={
        "status": "open", "dataset_id": dataset.id, "dataset_sha256": dataset.sha256,
        "assessor_member_id": assessor_id, "note": data.note})
    return commission


def _commission_for_update(session: Session, commission_id: int) -> Commission:
    commission = session.scalar(select(Commission).where(Commission.id == commission_id).with_for_update())
    if commission is None:
        raise not_found("评估委托", "commission")
    return commission


@command("quality.commission.withdraw")
def withdraw_commission(session: Session, actor: Actor, *, commission_id: int) -> Commission:
    require_member(actor)
    commission = _commission_for_update(session, commission_id)
    if commission.member_id != actor.member_id:
        raise not_found("评估委托", "commission")
    if commission.status != "open":
        raise Conflict("委托已办结", f"the commission is {commission.status}", code="bad_state")
    commission.status, commission.closed_at = "withdrawn", utcnow()
    session.flush()
    audit.record(session, subject_type="quality_commission", subject_id=commission.id,
                 change={"status": {"from": "open", "to": "withdrawn"}})
    return commission


@query
def get_commission(session: Session, actor: Actor, *, commission_id: int) -> Commission:
    """A commission for its provider, its assessor and the operator; 404 for anyone else."""
    commission = session.get(Commission, commission_id)
    if commission is None or not (actor.is_operator or actor.member_id in (commission.member_id,
                                                                         commission.assessor_member_id)):
        raise not_found("评估委托", "commission")
    return commission


@query
def commissions_of_dataset(session: Session, actor: Actor, *, dataset_id: int) -> Sequence[Commission]:
    dataset = catalog.get_dataset(session, actor, dataset_id=dataset_id)
    return session.scalars(select(Commission).where(Commission.dataset_id == dataset.id)
                           .order_by(Commission.id.desc())).all()


@query
def own_commissions(session: Session, actor: Actor) -> Sequence[Commission]:
    """Commissions the actor's member gave (as a provider) or received (as an assessor: its queue)."""
    require_member(actor, approved=False)
    me = actor.member_id
    return session.scalars(select(Commission).where(
        (Commission.member_id == me) | (Commission.assessor_member_id == me)).order_by(Commission.id.desc())).all()


@query
def reports_of_commission(session: Session, actor: Actor, *, commission_id: int) -> Sequence[Report]:
    commission = get_commission(session, actor, commission_id=commission_id)
    return session.scalars(select(Report).where(Report.commission_id == commission.id)
                           .order_by(Report.id.desc())).all()


# --- the assessor's signature -----------------------------------------------------------------

@query
def report_hash(session: Session, settings: Settings, report: Report) -> str:
    """The suite hash (SM3 under ``gm``) of the report's canonical document: what it evaluated
    (the dataset's bytes by SHA-256, the rules' text) and everything it found."""
    hash_ = suite_hash(settings)
    document = {
        "type": REPORT_HASH_TYPE, "report_id": report.id, "dataset_id": report.dataset_id,
        "dataset_sha256": report.dataset_sha256, "rule_set_version": report.rule_set_version,
        "rules": rule_set_of(session, report).rules_text, "profile": json.loads(report.profile_json),
        "score": json.loads(report.score_json), "created_at": report.created_at,
    }
    return f"{hash_.name}:{hash_.digest(statement_bytes(document)).hex()}"


@command("quality.report.sign")
def sign_report(session: Session, actor: Actor, *, settings: Settings, report_id: int,
                data: SignatureCreate) -> Signature:
    """The commissioned assessor signs a report it ran under the commission (评估机构签署意见).

    The statement names the report by its hash, the assessor by name and 统一社会信用代码, and
    carries the opinion; the exchange signs it with its suite key (as registry statements are
    signed, ``registry/statement.py``) on the assessor's instruction, and writes it as an audit
    record, so it becomes a leaf of the transparency log. The commission is then done."""
    require_member(actor)
    report = session.scalar(select(Report).where(Report.id == report_id).with_for_update())
    if report is None or not _may_see_whole(session, actor, report):
        raise _not_found_report()
    commission = _commission_for_update(session, report.commission_id) if report.commission_id else None
    authorize(commission is not None and commission.assessor_member_id == actor.member_id,
              "仅受托评估机构可签署其在委托下运行的报告",
              "only the commissioned assessor may sign, and only a report it ran under the commission")
    assert commission is not None
    if commission.status != "open":
        raise Conflict("委托已办结，不能再签署", f"the commission is {commission.status}", code="bad_state")
    identity = members.public_identity(session, actor.member_id)  # type: ignore[arg-type]
    signer = crypto.active_signers(session, settings)[0]
    now = utcnow()
    digest = report_hash(session, settings, report)
    document = {
        "type": SIGNATURE_TYPE, "exchange": settings.registry.exchange_name, "at": now,
        "report": {"id": report.id, "hash": digest, "dataset_id": report.dataset_id,
                   "dataset_sha256": report.dataset_sha256, "rule_set_version": report.rule_set_version,
                   "overall": f"{Decimal(report.overall_score):.2f}", "grade": report.grade,
                   "created_at": report.created_at},
        "assessor": {"member_id": actor.member_id, "name": identity.name, "credit_code": identity.credit_code},
        "commission_id": commission.id, "opinion": data.opinion, "key_id": signer.key.id,
    }
    body = statement_bytes(document).decode("utf-8")
    signature_bytes = signer.signer.sign(body.encode("utf-8"))
    signature = Signature(report_id=report.id, commission_id=commission.id, assessor_member_id=actor.member_id,
                          report_hash=digest, opinion=data.opinion, body=body, signature=signature_bytes,
                          key_id=signer.key.id, signed_at=now)
    session.add(signature)
    commission.status, commission.closed_at = "signed", now
    session.flush()
    audit.record(session, subject_type="quality_report", subject_id=report.id, change={
        "statement": body, "signature": base64.b64encode(signature_bytes).decode(), "key_id": signer.key.id})
    return signature


@query
def signature_of(session: Session, *, report_id: int) -> Signature | None:
    return session.scalar(select(Signature).where(Signature.report_id == report_id))


@query
def signature_bundle(session: Session, actor: Actor, *, settings: Settings, report_id: int) -> dict[str, Any]:
    """The offline verification bundle (离线核验包) of a report's assessor signature, for whoever may
    read the report (whole or as shown on a product): the signed statement, the exchange's keys and
    the log proof of its record (``quality/signature.py`` checks it, ``shujiao quality verify``)."""
    report, _whole = report_for_reader(session, actor, report_id=report_id)
    signature = signature_of(session, report_id=report.id)
    if signature is None:
        raise not_found("评估机构签署", "signature")
    signature_b64 = base64.b64encode(signature.signature).decode()
    index = next((i for i in reversed(tlog.record_indexes(session, subject_type="quality_report",
                                                           subject_id=str(report.id)))
                  if json.loads(tlog.record_at(session, index=i).change_json).get("signature") == signature_b64),
                 None)
    if index is None:  # the record is written when the signing transaction commits
        raise Conflict("签署记录尚未写入日志", "the signature's record is not in the log yet", code="not_logged")
    return {
        "report_id": str(report.id), "statement": signature.body, "signature": signature_b64,
        "key_id": signature.key_id, "keys": {"suite": settings.crypto.suite, "keys": crypto.public_key_entries(session)},
        "log": tlog.proof_bundle(session, settings=settings, index=index, with_record=True),
    }


@query
def signature_verifies(session: Session, settings: Settings, signature: Signature) -> bool:
    """The exchange's signature over the statement verifies with the named public key, and the
    statement still names the report as it is stored (its hash recomputed now)."""
    key = next((k for k in crypto.public_keys(session) if k.id == signature.key_id), None)
    report = session.get(Report, signature.report_id)
    if key is None or report is None:
        return False
    verifier = tlog_offline.cached_verifier(key.algorithm, key.public_pem or "")
    statement = json.loads(signature.body)
    return (verifier.verify(signature.signature, signature.body.encode("utf-8"))
            and statement["report"]["hash"] == report_hash(session, settings, report))


# --- reports on product pages -----------------------------------------------------------------

def _current_attachment(session: Session, product_id: int) -> Attachment | None:
    return session.scalar(select(Attachment).where(Attachment.product_id == product_id)
                          .order_by(Attachment.id.desc()).limit(1))


@command("quality.report.attach")
def attach_report(session: Session, actor: Actor, *, product_id: int, report_id: int) -> Attachment:
    """Show a report of the product's own dataset on the product page (in summary, see above)."""
    require_member(actor)
    product = listing.get_product(session, actor, product_id=product_id)
    if product.member_id != actor.member_id:
        raise not_found("产品", "product")
    report = get_report(session, actor, report_id=report_id)
    if report.member_id != actor.member_id:
        raise _not_found_report()
    if report.dataset_id != product.dataset_id:
        raise InvalidInput("报告评价的不是该产品的数据集", "the report evaluates another dataset than the product's",
                           code="report_not_of_product")
    attachment = Attachment(product_id=product.id, report_id=report.id, attached_by_user_id=actor.user_id,
                            attached_at=utcnow())
    session.add(attachment)
    session.flush()
    signed = signature_of(session, report_id=report.id)
    audit.record(session, subject_type="product", subject_id=product.id, change={
        "quality_report": {"id": report.id, "overall": f"{Decimal(report.overall_score):.2f}", "grade": report.grade,
                           "signed_by": signed.assessor_member_id if signed else None}})
    return attachment


@query
def product_quality(session: Session, *, product_id: int) -> tuple[Attachment, Report] | None:
    """The report shown on a product page, if any (the product page has already checked that the
    reader may see the product)."""
    attachment = _current_attachment(session, product_id)
    if attachment is None:
        return None
    report = session.get(Report, attachment.report_id)
    assert report is not None
    return attachment, report


# --- views ------------------------------------------------------------------------------------

@query
def signature_read(session: Session, signature: Signature) -> SignatureRead:
    identity = members.public_identity(session, signature.assessor_member_id)
    return SignatureRead(
        assessor_member_id=signature.assessor_member_id, assessor_name=identity.name,
        assessor_credit_code=identity.credit_code, report_hash=signature.report_hash, opinion=signature.opinion,
        statement=signature.body, signature=base64.b64encode(signature.signature).decode(), key_id=signature.key_id,
        signed_at=signature.signed_at)


@query
def report_read(session: Session, report: Report, *, full: bool) -> ReportSummary:
    """The report as the API returns it: whole (``ReportRead``) for those who may see it whole,
    else the public summary."""
    score = json.loads(report.score_json)
    signed = signature_of(session, report_id=report.id)
    common = dict(
        id=report.id, dataset_id=report.dataset_id, dataset_sha256=report.dataset_sha256,
        rule_set_version=report.rule_set_version, overall_score=Decimal(report.overall_score).quantize(Decimal("0.01")),
        grade=report.grade, created_at=report.created_at, run_by=report.run_by,
        signature=signature_read(session, signed) if signed else None)
    if not full:
        return ReportSummary(**common, score=public_summary(score))
    return ReportRead(**common, score=score, member_id=report.member_id, commission_id=report.commission_id,
                      rules_text=rule_set_of(session, report).rules_text, profile=json.loads(report.profile_json))


@query
def report_view(session: Session, settings: Settings, report: Report, *, full: bool) -> ReportView:
    """What the report page and the PDF show (``full`` as ``report_for_reader`` decided)."""
    read = report_read(session, report, full=full)
    dataset = session.get(Dataset, report.dataset_id)
    assert dataset is not None  # a foreign key
    signed = signature_of(session, report_id=report.id)
    signature = None
    if signed is not None and read.signature is not None:
        signature = {**read.signature.model_dump(), "verified": signature_verifies(session, settings, signed)}
    profile = read.profile if isinstance(read, ReportRead) else None
    return ReportView(
        report_id=report.id, full=full, exchange_name=settings.registry.exchange_name, dataset_id=dataset.id,
        dataset_filename=dataset.filename, dataset_sha256=report.dataset_sha256,
        provider_name=members.public_identity(session, report.member_id).name,
        rule_set_version=report.rule_set_version, rules_text=read.rules_text if isinstance(read, ReportRead) else "",
        overall=read.overall_score, grade=report.grade, created_at=report.created_at, run_by=report.run_by,
        rows=int(profile["rows"]) if profile else None, score=read.score, profile=profile, signature=signature)


@query
def product_badge(session: Session, *, product_id: int) -> dict[str, Any] | None:
    """What a product page shows of its attached report: score, grade and who signed it."""
    shown = product_quality(session, product_id=product_id)
    if shown is None:
        return None
    attachment, report = shown
    signed = signature_of(session, report_id=report.id)
    return {
        "report_id": report.id, "overall": f"{Decimal(report.overall_score):.2f}", "grade": report.grade,
        "evaluated_at": report.created_at, "attached_at": attachment.attached_at,
        "signed_by": members.public_identity(session, signed.assessor_member_id).name if signed else None,
        "signed_at": signed.signed_at if signed else None,
    }
