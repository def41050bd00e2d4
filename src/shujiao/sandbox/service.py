"""Sandbox commands and queries: the provider's output policy, buyer jobs (submitted, checked,
queued, run by a worker, reviewed, released), the ε budget ledger, and PSI runs.

The contract id is the order id. Every submission checks :func:`usage.authorize_use` with
``action="compute"`` (the product must offer the ``sandbox`` delivery mode), so a revoked, refunded
or expired contract is refused and logged like any other use. The worker functions (``claim_*``,
``*_work``, ``finish_*``) are the system's own and own no transaction; see ``jobs.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset
from shujiao.catalog.storage import FileStorage
from shujiao.commands import Actor, authorize, command, query, require_member, require_system, require_user
from shujiao.config import Settings
from shujiao.consent import core as consent_core
from shujiao.consent import service as consent
from shujiao.db import utcnow
from shujiao.errors import Conflict, DomainError, InvalidInput, not_found
from shujiao.listing import service as listing
from shujiao.listing.models import Product
from shujiao.sandbox import checker, execution
from shujiao.sandbox.engines import EngineFailed, Limits
from shujiao.sandbox.models import Budget, BudgetEntry, Job, Policy, PsiRun
from shujiao.sandbox.policy import SandboxPolicy
from shujiao.usage import service as usage

MICRO = Decimal(1_000_000)
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")
JOB_STATUSES = ("queued", "running", "awaiting_approval", "released", "refused", "failed")
STATUS_LABELS = {"queued": ("排队中", "queued"), "running": ("运行中", "running"),
                 "awaiting_approval": ("待提供方审核", "awaiting the provider's approval"),
                 "released": ("已发布", "released"), "refused": ("已拒绝", "refused"), "failed": ("失败", "failed")}
FAILURES = {
    "timeout": ("查询超出时间限制", "the query ran out of time"),
    "memory": ("查询超出内存限制", "the query ran out of memory"),
    "too_many_rows": ("结果行数超出策略上限", "the result has more rows than the policy allows"),
    # Never the engine's own message: it can quote the provider's values (a failed cast names one).
    "error": ("查询执行失败（为保护数据，不显示引擎的错误详情）",
              "the query failed while running (the engine's message is withheld to protect the data)"),
    "interrupted": ("任务多次中断，已终止", "the job was interrupted too often and was stopped"),
    "data_unavailable": ("数据暂不可用，请联系交易中心", "the data is unavailable; contact the exchange"),
    "consent_missing": ("数据中有个人未授权，提供方要求此时拒绝计算（个人数据授权）",
                        "some persons in the data have not consented; the product refuses computation then"),
}
# Refusals decided by the exchange beyond the query check.
EXTRA_RULES = {
    "budget_exhausted": ("本期隐私预算不足，查询被拒绝", "this query would exceed the period's privacy budget"),
    "epsilon_not_allowed": ("差分隐私预算参数无效", "the ε asked for is not valid for this product"),
    "psi_requires_dp": ("在求交结果上聚合须采用差分隐私模式", "aggregating over an intersection needs DP mode"),
    "psi_not_ready": ("求交尚未完成", "the intersection is not ready"),
    "provider_refused": ("提供方未批准发布结果", "the provider did not approve the result"),
}


def _mic(value: Decimal) -> int:
    return int((value * MICRO).to_integral_value(rounding=ROUND_CEILING))


def _eps(micro: int | None) -> Decimal | None:
    return None if micro is None else Decimal(micro) / MICRO


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the output policy ------------------------------------------------------------------------

def _provided_product(session: Session, actor: Actor, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or not (actor.is_operator or actor.is_system or product.member_id == actor.member_id):
        raise not_found("产品", "product")
    return product


def _columns(dataset: Dataset) -> dict[str, str]:
    return {c["name"]: c["type"] for c in json.loads(dataset.columns_json)}


def _validate(policy: SandboxPolicy, dataset: Dataset) -> None:
    types = _columns(dataset)
    by_lower = {name.lower(): name for name in types}
    for rule in policy.columns:
        actual = by_lower.get(rule.name.lower())
        if actual is None:
            raise InvalidInput(f"数据集中没有列 {rule.name}", f"the dataset has no column {rule.name}",
                               code="unknown_column")
        if rule.use == "aggregate" and not types[actual].upper().startswith(NUMERIC_TYPES):
            raise InvalidInput(f"列 {rule.name} 不是数值列，不能聚合", f"column {rule.name} is not numeric",
                               code="not_numeric")
    if policy.psi_key_column and policy.psi_key_column.lower() not in by_lower:
        raise InvalidInput(f"数据集中没有列 {policy.psi_key_column}",
                           f"the dataset has no column {policy.psi_key_column}", code="unknown_column")
    # Identifiers as the dataset spells them, so the prepared copy's columns match.
    for rule in policy.columns:
        rule.name = by_lower[rule.name.lower()]
    if policy.psi_key_column:
        policy.psi_key_column = by_lower[policy.psi_key_column.lower()]


@command("sandbox.policy.set")
def set_policy(session: Session, actor: Actor, *, product_id: int, policy: SandboxPolicy) -> Policy:
    """The provider (or the operator) sets the product's output policy; jobs submitted from now on
    run under it, jobs already queued under the one they were checked against."""
    require_user(actor)
    product = _provided_product(session, actor, product_id)
    authorize(actor.is_operator or product.member_id == actor.member_id,
              "只有数据提供方可设置沙箱策略", "only the provider sets the sandbox policy")
    dataset = catalog.dataset_for_delivery(session, dataset_id=product.dataset_id)
    policy = policy.model_copy(deep=True)
    _validate(policy, dataset)
    row = session.scalar(select(Policy).where(Policy.product_id == product.id))
    if row is None:
        row = Policy(product_id=product.id, member_id=product.member_id, policy_json="")
        session.add(row)
    row.policy_json, row.updated_by_user_id, row.updated_at = policy.model_dump_json(), actor.user_id, utcnow()
    session.flush()
    audit.record(session, subject_type="sandbox_policy", subject_id=product.id,
                 change={"policy": json.loads(row.policy_json)})
    return row


@query
def policy_of(session: Session, *, product_id: int) -> SandboxPolicy | None:
    row = session.scalar(select(Policy).where(Policy.product_id == product_id))
    return None if row is None else SandboxPolicy.model_validate_json(row.policy_json)


@query
def get_policy(session: Session, actor: Actor, *, product_id: int) -> SandboxPolicy | None:
    """The policy as buyers see it before buying: public for a listed product, like the product."""
    product = listing.get_product(session, actor, product_id=product_id)
    return policy_of(session, product_id=product.id)


@dataclass(frozen=True)
class ProviderSandbox:
    """A product's sandbox as its provider's page shows it."""

    product: Product
    columns: dict[str, str]  # the dataset's columns and their types, in file order
    policy: SandboxPolicy | None
    awaiting_review: Sequence[Job]  # oldest first: the order the provider is asked in


@query
def provider_sandbox(session: Session, actor: Actor, *, product_id: int) -> ProviderSandbox:
    """The provider's (or the operator's) view of a product's sandbox; 404 for anyone else."""
    require_user(actor)
    product = _provided_product(session, actor, product_id)
    dataset = catalog.dataset_for_delivery(session, dataset_id=product.dataset_id)
    awaiting = session.scalars(select(Job).where(Job.product_id == product.id, Job.status == "awaiting_approval")
                               .order_by(Job.id).limit(200)).all()
    return ProviderSandbox(product=product, columns=_columns(dataset), policy=policy_of(session, product_id=product.id),
                           awaiting_review=awaiting)


@query
def describe_zh(policy: SandboxPolicy) -> list[tuple[str, str]]:
    """The policy in words for the product page (Chinese, English)."""
    lines = [(f"只返回聚合结果，记录数少于 {policy.min_group_size} 的分组不予输出。",
              f"Only aggregates leave; groups of fewer than {policy.min_group_size} records are withheld.")]
    if policy.group_columns:
        lines.append(("可分组、筛选的列：" + "、".join(policy.group_columns),
                      "Columns to group and filter on: " + ", ".join(policy.group_columns)))
    if policy.aggregate_columns:
        lines.append(("可聚合的列：" + "、".join(policy.aggregate_columns),
                      "Columns to aggregate: " + ", ".join(policy.aggregate_columns)))
    if policy.dp is not None:
        lines.append((f"差分隐私：每个合约每 {policy.dp.period_days} 天隐私预算 ε = {policy.dp.epsilon_per_period}，"
                      f"结果附 {policy.dp.confidence:.0%} 置信度的误差界。",
                      f"Differential privacy: ε = {policy.dp.epsilon_per_period} per contract every "
                      f"{policy.dp.period_days} days; results carry error bounds at {policy.dp.confidence:.0%}."))
    if policy.review:
        lines.append(("每个结果经提供方审核后发布。", "Each result is released after the provider approves it."))
    if policy.psi_key_column:
        lines.append((f"支持按 {policy.psi_key_column} 隐私求交（" +
                      ("返回交集" if policy.psi_reveal == "intersection" else "仅返回交集大小") + "）。",
                      f"Private set intersection on {policy.psi_key_column} (" +
                      ("the intersection" if policy.psi_reveal == "intersection" else "its size only") + ")."))
    return lines


# --- the budget ledger ------------------------------------------------------------------------

def _period(starts_at: dt.datetime, now: dt.datetime, days: int) -> tuple[dt.datetime, dt.datetime]:
    length = dt.timedelta(days=days)
    index = max(0, (now - starts_at) // length)
    start = starts_at + index * length
    return start, start + length


def _budget_row(session: Session, *, order_id: int, start: dt.datetime, end: dt.datetime, limit_micro: int) -> int:
    found = session.scalar(select(Budget.id).where(Budget.order_id == order_id, Budget.period_start == start))
    if found is not None:
        return found
    try:
        with session.begin_nested():  # two first queries of a period at once: one inserts, one finds it
            budget = Budget(order_id=order_id, period_start=start, period_end=end, limit_micro=limit_micro,
                            spent_micro=0)
            session.add(budget)
        return budget.id
    except IntegrityError:
        found = session.scalar(select(Budget.id).where(Budget.order_id == order_id, Budget.period_start == start))
        assert found is not None
        return found


_budget = Budget.__table__
# The check and the spend in one statement: of two concurrent queries that would each fit but not
# both, one gets no row. The limit is the policy's at this moment (a provider may lower it).
_RESERVE = (
    update(_budget)
    .where(_budget.c.id == bindparam("budget_id"),
           _budget.c.spent_micro + bindparam("amount") <= bindparam("new_limit"))
    .values(spent_micro=_budget.c.spent_micro + bindparam("amount"), limit_micro=bindparam("new_limit"))
    .returning(_budget.c.spent_micro)
)
_entry = BudgetEntry.__table__


def _ledger_line(session: Session, *, budget_id: int, job_id: int, amount: int, reason: str) -> None:
    session.execute(insert(_entry), {"budget_id": budget_id, "job_id": job_id, "delta_micro": amount,
                                     "reason": reason, "created_at": utcnow()})


@dataclass(frozen=True)
class BudgetView:
    order_id: int
    period_start: dt.datetime
    period_end: dt.datetime
    limit: Decimal
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.limit - self.spent)


# --- jobs ---------------------------------------------------------------------------------------

class QueryRefusedError(DomainError):
    """422 ``query_refused``: the job was recorded as refused (its row and audit record commit)."""

    status_code = 422
    code = "query_refused"


def _refusal(rule: str, part: str = "") -> tuple[str, str]:
    if rule in checker.RULES:
        refused = checker.QueryRefused(rule, part)
        return refused.zh, refused.en
    zh, en = EXTRA_RULES[rule]
    return (f"{zh}：{part}", f"{en}: {part}") if part else (zh, en)


@command("sandbox.job.submit")
def submit_job(session: Session, actor: Actor, *, order_id: int, sql: str, epsilon: Decimal | None = None,
               psi_run_id: int | None = None) -> Job:
    """The buyer submits a query on its contract. It is checked at once: a refusal is recorded as
    a job in state ``refused`` with the rule it broke (the API answers 422); a query that passes is
    queued, with its ε reserved from the period's budget in DP mode."""
    require_member(actor)
    grant = usage.authorize_use(session, actor, order_id=order_id, action="compute")
    authorize(actor.member_id == grant.buyer_member_id, "只有合约买方可提交沙箱任务",
              "only the contract's buyer submits sandbox jobs")
    policy = policy_of(session, product_id=grant.product_id)
    now = utcnow()
    job = Job(order_id=grant.order_id, buyer_member_id=grant.buyer_member_id,
              provider_member_id=grant.provider_member_id, product_id=grant.product_id, dataset_id=grant.dataset_id,
              submitted_by_user_id=actor.user_id, sql_text=sql[:checker.MAX_SQL_LENGTH + 1],
              query_sha256=_sha256(sql), policy_json=policy.model_dump_json() if policy else "",
              mode="dp" if policy is not None and policy.dp is not None else "exact",
              engine=policy.engine if policy else "duckdb", status="queued", attempts=0, created_at=now)
    rule, part, checked = _decide(session, policy, sql, epsilon, psi_run_id, grant.order_id)
    if psi_run_id is not None and rule is None:
        job.psi_run_id = psi_run_id
    if rule is None and checked is not None and policy is not None and policy.dp is not None:
        job.epsilon_micro = _mic(epsilon if epsilon is not None else policy.dp.default_query_epsilon)
    if rule is None:
        assert checked is not None
        job.checked_json = json.dumps(_checked_dict(checked), ensure_ascii=False, default=str)
    else:
        job.status, job.rule, job.finished_at = "refused", rule, now
        job.message_zh, job.message_en = _refusal(rule, part)
    session.add(job)
    session.flush()
    if job.epsilon_micro is not None and policy is not None and policy.dp is not None:
        start, end = _period(grant.starts_at, now, policy.dp.period_days)
        limit_micro = _mic(policy.dp.epsilon_per_period)
        budget_id = _budget_row(session, order_id=grant.order_id, start=start, end=end, limit_micro=limit_micro)
        taken = session.execute(_RESERVE, {"budget_id": budget_id, "amount": job.epsilon_micro,
                                           "new_limit": limit_micro}).first()
        if taken is None:
            job.status, job.rule, job.finished_at = "refused", "budget_exhausted", now
            job.message_zh, job.message_en = _refusal("budget_exhausted", f"ε = {_eps(job.epsilon_micro)}")
        else:
            _ledger_line(session, budget_id=budget_id, job_id=job.id, amount=job.epsilon_micro, reason="reserve")
        session.flush()
    audit.record(session, subject_type="sandbox_job", subject_id=job.id, change={
        "order_id": job.order_id, "query_sha256": job.query_sha256, "status": job.status,
        "decision": "accepted" if job.status == "queued" else {"refused": job.rule},
        "mode": job.mode, "epsilon": _eps(job.epsilon_micro), "psi_run_id": job.psi_run_id})
    return job


def _decide(session: Session, policy: SandboxPolicy | None, sql: str, epsilon: Decimal | None,
            psi_run_id: int | None, order_id: int) -> tuple[str | None, str, checker.CheckedQuery | None]:
    if policy is None:
        return "no_policy", "", None
    try:
        checked = checker.check(sql, policy)
    except checker.QueryRefused as refused:
        return refused.rule, refused.part, None
    if policy.dp is None and epsilon is not None:
        return "epsilon_not_allowed", "the product is not in DP mode", None
    if policy.dp is not None and epsilon is not None and not (Decimal(0) < epsilon <= policy.dp.epsilon_per_period):
        return "epsilon_not_allowed", f"0 < ε ≤ {policy.dp.epsilon_per_period}", None
    if psi_run_id is not None:
        if policy.dp is None:
            return "psi_requires_dp", "", None
        run = session.get(PsiRun, psi_run_id)
        if run is None or run.order_id != order_id:
            return "psi_not_ready", f"#{psi_run_id}", None
        if run.status != "done":
            return "psi_not_ready", f"#{psi_run_id} {run.status}", None
    return None, "", checked


def _checked_dict(checked: checker.CheckedQuery) -> dict[str, Any]:
    return {"sql": checked.sql, "kind": checked.kind, "dp": checked.dp, "outputs": list(checked.outputs),
            "group_outputs": list(checked.group_outputs), "order_by": [list(o) for o in checked.order_by],
            "limit": checked.limit, "columns_read": list(checked.columns_read),
            "measures": [{"output": m.output, "kind": m.kind, "count_column": m.count_column,
                          "sum_column": m.sum_column, "lower": None if m.lower is None else str(m.lower),
                          "upper": None if m.upper is None else str(m.upper)} for m in checked.measures]}


def _checked_of(job: Job) -> checker.CheckedQuery:
    from shujiao.sandbox.dp import Measure

    data = json.loads(job.checked_json)
    return checker.CheckedQuery(
        sql=data["sql"], kind=data["kind"], dp=data["dp"], outputs=tuple(data["outputs"]),
        group_outputs=tuple(data["group_outputs"]), order_by=tuple((o[0], bool(o[1])) for o in data["order_by"]),
        limit=data["limit"], columns_read=tuple(data["columns_read"]),
        measures=tuple(Measure(output=m["output"], kind=m["kind"], count_column=m["count_column"],
                               sum_column=m["sum_column"], lower=None if m["lower"] is None else Decimal(m["lower"]),
                               upper=None if m["upper"] is None else Decimal(m["upper"])) for m in data["measures"]))


def _visible_job(session: Session, actor: Actor, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None or not (actor.is_operator or actor.is_system
                           or actor.member_id in (job.buyer_member_id, job.provider_member_id)):
        raise not_found("沙箱任务", "sandbox job")
    return job


@query
def get_job(session: Session, actor: Actor, *, job_id: int) -> Job:
    """A job for its buyer, its provider and the operator; 404 for anyone else. Callers show the
    result to the buyer only once released (:func:`result_visible`)."""
    require_user(actor)
    return _visible_job(session, actor, job_id)


@query
def result_visible(actor: Actor, job: Job) -> bool:
    """The buyer sees a released result; the provider sees one it is asked to approve (its own
    data) and what it released; the operator sees what was released."""
    if job.status == "released":
        return True
    return job.status == "awaiting_approval" and actor.member_id == job.provider_member_id


@query
def list_jobs(session: Session, actor: Actor, *, order_id: int | None = None, as_provider: bool | None = False,
              status: str | None = None, limit: int = 100) -> Sequence[Job]:
    """The actor's member's jobs as buyer (``as_provider``: on its products; None: either), newest
    first; the operator sees all."""
    require_user(actor)
    if order_id is not None:  # 404 for anyone but the contract's parties
        order_id = usage.get_contract(session, actor, order_id=order_id).contract.order_id
    statement = select(Job).order_by(Job.id.desc()).limit(min(max(limit, 1), 500))
    if not actor.is_operator:
        side = {False: Job.buyer_member_id == actor.member_id, True: Job.provider_member_id == actor.member_id,
                None: (Job.buyer_member_id == actor.member_id) | (Job.provider_member_id == actor.member_id)}
        statement = statement.where(side[as_provider])
    if order_id is not None:
        statement = statement.where(Job.order_id == order_id)
    if status is not None:
        statement = statement.where(Job.status == status)
    return session.scalars(statement).all()


@command("sandbox.job.review")
def review_job(session: Session, actor: Actor, *, job_id: int, approve: bool, note: str = "") -> Job:
    """The provider approves (released) or refuses a result awaiting approval. The ε of a refused
    result stays spent: the noise was drawn and the result exists."""
    require_member(actor)
    job = _visible_job(session, actor, job_id)
    authorize(actor.member_id == job.provider_member_id, "只有数据提供方可审核结果",
              "only the provider reviews results")
    locked = session.scalar(select(Job).where(Job.id == job.id).with_for_update())
    assert locked is not None
    if locked.status != "awaiting_approval":
        raise Conflict("该任务不在待审核状态", "the job is not awaiting approval", code="bad_state")
    now = utcnow()
    locked.status = "released" if approve else "refused"
    locked.reviewed_at, locked.reviewed_by_user_id, locked.review_note = now, actor.user_id, note.strip()[:1000]
    if not approve:
        locked.rule = "provider_refused"
        locked.message_zh, locked.message_en = _refusal("provider_refused", note.strip()[:200])
        locked.result_json = ""  # a refused result is not kept
    session.flush()
    audit.record(session, subject_type="sandbox_job", subject_id=job.id, change={
        "status": {"from": "awaiting_approval", "to": locked.status}, "note": locked.review_note,
        "result_sha256": None if not approve else _sha256(locked.result_json)})
    return locked


@query
def budget_of(session: Session, actor: Actor, *, order_id: int) -> BudgetView | None:
    """The current period's ε budget of a contract, for its buyer (None when not in DP mode)."""
    grant = usage.authorize_use(session, actor, order_id=order_id, action="compute")
    policy = policy_of(session, product_id=grant.product_id)
    if policy is None or policy.dp is None:
        return None
    start, end = _period(grant.starts_at, utcnow(), policy.dp.period_days)
    row = session.scalar(select(Budget).where(Budget.order_id == grant.order_id, Budget.period_start == start))
    return BudgetView(order_id=grant.order_id, period_start=start, period_end=end,
                      limit=policy.dp.epsilon_per_period, spent=_eps(row.spent_micro) if row else Decimal(0))


@query
def budget_entries(session: Session, actor: Actor, *, order_id: int) -> Sequence[BudgetEntry]:
    """The budget ledger's lines of a contract, for its parties and the operator."""
    order = usage.get_contract(session, actor, order_id=order_id)
    return session.scalars(select(BudgetEntry).join(Budget, Budget.id == BudgetEntry.budget_id)
                           .where(Budget.order_id == order.contract.order_id).order_by(BudgetEntry.id)).all()


# --- the worker's side (system actor; jobs.py owns the transactions) ---------------------------

def _claim(session: Session, model: type[Job] | type[PsiRun], now: dt.datetime) -> Any:
    candidate = session.scalar(select(model.id).where(model.status == "queued").order_by(model.id).limit(1)
                               .with_for_update(skip_locked=True))
    taken = candidate is not None and session.execute(
        update(model).where(model.id == candidate, model.status == "queued")
        .values(status="running", attempts=model.attempts + 1, started_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not taken:
        raise Conflict("没有排队中的任务", "nothing is queued", code="queue_empty")
    return session.get(model, candidate, populate_existing=True)


@command("sandbox.job.claim")
def claim_next_job(session: Session, actor: Actor, *, now: dt.datetime) -> Job:
    """Take the oldest queued job (``FOR UPDATE SKIP LOCKED``: workers never take the same one)."""
    require_system(actor)
    job: Job = _claim(session, Job, now)
    audit.record(session, subject_type="sandbox_job", subject_id=job.id,
                 change={"status": "running", "attempt": job.attempts})
    return job


@dataclass(frozen=True)
class JobWork:
    job_id: int
    attempt: int
    checked: checker.CheckedQuery
    policy: SandboxPolicy
    epsilon: Decimal | None
    dataset_id: int
    dataset_sha256: str
    file_format: str
    content: Iterator[bytes] | None  # the plaintext, only when the prepared copy must be built
    intersection_key: str | None  # storage key of the PSI intersection the job runs over
    psi_run_id: int | None
    # Personal data (个人数据授权): the live consents when the job's data was read (None: no scenario).
    consent: consent_core.Restriction | None = None


def _cache_dir(settings: Settings) -> Path:
    return settings.data_dir / "sandbox-cache"


@query
def prepared_path(settings: Settings, *, dataset_id: int, dataset_sha256: str, policy: SandboxPolicy,
                  consent_tag: str | None = None) -> Path:
    """Named by the dataset, the policy and, for personal data, the set of live consents: a grant,
    revocation or expiry makes a new copy, and no cached copy outlives a consent."""
    suffix = f"-consent-{consent_tag}" if consent_tag else ""
    return _cache_dir(settings) / f"dataset-{dataset_id}-{dataset_sha256[:24]}-{execution.policy_tag(policy)}{suffix}.parquet"


@query
def job_work(session: Session, *, settings: Settings, storage: FileStorage, job_id: int) -> JobWork:
    """What a worker needs for a claimed job; the plaintext stream only if the copy is not cached."""
    job = session.get(Job, job_id)
    assert job is not None
    policy = SandboxPolicy.model_validate_json(job.policy_json)
    dataset = catalog.dataset_for_delivery(session, dataset_id=job.dataset_id)
    restriction = consent.restriction_for(session, product_id=job.product_id)
    path = prepared_path(settings, dataset_id=dataset.id, dataset_sha256=dataset.sha256, policy=policy,
                         consent_tag=restriction.tag if restriction else None)
    content = None
    if execution.cached_copy(path) is None:
        content = catalog.dataset_content(session, settings=settings, storage=storage, dataset=dataset)
    run = session.get(PsiRun, job.psi_run_id) if job.psi_run_id else None
    return JobWork(job_id=job.id, attempt=job.attempts, checked=_checked_of(job), policy=policy,
                   epsilon=_eps(job.epsilon_micro), dataset_id=dataset.id, dataset_sha256=dataset.sha256,
                   file_format=dataset.file_format, content=content,
                   intersection_key=run.intersection_key if run else None, psi_run_id=run.id if run else None,
                   consent=restriction)


@query
def ensure_prepared(settings: Settings, work: JobWork) -> execution.PreparedCopy:
    """The job's prepared copy (derived data in the sandbox cache, not a record), built if missing."""
    path = prepared_path(settings, dataset_id=work.dataset_id, dataset_sha256=work.dataset_sha256,
                         policy=work.policy, consent_tag=work.consent.tag if work.consent else None)
    cached = execution.cached_copy(path)
    if cached is not None:
        return cached
    if work.content is None:  # cached when the work was read, deleted since: the caller retries
        raise EngineFailed("error", "the prepared copy disappeared")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    plaintext = path.parent / f"plaintext-{work.job_id}-{work.attempt}.{work.file_format}"
    try:
        with plaintext.open("wb") as out:
            for chunk in work.content:
                out.write(chunk)
        return execution.prepare_copy(source=plaintext, file_format=work.file_format, policy=work.policy, out=path,
                                      restriction=work.consent)
    finally:
        plaintext.unlink(missing_ok=True)


@query
def limits_for(settings: Settings, policy: SandboxPolicy) -> Limits:
    return Limits(time_limit_seconds=min(policy.time_limit_seconds, settings.sandbox.time_limit_seconds),
                  memory_limit_mb=settings.sandbox.memory_limit_mb, threads=settings.sandbox.threads,
                  max_result_rows=policy.max_result_rows)


def _running(session: Session, model: type[Job] | type[PsiRun], row_id: int, attempt: int) -> Any:
    row = session.scalar(select(model).where(model.id == row_id).with_for_update())
    if row is None or row.status != "running" or row.attempts != attempt:
        raise Conflict("任务已被重新领取", "the job was claimed again meanwhile", code="superseded")
    return row


def _return_epsilon(session: Session, job: Job) -> None:
    """A job that failed before any noise was drawn gives its ε back (a ledger line and the budget)."""
    if job.epsilon_micro is None:
        return
    entry = session.scalar(select(BudgetEntry).where(BudgetEntry.job_id == job.id, BudgetEntry.reason == "reserve"))
    if entry is None:
        return
    session.execute(update(_budget).where(_budget.c.id == entry.budget_id)
                    .values(spent_micro=_budget.c.spent_micro - entry.delta_micro))
    _ledger_line(session, budget_id=entry.budget_id, job_id=job.id, amount=-entry.delta_micro, reason="return")


@command("sandbox.job.finish")
def finish_job(session: Session, actor: Actor, *, job_id: int, attempt: int,
               outcome: execution.Outcome | EngineFailed, now: dt.datetime,
               consent_use: tuple[consent_core.Restriction, consent_core.Screened] | None = None) -> Job:
    """Store a worker's outcome: a result is released, or awaits the provider when the policy asks
    for review; a failure keeps only its reason (and gives back the ε no noise was drawn for).
    ``consent_use``: the personal data screening of the job's copy, recorded as the uses of each
    consenting person's records (or as a refusal)."""
    require_system(actor)
    job: Job = _running(session, Job, job_id, attempt)
    if consent_use is not None:
        refused = isinstance(outcome, EngineFailed) and outcome.reason == "consent_missing"
        if refused or not isinstance(outcome, EngineFailed):
            consent.record_use(session, restriction=consent_use[0], screened=consent_use[1], order_id=job.order_id,
                               channel="sandbox", reference=f"job:{job.id}", refused=refused)
    policy = SandboxPolicy.model_validate_json(job.policy_json)
    job.finished_at = now
    if isinstance(outcome, EngineFailed):
        job.status, job.rule = "failed", outcome.reason
        job.message_zh, job.message_en = FAILURES.get(outcome.reason, FAILURES["error"])
        _return_epsilon(session, job)
        change: dict[str, Any] = {"status": "failed", "reason": outcome.reason}
    else:
        job.result_json = json.dumps({"columns": outcome.columns, "rows": outcome.rows}, ensure_ascii=False,
                                     default=str)
        job.result_rows = len(outcome.rows)
        if job.mode == "dp":
            assert policy.dp is not None
            job.error_bounds_json = json.dumps({"confidence": str(policy.dp.confidence),
                                                "bounds": outcome.error_bounds,
                                                "dropped_groups": outcome.dropped_groups})
        job.status = "awaiting_approval" if policy.review else "released"
        change = {"status": job.status, "rows": job.result_rows, "result_sha256": _sha256(job.result_json)}
    session.flush()
    audit.record(session, subject_type="sandbox_job", subject_id=job.id, change=change)
    return job


@query
def stale_jobs(session: Session, *, settings: Settings, now: dt.datetime) -> list[tuple[str, int]]:
    cutoff = now - dt.timedelta(minutes=settings.sandbox.stale_after_minutes)
    jobs = session.scalars(select(Job.id).where(Job.status == "running", Job.started_at < cutoff)).all()
    runs = session.scalars(select(PsiRun.id).where(PsiRun.status == "running", PsiRun.started_at < cutoff)).all()
    return [("job", i) for i in jobs] + [("psi", i) for i in runs]


@command("sandbox.requeue")
def requeue_stale(session: Session, actor: Actor, *, settings: Settings, kind: str, row_id: int,
                  now: dt.datetime) -> None:
    """Queue a job or PSI run whose worker died again, or fail it past the attempts allowed."""
    require_system(actor)
    model: type[Job] | type[PsiRun] = Job if kind == "job" else PsiRun
    row = session.scalar(select(model).where(model.id == row_id).with_for_update())
    cutoff = now - dt.timedelta(minutes=settings.sandbox.stale_after_minutes)
    if row is None or row.status != "running" or row.started_at is None or row.started_at >= cutoff:
        raise Conflict("任务并未中断", "the job is not stale", code="not_stale")
    if row.attempts >= settings.sandbox.max_attempts:
        row.status, row.finished_at = "failed", now
        if isinstance(row, Job):
            row.rule = "interrupted"
            row.message_zh, row.message_en = FAILURES["interrupted"]
            _return_epsilon(session, row)
        else:
            row.message_en = FAILURES["interrupted"][1]
    else:
        row.status, row.started_at = "queued", None
    session.flush()
    audit.record(session, subject_type="sandbox_job" if kind == "job" else "sandbox_psi_run", subject_id=row.id,
                 change={"status": row.status, "after_attempt": row.attempts, "reason": "stale"})


# --- private set intersection -------------------------------------------------------------------

MAX_ID_LENGTH = 256


@command("sandbox.psi.submit")
def submit_psi(session: Session, actor: Actor, *, order_id: int, ids: Sequence[str], settings: Settings,
               storage: FileStorage) -> PsiRun:
    """The buyer asks for the intersection of its IDs with the provider's key column. The IDs are
    kept in the exchange's storage for the run (and the record holds only their count and hash)."""
    require_member(actor)
    grant = usage.authorize_use(session, actor, order_id=order_id, action="compute")
    authorize(actor.member_id == grant.buyer_member_id, "只有合约买方可发起求交", "only the contract's buyer runs PSI")
    policy = policy_of(session, product_id=grant.product_id)
    if policy is None or not policy.psi_key_column:
        raise Conflict("该产品不提供隐私求交", "the product offers no private set intersection", code="psi_not_offered")
    if not ids:
        raise InvalidInput("请提供至少一个标识", "give at least one ID", code="no_ids")
    if len(ids) > settings.sandbox.psi_max_ids:
        raise InvalidInput(f"标识过多（上限 {settings.sandbox.psi_max_ids}）",
                           f"too many IDs (at most {settings.sandbox.psi_max_ids})", code="too_many_ids")
    for value in ids:
        if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH or "\n" in value or "\r" in value:
            raise InvalidInput("标识须为 1-256 个字符的单行文本", "each ID must be one line of 1-256 characters",
                               code="bad_id")
    blob = "\n".join(ids).encode()
    key = f"sandbox/psi/ids-{hashlib.sha256(blob).hexdigest()[:16]}-{utcnow().timestamp():.0f}.txt"
    with storage.writing(key) as out:
        out.write(blob)
    run = PsiRun(order_id=grant.order_id, buyer_member_id=grant.buyer_member_id,
                 provider_member_id=grant.provider_member_id, product_id=grant.product_id,
                 dataset_id=grant.dataset_id, submitted_by_user_id=actor.user_id, key_column=policy.psi_key_column,
                 reveal=policy.psi_reveal, status="queued", attempts=0, buyer_ids_key=key, buyer_count=len(ids),
                 ids_sha256=hashlib.sha256(blob).hexdigest(), created_at=utcnow())
    session.add(run)
    session.flush()
    audit.record(session, subject_type="sandbox_psi_run", subject_id=run.id, change={
        "order_id": run.order_id, "status": "queued", "buyer_count": run.buyer_count, "ids_sha256": run.ids_sha256,
        "reveal": run.reveal})
    return run


def _visible_run(session: Session, actor: Actor, run_id: int) -> PsiRun:
    run = session.get(PsiRun, run_id)
    if run is None or not (actor.is_operator or actor.is_system
                           or actor.member_id in (run.buyer_member_id, run.provider_member_id)):
        raise not_found("求交任务", "PSI run")
    return run


@query
def get_psi_run(session: Session, actor: Actor, *, run_id: int) -> PsiRun:
    require_user(actor)
    return _visible_run(session, actor, run_id)


@query
def psi_intersection(session: Session, actor: Actor, *, run_id: int, storage: FileStorage) -> list[str]:
    """The buyer's IDs that are in the intersection, when the policy reveals it (to the buyer only)."""
    require_user(actor)
    run = _visible_run(session, actor, run_id)
    if actor.member_id != run.buyer_member_id:
        raise not_found("求交任务", "PSI run")
    if run.reveal != "intersection":
        raise Conflict("该产品只公开交集大小", "this product reveals only the intersection's size",
                       code="size_only")
    if run.status != "done":
        raise Conflict("求交尚未完成", "the intersection is not ready", code="psi_not_ready")
    import pyarrow.parquet as pq

    return [str(v) for v in pq.read_table(storage.local_path(run.intersection_key)).column("id").to_pylist()]


@command("sandbox.psi.claim")
def claim_next_psi(session: Session, actor: Actor, *, now: dt.datetime) -> PsiRun:
    require_system(actor)
    run: PsiRun = _claim(session, PsiRun, now)
    audit.record(session, subject_type="sandbox_psi_run", subject_id=run.id,
                 change={"status": "running", "attempt": run.attempts})
    return run


@dataclass(frozen=True)
class PsiWork:
    run_id: int
    attempt: int
    key_column: str
    file_format: str
    content: Iterator[bytes]
    buyer_ids_path: Path
    consent: consent_core.Restriction | None = None  # personal data: only consenting persons' rows take part


@query
def psi_work(session: Session, *, settings: Settings, storage: FileStorage, run_id: int) -> PsiWork:
    run = session.get(PsiRun, run_id)
    assert run is not None
    dataset = catalog.dataset_for_delivery(session, dataset_id=run.dataset_id)
    return PsiWork(run_id=run.id, attempt=run.attempts, key_column=run.key_column, file_format=dataset.file_format,
                   content=catalog.dataset_content(session, settings=settings, storage=storage, dataset=dataset),
                   buyer_ids_path=storage.local_path(run.buyer_ids_key),
                   consent=consent.restriction_for(session, product_id=run.product_id))


@dataclass(frozen=True)
class PsiOutcome:
    provider_count: int
    intersection_size: int
    intersection_key: str


@command("sandbox.psi.finish")
def finish_psi(session: Session, actor: Actor, *, run_id: int, attempt: int, outcome: PsiOutcome | str,
               now: dt.datetime) -> PsiRun:
    require_system(actor)
    run: PsiRun = _running(session, PsiRun, run_id, attempt)
    run.finished_at = now
    if isinstance(outcome, str):
        run.status, run.message_en = "failed", outcome[:1000]
        change: dict[str, Any] = {"status": "failed"}
    else:
        run.status, run.provider_count = "done", outcome.provider_count
        run.intersection_size, run.intersection_key = outcome.intersection_size, outcome.intersection_key
        change = {"status": "done", "intersection_size": run.intersection_size, "provider_count": run.provider_count}
    session.flush()
    audit.record(session, subject_type="sandbox_psi_run", subject_id=run.id, change=change)
    return run


@query
def list_psi_runs(session: Session, actor: Actor, *, order_id: int | None = None) -> Sequence[PsiRun]:
    require_user(actor)
    statement = select(PsiRun).order_by(PsiRun.id.desc()).limit(200)
    if not actor.is_operator:
        statement = statement.where((PsiRun.buyer_member_id == actor.member_id)
                                    | (PsiRun.provider_member_id == actor.member_id))
    if order_id is not None:
        statement = statement.where(PsiRun.order_id == order_id)
    return session.scalars(statement).all()


__all__ = ["JOB_STATUSES", "BudgetView", "JobWork", "ProviderSandbox", "PsiOutcome", "PsiWork", "QueryRefusedError",
           "ValidationError"]
