from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from shujiao.commands import Actor
from shujiao.deps import CurrentActor, OptionalActor, PathId, SessionDep, SettingsDep, StorageDep
from shujiao.members import service as members
from shujiao.registry import document, service
from shujiao.registry.models import Application
from shujiao.registry.schemas import (
    Answer, ApplicationCreate, ApplicationDecision, ApplicationDetail, ApplicationRead, BatchDecision,
    CertificateChange, CertificateRead, DocumentRead, Note, ObjectionCreate, ObjectionRead, ObjectionResolution,
    PledgeRequest, Revocation, TransferRequest,
)

router = APIRouter(prefix="/api/v1", tags=["registry 数据登记"])

Number = Annotated[str, Path(min_length=10, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


def _public(session: Session, applications: list[Application]) -> list[ApplicationRead]:
    names = members.member_names(session, {a.member_id for a in applications})
    out = []
    for application in applications:
        item = ApplicationRead.model_validate(application)
        item.rights = json.loads(application.rights_json)
        item.applicant_name = names.get(application.member_id, "")
        out.append(item)
    return out


def _detail(session: Session, actor: Actor, application: Application) -> ApplicationDetail:
    item = ApplicationDetail.model_validate({**_public(session, [application])[0].model_dump(),
                                             "dataset_id": application.dataset_id,
                                             "source_note": application.source_note,
                                             "validity_years": application.validity_years})
    item.duplicate_of = json.loads(application.duplicate_of or "[]")
    item.documents = [DocumentRead.model_validate(d)
                      for d in service.documents(session, actor, application_id=application.id)]
    item.objections = [ObjectionRead.model_validate(o)
                       for o in service.objections(session, actor, application_id=application.id)]
    if not actor.is_operator:  # the objector's contact is for the exchange, not for the applicant
        for objection in item.objections:
            objection.contact = ""
    item.certificates = service.certificates_of_application(session, application_id=application.id)
    return item


@router.post("/registrations", status_code=201, response_model=ApplicationDetail)
def create_application(session: SessionDep, settings: SettingsDep, actor: CurrentActor,
                       data: ApplicationCreate) -> ApplicationDetail:
    return _detail(session, actor, service.create_application(session, actor, settings=settings, data=data))


@router.get("/registrations/mine", response_model=list[ApplicationRead])
def my_applications(session: SessionDep, actor: CurrentActor) -> list[ApplicationRead]:
    return _public(session, list(service.own_applications(session, actor)))


@router.get("/registrations/publicity", response_model=list[ApplicationRead])
def in_publicity(session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                 offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> list[ApplicationRead]:
    """Applications in their public comment period (登记公示): anyone may read and object."""
    return _public(session, list(service.in_publicity(session, limit=limit, offset=offset)))


@router.get("/registrations/review-queue", response_model=list[ApplicationDetail])
def review_queue(session: SessionDep, actor: CurrentActor) -> list[ApplicationDetail]:
    return [_detail(session, actor, a) for a in service.review_queue(session, actor)]


@router.get("/registrations/{application_id}", response_model=ApplicationDetail | ApplicationRead)
def get_application(session: SessionDep, actor: OptionalActor, application_id: PathId) -> Any:
    """The whole application for its applicant and the operator; the public part for everyone else."""
    application = service.get_application(session, actor, application_id=application_id)
    if actor.is_operator or actor.member_id == application.member_id:
        return _detail(session, actor, application)
    return _public(session, [application])[0]


@router.post("/registrations/{application_id}/documents", status_code=201, response_model=DocumentRead)
def upload_document(session: SessionDep, settings: SettingsDep, storage: StorageDep, actor: CurrentActor,
                    application_id: PathId, file: Annotated[UploadFile, File()]) -> object:
    return service.add_document(session, actor, settings=settings, storage=storage, application_id=application_id,
                                filename=file.filename or "", stream=file.file)


@router.get("/registrations/documents/{document_id}", response_class=FileResponse)
def download_document(session: SessionDep, storage: StorageDep, actor: CurrentActor,
                      document_id: PathId) -> FileResponse:
    document = service.document_for_download(session, actor, document_id=document_id)
    return FileResponse(storage.local_path(document.storage_key), filename=document.filename,
                        headers={"Cache-Control": "no-store", "X-Content-SHA256": document.sha256})


@router.post("/registrations/{application_id}/submit", response_model=ApplicationDetail)
def submit_application(session: SessionDep, settings: SettingsDep, actor: CurrentActor,
                       application_id: PathId) -> ApplicationDetail:
    application = service.submit_application(session, actor, settings=settings, application_id=application_id)
    return _detail(session, actor, application)


@router.post("/registrations/{application_id}/withdraw", response_model=ApplicationDetail)
def withdraw_application(session: SessionDep, actor: CurrentActor, application_id: PathId) -> ApplicationDetail:
    return _detail(session, actor, service.withdraw_application(session, actor, application_id=application_id))


@router.post("/registrations/{application_id}/objections", status_code=201, response_model=ObjectionRead)
def object_to(session: SessionDep, actor: OptionalActor, application_id: PathId, data: ObjectionCreate) -> object:
    """Anyone may object while the application is in its public comment period (公示异议)."""
    return service.object_to(session, actor, application_id=application_id, data=data)


@router.post("/registrations/objections/{objection_id}/resolve", response_model=ObjectionRead)
def resolve_objection(session: SessionDep, actor: CurrentActor, objection_id: PathId,
                      data: ObjectionResolution) -> object:
    return service.resolve_objection(session, actor, objection_id=objection_id, data=data)


@router.post("/registrations/{application_id}/decision", response_model=ApplicationDetail)
def decide_application(session: SessionDep, settings: SettingsDep, actor: CurrentActor, application_id: PathId,
                       data: ApplicationDecision) -> ApplicationDetail:
    application = service.decide_application(session, actor, settings=settings, application_id=application_id,
                                             decision=data)
    return _detail(session, actor, application)


@router.post("/registrations/decisions", response_model=list[ApplicationRead])
def decide_applications(session: SessionDep, settings: SettingsDep, actor: CurrentActor,
                        data: BatchDecision) -> list[ApplicationRead]:
    """One decision for many applications in one transaction (all or none), e.g. a data bureau's
    hundreds of public resources."""
    decided = service.decide_applications(session, actor, settings=settings, application_ids=data.application_ids,
                                          decision=ApplicationDecision(**data.model_dump(exclude={"application_ids"})))
    return _public(session, decided)


@router.get("/certificates/mine", response_model=list[CertificateRead])
def my_certificates(session: SessionDep, actor: CurrentActor) -> list[CertificateRead]:
    """Held by my member, pledged to it, or waiting for its answer (transfer or pledge)."""
    return [service.certificate_read(session, c) for c in service.own_certificates(session, actor)]


@router.get("/certificates/{number}", response_model=CertificateRead)
def get_certificate(session: SessionDep, number: Number) -> CertificateRead:
    """A certificate and its signed history, for anyone (登记凭证是公开的证明)."""
    return service.certificate_read(session, service.get_certificate(session, number=number))


@router.get("/certificates/{number}/bundle")
def get_bundle(session: SessionDep, settings: SettingsDep, number: Number) -> dict[str, Any]:
    """The offline verification bundle: save it and run ``shujiao cert verify bundle.json``."""
    return service.bundle(session, settings=settings, number=number)


@router.get("/certificates/{number}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the certificate document"}})
def get_pdf(session: SessionDep, settings: SettingsDep, number: Number) -> Response:
    """The certificate as a PDF (登记证书), with a QR code that opens the public verification page."""
    certificate = service.get_certificate(session, number=number)
    view = service.certificate_document(session, settings, certificate)
    pdf = document.certificate_pdf(view, verify_url=f"{settings.registry.public_base_url}/verify/{view.number}")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{view.number}.pdf"', "Cache-Control": "no-store"})


@router.post("/certificates/{number}/change", response_model=CertificateRead)
def change_certificate(session: SessionDep, settings: SettingsDep, actor: CurrentActor, number: Number,
                       data: CertificateChange) -> CertificateRead:
    return service.certificate_read(session, service.change_certificate(session, actor, settings=settings,
                                                                        number=number, data=data))


@router.post("/certificates/{number}/transfer", response_model=CertificateRead)
def request_transfer(session: SessionDep, settings: SettingsDep, actor: CurrentActor, number: Number,
                     data: TransferRequest) -> CertificateRead:
    return service.certificate_read(session, service.request_transfer(session, actor, settings=settings,
                                                                      number=number, data=data))


@router.post("/certificates/{number}/pledge", response_model=CertificateRead)
def request_pledge(session: SessionDep, settings: SettingsDep, actor: CurrentActor, number: Number,
                   data: PledgeRequest) -> CertificateRead:
    return service.certificate_read(session, service.request_pledge(session, actor, settings=settings,
                                                                    number=number, data=data))


@router.post("/certificates/{number}/respond", response_model=CertificateRead)
def respond(session: SessionDep, settings: SettingsDep, actor: CurrentActor, number: Number,
            data: Answer) -> CertificateRead:
    return service.certificate_read(session, service.respond(session, actor, settings=settings, number=number,
                                                             data=data))


@router.post("/certificates/{number}/cancel", response_model=CertificateRead)
def cancel_request(session: SessionDep, settings: SettingsDep, actor: CurrentActor, number: Number) -> CertificateRead:
    return service.certificate_read(session, service.cancel_request(session, actor, settings=settings, number=number))


@router.post("/certificates/{number}/release", response_model=CertificateRead)
def release_pledge(session: SessionDep, settings: SettingsDep, actor: CurrentActor, number: Number,
                   data: Note | None = None) -> CertificateRead:
    certificate = service.release_pledge(session, actor, settings=settings, number=number,
                                         note=data.note if data else "")
    return service.certificate_read(session, certificate)


@router.post("/certificates/{number}/revoke", response_model=CertificateRead)
def revoke(session: SessionDep, settings: SettingsDep, actor: CurrentActor, number: Number,
           data: Revocation) -> CertificateRead:
    return service.certificate_read(session, service.revoke(session, actor, settings=settings, number=number,
                                                            data=data))
