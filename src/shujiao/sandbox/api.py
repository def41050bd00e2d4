"""The data sandbox over JSON: output policies, jobs, reviews, the ε budget and PSI runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from shujiao.deps import CurrentActor, OptionalActor, PathId, SessionDep, SettingsDep, StorageDep
from shujiao.errors import not_found
from shujiao.sandbox import service
from shujiao.sandbox.policy import SandboxPolicy
from shujiao.sandbox.schemas import (
    BudgetRead, JobCreate, JobRead, PolicyRead, PsiCreate, PsiRead, ReviewCreate,
)

router = APIRouter(prefix="/api/v1", tags=["sandbox 数据沙箱"])


def _policy_read(product_id: int, policy: SandboxPolicy) -> PolicyRead:
    lines = service.describe_zh(policy)
    return PolicyRead(product_id=product_id, policy=policy, description_zh=[zh for zh, _ in lines],
                      description_en=[en for _, en in lines])


@router.put("/products/{product_id}/sandbox-policy", response_model=PolicyRead)
def set_policy(session: SessionDep, actor: CurrentActor, product_id: PathId, body: SandboxPolicy) -> PolicyRead:
    service.set_policy(session, actor, product_id=product_id, policy=body)
    policy = service.policy_of(session, product_id=product_id)
    assert policy is not None
    return _policy_read(product_id, policy)


@router.get("/products/{product_id}/sandbox-policy", response_model=PolicyRead)
def get_policy(session: SessionDep, actor: OptionalActor, product_id: PathId) -> PolicyRead:
    policy = service.get_policy(session, actor, product_id=product_id)
    if policy is None:
        raise not_found("沙箱输出策略", "sandbox policy")
    return _policy_read(product_id, policy)


@router.post("/contracts/{order_id}/sandbox-jobs", response_model=JobRead, status_code=status.HTTP_202_ACCEPTED,
             responses={422: {"description": "the query was refused; the refusal is recorded as a job"}})
def submit_job(session: SessionDep, actor: CurrentActor, order_id: PathId, body: JobCreate) -> Any:
    job = service.submit_job(session, actor, order_id=order_id, sql=body.sql, epsilon=body.epsilon,
                             psi_run_id=body.psi_run_id)
    if job.status == "refused":
        # A response, not an exception: the refused job's row and audit record commit with it.
        refused = service.QueryRefusedError(job.message_zh, job.message_en, rule=job.rule, job_id=job.id)
        return JSONResponse(refused.body(), status_code=refused.status_code)
    return JobRead.of(job, with_result=False)


@router.get("/contracts/{order_id}/sandbox-jobs", response_model=list[JobRead])
def contract_jobs(session: SessionDep, actor: CurrentActor, order_id: PathId) -> list[JobRead]:
    jobs = service.list_jobs(session, actor, order_id=order_id, as_provider=None)
    return [JobRead.of(job, with_result=service.result_visible(actor, job)) for job in jobs]


@router.get("/sandbox-jobs", response_model=list[JobRead])
def my_jobs(session: SessionDep, actor: CurrentActor, as_provider: bool = False,
            job_status: str | None = Query(None, alias="status", pattern="^(" + "|".join(service.JOB_STATUSES) + ")$"),
            ) -> list[JobRead]:
    jobs = service.list_jobs(session, actor, as_provider=as_provider, status=job_status)
    return [JobRead.of(job, with_result=service.result_visible(actor, job)) for job in jobs]


@router.get("/sandbox-jobs/{job_id}", response_model=JobRead)
def get_job(session: SessionDep, actor: CurrentActor, job_id: PathId) -> JobRead:
    job = service.get_job(session, actor, job_id=job_id)
    return JobRead.of(job, with_result=service.result_visible(actor, job))


@router.post("/sandbox-jobs/{job_id}/review", response_model=JobRead)
def review_job(session: SessionDep, actor: CurrentActor, job_id: PathId, body: ReviewCreate) -> JobRead:
    job = service.review_job(session, actor, job_id=job_id, approve=body.approve, note=body.note)
    return JobRead.of(job, with_result=service.result_visible(actor, job))


@router.get("/contracts/{order_id}/sandbox-budget", response_model=BudgetRead)
def budget(session: SessionDep, actor: CurrentActor, order_id: PathId) -> BudgetRead:
    view = service.budget_of(session, actor, order_id=order_id)
    if view is None:
        raise not_found("隐私预算（该产品不是差分隐私模式）", "privacy budget (the product is not in DP mode)")
    return BudgetRead(order_id=view.order_id, period_start=view.period_start, period_end=view.period_end,
                      limit=view.limit, spent=view.spent, remaining=view.remaining)


@router.post("/contracts/{order_id}/psi-runs", response_model=PsiRead, status_code=status.HTTP_202_ACCEPTED)
def submit_psi(session: SessionDep, actor: CurrentActor, settings: SettingsDep, storage: StorageDep,
               order_id: PathId, body: PsiCreate) -> PsiRead:
    run = service.submit_psi(session, actor, order_id=order_id, ids=body.ids, settings=settings, storage=storage)
    return PsiRead.of(run)


def _psi_read(actor: Any, run: Any) -> PsiRead:
    read = PsiRead.of(run)
    if actor.member_id != run.buyer_member_id and not actor.is_operator:
        read.intersection_size = None  # the provider (the server side) learns nothing of the result
    return read


@router.get("/psi-runs/{run_id}", response_model=PsiRead)
def get_psi(session: SessionDep, actor: CurrentActor, run_id: PathId) -> PsiRead:
    return _psi_read(actor, service.get_psi_run(session, actor, run_id=run_id))


@router.get("/psi-runs/{run_id}/intersection")
def psi_intersection(session: SessionDep, actor: CurrentActor, storage: StorageDep, run_id: PathId) -> dict[str, Any]:
    ids = service.psi_intersection(session, actor, run_id=run_id, storage=storage)
    return {"run_id": run_id, "size": len(ids), "ids": ids}
