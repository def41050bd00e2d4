"""Quality evaluation (数据质量评价) as pages: the overview (my datasets, commissions given and, for an
assessor, received), a dataset's rules editor with its reports and commissions, the report page
with every number and how it was computed, and the assessor's sign form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shujiao.catalog import service as catalog
from shujiao.commands import Actor
from shujiao.deps import PathId, SessionDep, SettingsDep, StorageDep
from shujiao.errors import InvalidInput
from shujiao.listing import service as listing
from shujiao.members import service as members
from shujiao.quality import service
from shujiao.quality.models import Evaluation
from shujiao.quality.report import grade_thresholds
from shujiao.quality.schemas import CommissionCreate, SignatureCreate
from shujiao.web.deps import FormUser, PageActor, PageUser
from shujiao.web.forms import validate, whole_number
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def _dataset_url(dataset_id: int) -> str:
    return f"/dashboard/quality/datasets/{dataset_id}"


def _report_url(report_id: int) -> str:
    return f"/quality/reports/{report_id}"


@router.get("/dashboard/quality")
def overview(request: Request, session: SessionDep, actor: PageUser) -> Response:
    resources = catalog.list_resources(session, actor)
    datasets = {r.id: catalog.list_datasets(session, actor, resource_id=r.id) for r in resources}
    commissions = service.own_commissions(session, actor) if actor.member_id is not None else []
    return render(request, "quality/overview.html", resources=resources, datasets=datasets,
                  latest=service.latest_scores(session, dataset_ids=[d.id for ds in datasets.values() for d in ds]),
                  given=[c for c in commissions if c.member_id == actor.member_id],
                  received=[c for c in commissions if c.assessor_member_id == actor.member_id],
                  names=members.member_names(session, {m for c in commissions
                                                       for m in (c.member_id, c.assessor_member_id)}))


def _dataset_context(session: Session, actor: Actor, dataset_id: int) -> dict[str, Any]:
    dataset = service.dataset_for_quality(session, actor, dataset_id=dataset_id)
    current = service.current_rules(session, dataset_id=dataset.id)
    owner = actor.member_id == dataset.member_id
    commissions = service.commissions_of_dataset(session, actor, dataset_id=dataset.id) if owner or actor.is_operator \
        else [c for c in service.own_commissions(session, actor) if c.dataset_id == dataset.id]
    return {
        "dataset": dataset, "owner": owner, "current": current,
        "rules_text": current.rules_text if current else service.draft_rules(dataset),
        "history": service.rules_history(session, actor, dataset_id=dataset.id),
        "reports": service.reports_of_dataset(session, actor, dataset_id=dataset.id),
        # Finished jobs are their reports (listed above); a failure stays shown with its reason.
        "evaluations": [e for e in service.evaluations_of_dataset(session, actor, dataset_id=dataset.id)
                        if e.status != "done"][:10],
        "commissions": commissions,
        "may_run": owner or actor.is_operator or any(c.status == "open" and c.assessor_member_id == actor.member_id
                                                     for c in commissions),
        "names": members.member_names(session, {dataset.member_id} | {c.assessor_member_id for c in commissions}),
        "rules_error": None,
    }


@router.get("/dashboard/quality/datasets/{dataset_id}")
def dataset_page(request: Request, session: SessionDep, actor: PageUser, dataset_id: PathId) -> Response:
    return render(request, "quality/dataset.html", **_dataset_context(session, actor, dataset_id))


@router.post("/dashboard/quality/datasets/{dataset_id}/rules")
def save_rules(request: Request, session: SessionDep, actor: FormUser, dataset_id: PathId,
               rules_text: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    try:
        rule_set = service.save_rules(session, actor, dataset_id=dataset_id, text=rules_text)
    except InvalidInput as error:
        # The editor comes back with the text as typed and the fault beside it, not a lost edit.
        context = _dataset_context(session, actor, dataset_id)
        context.update(rules_text=rules_text, rules_error=error)
        return render(request, "quality/dataset.html", status_code=422, **context)
    return redirect(request, _dataset_url(dataset_id),
                    ok=(f"已保存规则第 {rule_set.version} 版", f"rules saved as version {rule_set.version}"))


@router.post("/dashboard/quality/datasets/{dataset_id}/run")
def run_evaluation(request: Request, session: SessionDep, settings: SettingsDep, storage: StorageDep,
                   actor: FormUser, dataset_id: PathId) -> Response:
    report = service.run_evaluation(session, actor, settings=settings, storage=storage, dataset_id=dataset_id)
    if isinstance(report, Evaluation):
        return redirect(request, _dataset_url(dataset_id) + "#evaluations",
                        ok=(f"数据集较大，评价已排队（任务 #{report.id}），完成后报告将列于此页",
                            f"the dataset is large: evaluation queued (job #{report.id}); its report will be listed here"))
    return redirect(request, _report_url(report.id),
                    ok=(f"评价完成：综合得分 {report.overall_score}，等级 {report.grade}",
                        f"evaluated: overall {report.overall_score}, grade {report.grade}"))


@router.post("/dashboard/quality/datasets/{dataset_id}/commissions")
def commission_assessor(request: Request, session: SessionDep, actor: FormUser, dataset_id: PathId,
                        credit_code: Annotated[str, Form(max_length=40)] = "",
                        note: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    data = validate(CommissionCreate, assessor={"credit_code": credit_code}, note=note)
    service.commission_assessor(session, actor, dataset_id=dataset_id, data=data)
    return redirect(request, _dataset_url(dataset_id),
                    ok=("已委托评估机构，对方可在其评估队列中运行评价并签署",
                        "assessor commissioned; it can now evaluate and sign from its queue"))


@router.post("/dashboard/quality/commissions/{commission_id}/withdraw")
def withdraw_commission(request: Request, session: SessionDep, actor: FormUser, commission_id: PathId) -> Response:
    commission = service.withdraw_commission(session, actor, commission_id=commission_id)
    return redirect(request, _dataset_url(commission.dataset_id), ok=("委托已撤回", "commission withdrawn"))


@router.get("/quality/reports/{report_id}")
def report_page(request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor,
                report_id: PathId) -> Response:
    """Whole for the owner, the commissioned assessor and the operator; a summary for anyone when
    the report is shown on a listed product."""
    report, full = service.report_for_reader(session, actor, report_id=report_id)
    view = service.report_view(session, settings, report, full=full)
    commission = None
    if full and report.commission_id is not None:
        commission = service.get_commission(session, actor, commission_id=report.commission_id)
    products = [p for p in listing.list_own_products(session, actor) if p.dataset_id == report.dataset_id] \
        if actor.member_id == report.member_id else []
    return render(request, "quality/report.html", v=view, report=report, thresholds=grade_thresholds(),
                  may_sign=(commission is not None and commission.status == "open" and view.signature is None
                            and commission.assessor_member_id == actor.member_id),
                  products=products, showing=service.products_showing(session, report_id=report.id) if full else [])


@router.post("/quality/reports/{report_id}/sign")
def sign_report(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, report_id: PathId,
                opinion: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    data = validate(SignatureCreate, opinion=opinion)
    service.sign_report(session, actor, settings=settings, report_id=report_id, data=data)
    return redirect(request, _report_url(report_id), ok=("已签署报告", "report signed"))


@router.post("/quality/reports/{report_id}/attach")
def attach_report(request: Request, session: SessionDep, actor: FormUser, report_id: PathId,
                  product_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    attachment = service.attach_report(session, actor, report_id=report_id,
                                       product_id=whole_number(product_id, zh="数据产品", en="product"))
    return redirect(request, f"/products/{attachment.product_id}",
                    ok=("质量报告已展示在产品页", "the quality report is now shown on the product page"))
