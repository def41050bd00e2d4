"""Registration (数据登记) as pages: the public certificate check (凭证核验) and comment list (登记公示),
the member's applications and certificates, and the operator's review (登记审核)."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shujiao.catalog import service as catalog
from shujiao.commands import Actor
from shujiao.deps import PathId, SessionDep, SettingsDep, StorageDep
from shujiao.errors import InvalidInput
from shujiao.listing import service as listing
from shujiao.members import service as members
from shujiao.registry import service
from shujiao.registry.models import Application
from shujiao.registry.schemas import (
    ApplicationCreate, ApplicationDecision, CertificateChange, ObjectionCreate, ObjectionResolution, PledgeRequest,
    Answer, Revocation, TransferRequest,
)
from shujiao.web.deps import FormActor, FormOperator, FormUser, PageActor, PageOperator, PageUser
from shujiao.web.forms import checked, validate, whole_number, yuan_to_fen
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

# Anything typed into the check form reaches the page; the service refuses what is not a number.
Number = Annotated[str, Path(min_length=1, max_length=64)]


def _application_url(application_id: int) -> str:
    return f"/dashboard/registry/applications/{application_id}"


def _certificate_url(number: str) -> str:
    return f"/dashboard/registry/certificates/{quote(number)}"


def _duplicates(application: Application) -> list[dict[str, object]]:
    return json.loads(application.duplicate_of or "[]")


# --- public: certificate check and the comment list ------------------------------------------

@router.get("/verify")
def verify_form(request: Request, actor: PageActor, number: Annotated[str, Query(max_length=200)] = "") -> Response:
    number = number.strip()
    if number:
        return redirect(request, f"/verify/{quote(number, safe='')}")
    return render(request, "registry/verify_form.html")


@router.get("/verify/{number}")
def verify(request: Request, session: SessionDep, actor: PageActor, number: Number) -> Response:
    certificate = service.get_certificate(session, number=number)
    return render(request, "registry/verify.html", cert=service.certificate_read(session, certificate))


@router.get("/registry/publicity")
def publicity(request: Request, session: SessionDep, actor: PageActor) -> Response:
    applications = service.in_publicity(session)
    return render(request, "registry/publicity.html", applications=applications,
                  names=members.member_names(session, {a.member_id for a in applications}))


@router.post("/registry/applications/{application_id}/objections")
def object_to(
    request: Request, session: SessionDep, actor: FormActor, application_id: PathId,
    objector_name: Annotated[str, Form(max_length=400)] = "", contact: Annotated[str, Form(max_length=400)] = "",
    reason: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    data = validate(ObjectionCreate, objector_name=objector_name, contact=contact, reason=reason)
    service.object_to(session, actor, application_id=application_id, data=data)
    return redirect(request, "/registry/publicity",
                    ok=("异议已提交，交易中心将在审核时处理", "objection filed; the exchange will consider it in its review"))


# --- the member's applications ----------------------------------------------------------------

@router.get("/dashboard/registry")
def my_registry(request: Request, session: SessionDep, actor: PageUser) -> Response:
    if actor.is_operator:
        return redirect(request, "/operator/registry")
    applications = service.own_applications(session, actor)
    certificates = service.own_certificates(session, actor)
    resources = catalog.list_resources(session, actor)
    return render(request, "registry/my_registry.html", applications=applications,
                  certificates=certificates, resources=resources,
                  datasets={r.id: catalog.list_datasets(session, actor, resource_id=r.id) for r in resources},
                  products=listing.list_own_products(session, actor),
                  names=members.member_names(session, {c.holder_member_id for c in certificates}))


@router.post("/dashboard/registry/applications")
def create_application(
    request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
    subject_type: Annotated[str, Form(max_length=16)] = "dataset",
    dataset_id: Annotated[str, Form(max_length=20)] = "", product_id: Annotated[str, Form(max_length=20)] = "",
    rights: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    source: Annotated[str, Form(max_length=32)] = "", source_note: Annotated[str, Form(max_length=10_000)] = "",
    title: Annotated[str, Form(max_length=400)] = "", description: Annotated[str, Form(max_length=40_000)] = "",
) -> Response:
    # The form names the data by one of the member's datasets (or products); the service checks
    # that it is theirs.
    if subject_type == "product":
        subject_id, registered = whole_number(product_id, zh="数据产品", en="product"), None
    else:
        dataset = catalog.get_dataset(session, actor, dataset_id=whole_number(dataset_id, zh="数据集", en="dataset"))
        subject_id = dataset.resource_id if subject_type == "resource" else dataset.id
        registered = dataset.id
    data = validate(ApplicationCreate, subject_type=subject_type, subject_id=subject_id, dataset_id=registered,
                    rights=rights[:3], source=source, source_note=source_note, title=title, description=description)
    application = service.create_application(session, actor, settings=settings, data=data)
    return redirect(request, _application_url(application.id),
                    ok=("已创建登记申请草稿，请上传证明材料后提交公示",
                        "draft application created; upload the supporting documents, then submit it"))


@router.get("/dashboard/registry/applications/{application_id}")
def application_page(request: Request, session: SessionDep, settings: SettingsDep, actor: PageUser,
                     application_id: PathId) -> Response:
    application = service.application_private(session, actor, application_id=application_id)
    return render(request, "registry/application.html", application=application,
                  applicant=members.member_names(session, {application.member_id}).get(application.member_id, ""),
                  documents=service.documents(session, actor, application_id=application.id),
                  objections=service.objections(session, actor, application_id=application.id),
                  certificates=service.certificates_of_application(session, application_id=application.id),
                  duplicates=_duplicates(application), max_document_bytes=settings.registry.max_document_bytes)


@router.post("/dashboard/registry/applications/{application_id}/documents")
def upload_document(request: Request, session: SessionDep, settings: SettingsDep, storage: StorageDep,
                    actor: FormUser, application_id: PathId, file: Annotated[UploadFile, File()]) -> Response:
    document = service.add_document(session, actor, settings=settings, storage=storage, application_id=application_id,
                                    filename=file.filename or "", stream=file.file)
    return redirect(request, _application_url(application_id),
                    ok=(f"已上传材料：{document.filename}", f"document uploaded: {document.filename}"))


@router.post("/dashboard/registry/applications/{application_id}/submit")
def submit_application(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
                       application_id: PathId) -> Response:
    application = service.submit_application(session, actor, settings=settings, application_id=application_id)
    return redirect(request, _application_url(application.id),
                    ok=("已提交，进入公示期", "submitted; the public comment period has started"))


@router.post("/dashboard/registry/applications/{application_id}/withdraw")
def withdraw_application(request: Request, session: SessionDep, actor: FormUser, application_id: PathId) -> Response:
    service.withdraw_application(session, actor, application_id=application_id)
    return redirect(request, _application_url(application_id), ok=("申请已撤回", "application withdrawn"))


# --- the member's certificates ----------------------------------------------------------------

@router.get("/dashboard/registry/certificates/{number}")
def certificate_page(request: Request, session: SessionDep, actor: PageUser, number: Number) -> Response:
    # Anyone can check a certificate at /verify; this page is for those who may act on it.
    certificate = service.certificate_for_party(session, actor, number=number)
    read = service.certificate_read(session, certificate)
    me = actor.member_id
    live = read.status in ("valid", "pledged")
    is_holder = me == certificate.holder_member_id
    return render(request, "registry/certificate.html", cert=read, certificate=certificate,
                  pending_note=json.loads(certificate.pending_note) if certificate.pending_action == "pledge" else {},
                  is_holder=is_holder, live=live,
                  may_request=is_holder and read.status == "valid" and certificate.pending_action is None,
                  is_counterparty=me is not None and me == certificate.pending_member_id,
                  is_pledgee=read.status == "pledged" and me == certificate.pledgee_member_id)


def _done(request: Request, number: str, zh: str, en: str) -> Response:
    return redirect(request, _certificate_url(number), ok=(zh, en))


@router.post("/dashboard/registry/certificates/{number}/change")
def change_certificate(
    request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, number: Number,
    title: Annotated[str, Form(max_length=400)] = "", description: Annotated[str, Form(max_length=40_000)] = "",
    reason: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    certificate = service.get_certificate(session, number=number)
    # The form shows the current values; only what was edited is a change.
    data = validate(CertificateChange, title=title if title.strip() != certificate.title else None,
                    description=description if description.strip() != certificate.description else None,
                    reason=reason)
    certificate = service.change_certificate(session, actor, settings=settings, number=number, data=data)
    return _done(request, certificate.number or number, f"已变更，当前为第 {certificate.version} 版",
                 f"changed; now version {certificate.version}")


@router.post("/dashboard/registry/certificates/{number}/transfer")
def request_transfer(
    request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, number: Number,
    credit_code: Annotated[str, Form(max_length=40)] = "", note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    data = validate(TransferRequest, to={"credit_code": credit_code}, note=note)
    certificate = service.request_transfer(session, actor, settings=settings, number=number, data=data)
    return _done(request, certificate.number or number, "已申请转让，等待受让方确认",
                 "transfer requested; waiting for the transferee")


@router.post("/dashboard/registry/certificates/{number}/pledge")
def request_pledge(
    request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, number: Number,
    credit_code: Annotated[str, Form(max_length=40)] = "",
    contract_ref: Annotated[str, Form(max_length=400)] = "", secured_amount: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    data = validate(PledgeRequest, pledgee={"credit_code": credit_code},
                    contract_ref=contract_ref,
                    secured_amount_fen=yuan_to_fen(secured_amount, zh="担保金额", en="secured amount"))
    certificate = service.request_pledge(session, actor, settings=settings, number=number, data=data)
    return _done(request, certificate.number or number, "已申请质押，等待质权人确认",
                 "pledge requested; waiting for the pledgee")


@router.post("/dashboard/registry/certificates/{number}/respond")
def respond(
    request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, number: Number,
    decision: Annotated[str, Form(max_length=16)] = "", note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    if decision not in ("accept", "decline"):
        raise InvalidInput("请选择确认或拒绝", "choose accept or decline", code="invalid_input")
    data = validate(Answer, accept=decision == "accept", note=note)
    certificate = service.respond(session, actor, settings=settings, number=number, data=data)
    if data.accept:
        return _done(request, certificate.number or number, "已确认", "accepted")
    return _done(request, certificate.number or number, "已拒绝", "declined")


@router.post("/dashboard/registry/certificates/{number}/cancel")
def cancel_request(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
                   number: Number) -> Response:
    certificate = service.cancel_request(session, actor, settings=settings, number=number)
    return _done(request, certificate.number or number, "已取消请求", "request cancelled")


@router.post("/dashboard/registry/certificates/{number}/release")
def release_pledge(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, number: Number,
                   note: Annotated[str, Form(max_length=5000)] = "") -> Response:
    certificate = service.release_pledge(session, actor, settings=settings, number=number, note=note.strip())
    return _done(request, certificate.number or number, "已解除质押", "pledge released")


@router.post("/dashboard/registry/certificates/{number}/revoke")
def revoke(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, number: Number,
           reason: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    certificate = service.revoke(session, actor, settings=settings, number=number,
                                 data=validate(Revocation, reason=reason, basis="holder"))
    return _done(request, certificate.number or number, "凭证已注销", "certificate revoked")


# --- the operator's review --------------------------------------------------------------------

def _review_context(session: Session, actor: Actor) -> dict[str, object]:
    queue = service.review_queue(session, actor)
    return {
        "queue": queue,
        "names": members.member_names(session, {a.member_id for a in queue}),
        "documents": {a.id: service.documents(session, actor, application_id=a.id) for a in queue},
        "objections": {a.id: service.objections(session, actor, application_id=a.id) for a in queue},
        "duplicates": {a.id: _duplicates(a) for a in queue},
    }


@router.get("/operator/registry")
def review_queue(request: Request, session: SessionDep, actor: PageOperator) -> Response:
    return render(request, "registry/operator_registry.html", **_review_context(session, actor))


@router.post("/operator/registry/objections/{objection_id}/resolve")
def resolve_objection(request: Request, session: SessionDep, actor: FormOperator, objection_id: PathId,
                      decision: Annotated[str, Form(max_length=16)] = "",
                      resolution: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    data = validate(ObjectionResolution, decision=decision, resolution=resolution)
    service.resolve_objection(session, actor, objection_id=objection_id, data=data)
    return redirect(request, "/operator/registry", ok=("异议已处理", "objection resolved"))


@router.post("/operator/registry/applications/{application_id}/decision")
def decide_application(request: Request, session: SessionDep, settings: SettingsDep, actor: FormOperator,
                       application_id: PathId, decision: Annotated[str, Form(max_length=16)] = "",
                       reason: Annotated[str, Form(max_length=10_000)] = "",
                       duplicate_reviewed: Annotated[str | None, Form(max_length=8)] = None) -> Response:
    data = validate(ApplicationDecision, decision=decision, reason=reason,
                    duplicate_reviewed=checked(duplicate_reviewed))
    application = service.decide_application(session, actor, settings=settings, application_id=application_id,
                                             decision=data)
    if application.status == "approved":
        issued = "、".join(service.certificates_of_application(session, application_id=application.id))
        return redirect(request, "/operator/registry", ok=(f"已批准，发放登记凭证：{issued}",
                                                           f"approved; certificates issued: {issued}"))
    return redirect(request, "/operator/registry", ok=("已驳回，理由将告知申请人", "rejected; the applicant sees the reason"))


@router.post("/operator/registry/decisions")
def approve_selected(request: Request, session: SessionDep, settings: SettingsDep, actor: FormOperator,
                     application_id: Annotated[list[str] | None, Form()] = None) -> Response:
    """Approve the ticked applications together: all of them, or none if any cannot be."""
    ids = [whole_number(i, zh="登记申请", en="application") for i in (application_id or [])[:1000]]
    decided = service.decide_applications(session, actor, settings=settings, application_ids=ids,
                                          decision=ApplicationDecision(decision="approve"))
    return redirect(request, "/operator/registry", ok=(f"已批准 {len(decided)} 件申请并发证",
                                                       f"{len(decided)} applications approved; certificates issued"))


@router.post("/operator/registry/revoke")
def operator_revoke(
    request: Request, session: SessionDep, settings: SettingsDep, actor: FormOperator,
    number: Annotated[str, Form(max_length=64)] = "", basis: Annotated[str, Form(max_length=32)] = "operator",
    reason: Annotated[str, Form(max_length=10_000)] = "", ruling_ref: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    # The holder's own basis is not the operator's to use.
    data = validate(Revocation, reason=reason, basis=basis if basis in ("operator", "dispute_ruling") else "",
                    ruling_ref=ruling_ref)
    certificate = service.revoke(session, actor, settings=settings, number=number.strip(), data=data)
    return redirect(request, "/operator/registry", ok=(f"凭证 {certificate.number} 已撤销",
                                                       f"certificate {certificate.number} revoked"))
