"""The data sandbox (数据沙箱) as pages: the buyer's contract page (the output policy in words, a
SQL form, the contract's jobs and their results, PSI) and the provider's product page (the policy
form and the results awaiting approval). Every read and check is a service's: the sandbox's, and
the usage contract's for who the contract's parties are (404 for anyone else)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shujiao.commands import Actor
from shujiao.deps import PathId, SessionDep, SettingsDep, StorageDep
from shujiao.errors import InvalidInput
from shujiao.sandbox import service
from shujiao.sandbox.policy import USES, DpPolicy, SandboxPolicy
from shujiao.sandbox.schemas import JobCreate
from shujiao.usage import service as usage
from shujiao.web.deps import FormUser, PageUser
from shujiao.web.forms import Location, checked, validate
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=40)]
Many = Annotated[list[str], Form(max_length=500)]
Flag = Annotated[str | None, Form(max_length=8)]  # a checkbox: sent only when ticked

JOB_LABELS = {"sql": ("SQL", "SQL"), "epsilon": ("ε", "ε")}
POLICY_LABELS: dict[str, tuple[str, str]] = {
    "min_group_size": ("最小分组记录数 k", "minimum group size k"),
    "max_result_rows": ("结果行数上限", "maximum result rows"),
    "time_limit_seconds": ("时间限制（秒）", "time limit (seconds)"),
    "engine": ("计算引擎", "engine"),
    "psi_key_column": ("求交键列", "PSI key column"),
    "psi_reveal": ("求交结果", "PSI reveals"),
    "epsilon_per_period": ("每期隐私预算 ε", "ε per period"),
    "period_days": ("预算周期（天）", "budget period (days)"),
    "default_query_epsilon": ("单次查询默认 ε", "default ε per query"),
    "delta": ("δ", "δ"),
    "confidence": ("误差界置信度", "error-bound confidence"),
    "use": ("用途", "use"),
    "lower": ("下界", "lower bound"),
    "upper": ("上界", "upper bound"),
}


# A PSI run is queued, running, failed or done (its size known).
PSI_LABELS = {**service.STATUS_LABELS, "done": ("已完成", "done")}


def _contract_url(order_id: int) -> str:
    return f"/contracts/{order_id}/sandbox"


def _product_url(product_id: int) -> str:
    return f"/products/{product_id}/sandbox"


def _problems(error: InvalidInput) -> list[dict[str, str]]:
    return error.details.get("fields") or [{"field": "", "zh": error.zh, "en": error.en}]


# --- the buyer's contract page ------------------------------------------------------------------

def _contract_page(request: Request, session: Session, actor: Actor, order_id: int, *, typed_sql: str = "",
                   typed_epsilon: str = "", refused: Any = None, errors: list[dict[str, str]] | None = None,
                   status_code: int = 200) -> Response:
    contract = usage.get_contract(session, actor, order_id=order_id)  # 404 for anyone but its parties
    root = contract.contract
    policy = service.policy_of(session, product_id=root.product_id)
    is_buyer = actor.member_id == root.buyer_member_id
    may_compute = is_buyer and contract.status == "active" and "sandbox" in contract.offer.terms.delivery_modes
    jobs = service.list_jobs(session, actor, order_id=root.order_id, as_provider=None)
    return render(request, "sandbox/contract.html", status_code=status_code, contract=contract, policy=policy,
                  description=service.describe_zh(policy) if policy else [], uses=USES,
                  budget=service.budget_of(session, actor, order_id=root.order_id)
                  if may_compute and policy is not None and policy.dp is not None else None,
                  jobs=jobs, visible={job.id: service.result_visible(actor, job) for job in jobs},
                  labels=service.STATUS_LABELS, psi_labels=PSI_LABELS,
                  psi_runs=service.list_psi_runs(session, actor, order_id=root.order_id),
                  is_buyer=is_buyer, may_compute=may_compute, typed_sql=typed_sql, typed_epsilon=typed_epsilon,
                  refused=refused, errors=errors or [])


@router.get("/contracts/{order_id}/sandbox")
def contract_page(request: Request, session: SessionDep, actor: PageUser, order_id: PathId) -> Response:
    return _contract_page(request, session, actor, order_id)


@router.post("/contracts/{order_id}/sandbox/jobs")
def submit_job(request: Request, session: SessionDep, actor: FormUser, order_id: PathId,
               sql: Annotated[str, Form(max_length=100_000)] = "", epsilon: Short = "") -> Response:
    try:
        data = validate(JobCreate, label_of=lambda loc: JOB_LABELS.get(str(loc[0])) if loc else None,
                        sql=sql, epsilon=epsilon.strip() or None)
    except InvalidInput as error:
        return _contract_page(request, session, actor, order_id, typed_sql=sql, typed_epsilon=epsilon,
                              errors=_problems(error), status_code=422)
    job = service.submit_job(session, actor, order_id=order_id, sql=data.sql, epsilon=data.epsilon)
    if job.status == "refused":
        # Shown like a form error (422, the SQL kept for editing); the refused job is recorded and
        # commits with this response, as over the API.
        return _contract_page(request, session, actor, order_id, typed_sql=sql, typed_epsilon=epsilon,
                              refused=job, status_code=422)
    return redirect(request, _contract_url(order_id) + "#jobs",
                    ok=(f"查询已提交（任务 #{job.id}），运行完成后结果列于下方",
                        f"query submitted (job #{job.id}); its result is listed below once it has run"))


@router.post("/contracts/{order_id}/sandbox/psi")
def submit_psi(request: Request, session: SessionDep, settings: SettingsDep, storage: StorageDep, actor: FormUser,
               order_id: PathId, ids: Annotated[str, Form(max_length=50_000_000)] = "") -> Response:
    lines = [line.strip() for line in ids.splitlines() if line.strip()]
    run = service.submit_psi(session, actor, order_id=order_id, ids=lines, settings=settings, storage=storage)
    return redirect(request, _contract_url(order_id) + "#psi",
                    ok=(f"已提交隐私求交（#{run.id}，{run.buyer_count} 个标识）",
                        f"private set intersection submitted (#{run.id}, {run.buyer_count} IDs)"))


# --- the provider's product page ------------------------------------------------------------------

def _policy_form(policy: SandboxPolicy | None, columns: dict[str, str]) -> dict[str, Any]:
    """The policy form's fields as text, from a saved policy (or the defaults for a new one)."""
    current = policy or SandboxPolicy()
    dp = current.dp or DpPolicy()
    rules = {rule.name: rule for rule in current.columns}
    return {
        "min_group_size": str(current.min_group_size),
        "columns": [{"name": name, "type": kind, "use": rules[name].use if name in rules else "",
                     "lower": "" if name not in rules or rules[name].lower is None else str(rules[name].lower),
                     "upper": "" if name not in rules or rules[name].upper is None else str(rules[name].upper)}
                    for name, kind in columns.items()],
        "allow_min_max": current.allow_min_max, "allow_row_level": current.allow_row_level,
        "dp": current.dp is not None, "epsilon_per_period": str(dp.epsilon_per_period),
        "period_days": str(dp.period_days), "default_query_epsilon": str(dp.default_query_epsilon),
        "confidence": str(dp.confidence), "delta": str(dp.delta), "review": current.review,
        "engine": current.engine, "psi_key_column": current.psi_key_column or "", "psi_reveal": current.psi_reveal,
        "max_result_rows": str(current.max_result_rows), "time_limit_seconds": str(current.time_limit_seconds),
    }


def _whole(text: str) -> int | str:
    """A whole number for the strict int fields; anything else stays text and so a field error."""
    cleaned = text.strip()
    return int(cleaned) if cleaned.lstrip("-").isdigit() and len(cleaned) <= 12 else cleaned


def _policy_input(form: dict[str, Any]) -> dict[str, Any]:
    """The form's text as SandboxPolicy's input; the model checks every value."""
    return {
        "min_group_size": _whole(form["min_group_size"]),
        "columns": [{"name": c["name"], "use": c["use"], "lower": c["lower"].strip() or None,
                     "upper": c["upper"].strip() or None} for c in form["columns"] if c["use"]],
        "allow_min_max": form["allow_min_max"], "allow_row_level": form["allow_row_level"],
        "dp": {"epsilon_per_period": form["epsilon_per_period"].strip(), "period_days": _whole(form["period_days"]),
               "default_query_epsilon": form["default_query_epsilon"].strip(),
               "confidence": form["confidence"].strip(), "delta": form["delta"].strip()} if form["dp"] else None,
        "review": form["review"], "engine": form["engine"], "psi_key_column": form["psi_key_column"] or None,
        "psi_reveal": form["psi_reveal"], "max_result_rows": _whole(form["max_result_rows"]),
        "time_limit_seconds": _whole(form["time_limit_seconds"]),
    }


def _policy_label(form: dict[str, Any]) -> Any:
    open_columns = [c["name"] for c in form["columns"] if c["use"]]

    def label_of(loc: Location) -> tuple[str, str] | None:
        if len(loc) >= 2 and loc[0] == "columns" and isinstance(loc[1], int) and loc[1] < len(open_columns):
            zh, en = POLICY_LABELS.get(str(loc[2]) if len(loc) > 2 else "", ("", ""))
            return f"列 {open_columns[loc[1]]} {zh}".strip(), f"column {open_columns[loc[1]]} {en}".strip()
        return POLICY_LABELS.get(str(loc[-1])) if loc else None

    return label_of


def _product_page(request: Request, session: Session, actor: Actor, product_id: int, *,
                  form: dict[str, Any] | None = None, errors: list[dict[str, str]] | None = None,
                  status_code: int = 200) -> Response:
    view = service.provider_sandbox(session, actor, product_id=product_id)  # 404 for anyone but the provider
    return render(request, "sandbox/product.html", status_code=status_code, view=view,
                  description=service.describe_zh(view.policy) if view.policy else [],
                  form=form or _policy_form(view.policy, view.columns), uses=USES, labels=service.STATUS_LABELS,
                  may_review=actor.member_id == view.product.member_id, errors=errors or [])


@router.get("/products/{product_id}/sandbox")
def product_page(request: Request, session: SessionDep, actor: PageUser, product_id: PathId) -> Response:
    return _product_page(request, session, actor, product_id)


@router.post("/products/{product_id}/sandbox/policy")
def save_policy(request: Request, session: SessionDep, actor: FormUser, product_id: PathId,
                min_group_size: Short = "", column_name: Many = [], column_use: Many = [],  # noqa: B006
                column_lower: Many = [], column_upper: Many = [],  # noqa: B006 (FastAPI copies defaults)
                allow_min_max: Flag = None, allow_row_level: Flag = None, dp: Flag = None,
                epsilon_per_period: Short = "", period_days: Short = "", default_query_epsilon: Short = "",
                confidence: Short = "", delta: Short = "", review: Flag = None, engine: Short = "duckdb",
                psi_key_column: Annotated[str, Form(max_length=200)] = "", psi_reveal: Short = "size",
                max_result_rows: Short = "", time_limit_seconds: Short = "") -> Response:
    # One row of the form per dataset column: name, use ("" = not open), lower, upper, in order.
    padded = [column_lower + [""] * len(column_name), column_upper + [""] * len(column_name)]
    form = {
        "min_group_size": min_group_size,
        "columns": [{"name": name, "use": use, "lower": lower, "upper": upper}
                    for name, use, lower, upper in zip(column_name, column_use, *padded)],
        "allow_min_max": checked(allow_min_max), "allow_row_level": checked(allow_row_level), "dp": checked(dp),
        "epsilon_per_period": epsilon_per_period, "period_days": period_days,
        "default_query_epsilon": default_query_epsilon, "confidence": confidence, "delta": delta,
        "review": checked(review), "engine": engine, "psi_key_column": psi_key_column, "psi_reveal": psi_reveal,
        "max_result_rows": max_result_rows, "time_limit_seconds": time_limit_seconds,
    }
    try:
        policy = validate(SandboxPolicy, label_of=_policy_label(form), **_policy_input(form))
        service.set_policy(session, actor, product_id=product_id, policy=policy)
    except InvalidInput as error:
        # The form comes back as typed with the reason on top; nothing was stored.
        session.rollback()
        types = service.provider_sandbox(session, actor, product_id=product_id).columns
        for column in form["columns"]:
            column["type"] = types.get(column["name"], "")
        return _product_page(request, session, actor, product_id, form=form, errors=_problems(error),
                             status_code=422)
    return redirect(request, _product_url(product_id), ok=("沙箱输出策略已保存", "sandbox output policy saved"))


@router.post("/sandbox/jobs/{job_id}/review")
def review_job(request: Request, session: SessionDep, actor: FormUser, job_id: PathId,
               decision: Short = "", note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    if decision not in ("approve", "refuse"):
        raise InvalidInput("请选择批准或拒绝", "choose approve or refuse", code="invalid_input")
    job = service.review_job(session, actor, job_id=job_id, approve=decision == "approve", note=note)
    done = (f"已批准发布任务 #{job.id} 的结果", f"the result of job #{job.id} is released") if job.status == "released" \
        else (f"已拒绝发布任务 #{job.id} 的结果", f"the result of job #{job.id} was refused")
    return redirect(request, _product_url(job.product_id) + "#review", ok=done)

