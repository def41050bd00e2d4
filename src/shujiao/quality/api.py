"""Quality evaluation (数据质量评价) as JSON under /api/v1/quality."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shujiao.deps import CurrentActor, OptionalActor, PathId, SessionDep, SettingsDep, StorageDep
from shujiao.errors import not_found
from shujiao.listing import service as listing
from shujiao.members import service as members
from shujiao.quality import report as document
from shujiao.quality import service
from shujiao.quality.models import Commission, Evaluation
from shujiao.quality.schemas import (
    AttachRequest, CommissionCreate, CommissionRead, EvaluationRead, LatestScore, ProductQuality, ReportRead, ReportSummary,
    RuleSetRead, RulesState, RulesText, SignatureCreate, SignatureRead,
)

router = APIRouter(prefix="/api/v1/quality", tags=["quality 数据质量评价"])


def _commissions(session: Session, commissions: list[Commission]) -> list[CommissionRead]:
    names = members.member_names(session, {m for c in commissions for m in (c.member_id, c.assessor_member_id)})
    return [CommissionRead.model_validate(c).model_copy(update={
        "provider_name": names.get(c.member_id, ""), "assessor_name": names.get(c.assessor_member_id, "")})
        for c in commissions]


@router.get("/datasets/{dataset_id}/rules", response_model=RulesState)
def get_rules(session: SessionDep, actor: CurrentActor, dataset_id: PathId) -> RulesState:
    """The current rules (YAML), or a first draft suggested from the dataset's columns."""
    dataset = service.dataset_for_quality(session, actor, dataset_id=dataset_id)
    current = service.current_rules(session, dataset_id=dataset.id)
    return RulesState(dataset_id=dataset.id, current=RuleSetRead.model_validate(current) if current else None,
                      draft=current.rules_text if current else service.draft_rules(dataset))


@router.put("/datasets/{dataset_id}/rules", status_code=201, response_model=RuleSetRead)
def save_rules(session: SessionDep, actor: CurrentActor, dataset_id: PathId, data: RulesText) -> object:
    """A new version of the rules; a rule file the engine cannot read is a 422 naming the line."""
    return service.save_rules(session, actor, dataset_id=dataset_id, text=data.text)


@router.get("/datasets/{dataset_id}/rules/history", response_model=list[RuleSetRead])
def rules_history(session: SessionDep, actor: CurrentActor, dataset_id: PathId) -> object:
    return service.rules_history(session, actor, dataset_id=dataset_id)


@router.post("/datasets/{dataset_id}/reports", status_code=201, response_model=ReportRead | EvaluationRead,
             responses={202: {"model": EvaluationRead, "description": "the dataset is large: evaluation queued"}})
def run_evaluation(session: SessionDep, settings: SettingsDep, storage: StorageDep, actor: CurrentActor,
                   dataset_id: PathId, response: Response) -> ReportSummary | EvaluationRead:
    """Profile and score the dataset under its current rules: now (201, the report) for a dataset
    of at most ``quality.inline_max_rows`` rows; else queued for a worker (202, the job — poll
    GET /evaluations/{id} for its report)."""
    outcome = service.run_evaluation(session, actor, settings=settings, storage=storage, dataset_id=dataset_id)
    if isinstance(outcome, Evaluation):
        response.status_code = 202
        return EvaluationRead.of(outcome)
    return service.report_read(session, outcome, full=True)


@router.get("/datasets/{dataset_id}/evaluations", response_model=list[EvaluationRead])
def evaluations_of_dataset(session: SessionDep, actor: CurrentActor, dataset_id: PathId) -> list[EvaluationRead]:
    """The dataset's queued evaluations (评价任务), newest first."""
    return [EvaluationRead.of(job) for job in service.evaluations_of_dataset(session, actor, dataset_id=dataset_id)]


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationRead)
def get_evaluation(session: SessionDep, actor: CurrentActor, evaluation_id: PathId) -> EvaluationRead:
    """A queued evaluation: for its requester, the dataset's owner and the operator."""
    return EvaluationRead.of(service.get_evaluation(session, actor, evaluation_id=evaluation_id))


@router.get("/datasets/{dataset_id}/reports", response_model=list[ReportRead])
def reports_of_dataset(session: SessionDep, actor: CurrentActor, dataset_id: PathId) -> list[ReportSummary]:
    return [service.report_read(session, r, full=True)
            for r in service.reports_of_dataset(session, actor, dataset_id=dataset_id)]


@router.get("/datasets/{dataset_id}/score", response_model=LatestScore)
def latest_score(session: SessionDep, actor: CurrentActor, dataset_id: PathId) -> LatestScore:
    dataset = service.dataset_for_quality(session, actor, dataset_id=dataset_id)
    latest = service.latest_score(session, dataset_id=dataset.id)
    if latest is None:
        raise not_found("质量评价报告", "quality report")
    score, grade, report_id = latest
    return LatestScore(dataset_id=dataset.id, report_id=report_id, overall_score=score, grade=grade)


@router.get("/reports/{report_id}", response_model=ReportRead | ReportSummary)
def get_report(session: SessionDep, actor: OptionalActor, report_id: PathId) -> ReportSummary:
    """Whole for the owner, the commissioned assessor and the operator; the public summary (no
    failed values) for anyone when the report is shown on a listed product; 404 otherwise."""
    report, full = service.report_for_reader(session, actor, report_id=report_id)
    return service.report_read(session, report, full=full)


@router.get("/reports/{report_id}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the report as a PDF"}})
def get_pdf(session: SessionDep, settings: SettingsDep, actor: OptionalActor, report_id: PathId) -> Response:
    report, full = service.report_for_reader(session, actor, report_id=report_id)
    pdf = document.report_pdf(service.report_view(session, settings, report, full=full))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="quality-report-{report.id}.pdf"', "Cache-Control": "no-store"})


@router.post("/reports/{report_id}/signature", status_code=201, response_model=SignatureRead)
def sign_report(session: SessionDep, settings: SettingsDep, actor: CurrentActor, report_id: PathId,
                data: SignatureCreate) -> SignatureRead:
    """The commissioned assessor signs a report it ran (评估机构签署)."""
    signature = service.sign_report(session, actor, settings=settings, report_id=report_id, data=data)
    return service.signature_read(session, signature)


@router.get("/reports/{report_id}/signature/bundle")
def signature_bundle(session: SessionDep, settings: SettingsDep, actor: OptionalActor,
                     report_id: PathId) -> dict[str, Any]:
    """The assessor signature's offline verification bundle (`shujiao quality verify` checks it)."""
    return service.signature_bundle(session, actor, settings=settings, report_id=report_id)


@router.post("/reports/{report_id}/attach", status_code=201, response_model=ProductQuality)
def attach_report(session: SessionDep, actor: CurrentActor, report_id: PathId, data: AttachRequest) -> ProductQuality:
    """Show the report (in summary) on one of my products of the same dataset."""
    attachment = service.attach_report(session, actor, product_id=data.product_id, report_id=report_id)
    report = service.get_report(session, actor, report_id=report_id)
    return ProductQuality(product_id=attachment.product_id, attached_at=attachment.attached_at,
                          report=service.report_read(session, report, full=False))


@router.get("/products/{product_id}", response_model=ProductQuality)
def product_quality(session: SessionDep, actor: OptionalActor, product_id: PathId) -> ProductQuality:
    """The quality report shown on a product (public for a listed product), in summary."""
    product = listing.get_product(session, actor, product_id=product_id)
    shown = service.product_quality(session, product_id=product.id)
    if shown is None:
        raise not_found("产品质量报告", "product quality report")
    attachment, report = shown
    return ProductQuality(product_id=product.id, attached_at=attachment.attached_at,
                          report=service.report_read(session, report, full=False))


@router.post("/datasets/{dataset_id}/commissions", status_code=201, response_model=CommissionRead)
def commission_assessor(session: SessionDep, actor: CurrentActor, dataset_id: PathId,
                        data: CommissionCreate) -> CommissionRead:
    """Commission a third-party assessor member (委托第三方评估机构) to evaluate and sign."""
    commission = service.commission_assessor(session, actor, dataset_id=dataset_id, data=data)
    return _commissions(session, [commission])[0]


@router.get("/commissions/mine", response_model=list[CommissionRead])
def my_commissions(session: SessionDep, actor: CurrentActor) -> list[CommissionRead]:
    """Given by my member (a provider) or received by it (an assessor's queue)."""
    return _commissions(session, list(service.own_commissions(session, actor)))


@router.get("/commissions/{commission_id}", response_model=CommissionRead)
def get_commission(session: SessionDep, actor: CurrentActor, commission_id: PathId) -> CommissionRead:
    return _commissions(session, [service.get_commission(session, actor, commission_id=commission_id)])[0]


@router.post("/commissions/{commission_id}/withdraw", response_model=CommissionRead)
def withdraw_commission(session: SessionDep, actor: CurrentActor, commission_id: PathId) -> CommissionRead:
    return _commissions(session, [service.withdraw_commission(session, actor, commission_id=commission_id)])[0]

