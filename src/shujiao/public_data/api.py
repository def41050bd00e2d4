"""Public data (公共数据开放): the catalog, anonymous downloads, DCAT, applications and data requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from shujiao.delivery.api import _content_disposition as content_disposition
from shujiao.deps import CurrentActor, OptionalActor, PathId, SessionDep, SettingsDep, StorageDep
from shujiao.db import MAX_ID
from shujiao.public_data import dcat, service
from shujiao.public_data.schemas import (
    ApplicationCreate, ApplicationRead, Decision, DepartmentCreate, DepartmentRead, DocumentRead, LedgerRead,
    NegativeRuleCreate, NegativeRuleRead, PublicResourceCreate, PublicResourceRead, PublicResourceUpdate,
    RequestAnswer, RequestCounts, RequestCreate, RequestRead, RequestRoute, SurveyCreate, SurveyRead,
    SurveyResponseCreate,
)

router = APIRouter(prefix="/api/v1/public-data", tags=["public data 公共数据"])
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.post("/departments", status_code=201, response_model=DepartmentRead)
def create_department(session: SessionDep, actor: CurrentActor, data: DepartmentCreate) -> object:
    return service.create_department(session, actor, data=data)


@router.get("/departments", response_model=list[DepartmentRead])
def list_departments(session: SessionDep, authority_member_id: OptionalId = None) -> object:
    return service.list_departments(session, authority_member_id=authority_member_id)


@router.get("/departments/{department_id}/ledger", response_model=LedgerRead)
def department_ledger(session: SessionDep, actor: CurrentActor, department_id: PathId) -> object:
    return service.department_ledger(session, actor, department_id=department_id)


@router.post("/negative-list", status_code=201, response_model=NegativeRuleRead)
def add_negative_rule(session: SessionDep, actor: CurrentActor, data: NegativeRuleCreate) -> object:
    return service.add_negative_rule(session, actor, data=data)


@router.get("/negative-list", response_model=list[NegativeRuleRead])
def list_negative_rules(session: SessionDep, authority_member_id: OptionalId = None) -> object:
    return service.list_negative_rules(session, authority_member_id=authority_member_id)


@router.post("/resources", status_code=201, response_model=PublicResourceRead)
def publish_resource(session: SessionDep, actor: CurrentActor, data: PublicResourceCreate) -> object:
    public = service.publish_resource(session, actor, data=data)
    return service.get_public_resource(session, public_resource_id=public.id)


@router.get("/resources", response_model=list[PublicResourceRead])
def list_resources(session: SessionDep, department_id: OptionalId = None,
                   authority_member_id: OptionalId = None) -> object:
    return service.list_public_resources(session, department_id=department_id, authority_member_id=authority_member_id)


@router.get("/resources/{public_resource_id}", response_model=PublicResourceRead)
def get_resource(session: SessionDep, public_resource_id: PathId) -> object:
    return service.get_public_resource(session, public_resource_id=public_resource_id)


@router.put("/resources/{public_resource_id}", response_model=PublicResourceRead)
def update_resource(session: SessionDep, actor: CurrentActor, public_resource_id: PathId,
                    data: PublicResourceUpdate) -> object:
    service.update_resource(session, actor, public_resource_id=public_resource_id, data=data)
    return service.get_public_resource(session, public_resource_id=public_resource_id)


@router.get("/datasets/{dataset_id}/download", response_class=StreamingResponse)
def download(session: SessionDep, actor: OptionalActor, settings: SettingsDep, storage: StorageDep,
             request: Request, dataset_id: PathId) -> StreamingResponse:
    result = service.download(session, actor, settings=settings, storage=storage, dataset_id=dataset_id,
                              client_address=request.client.host if request.client else "")
    return StreamingResponse(result.chunks, media_type="application/octet-stream", headers={
        "Content-Disposition": content_disposition(result.filename), "Content-Length": str(result.size_bytes),
        "X-Content-SHA256": result.sha256, "Cache-Control": "no-store"})


def base_url(request: Request, configured: str) -> str:
    return configured or str(request.base_url).rstrip("/")


@router.get("/catalog.jsonld")
def catalog_jsonld(session: SessionDep, settings: SettingsDep, request: Request) -> JSONResponse:
    """The public catalog as DCAT-AP 3.0.1 JSON-LD, for harvesters."""
    document = dcat.catalog_document(service.list_public_resources(session),
                                     base=base_url(request, settings.public_data.public_base_url),
                                     publisher=settings.registry.exchange_name)
    return JSONResponse(document, media_type="application/ld+json")


def _application_read(session: SessionDep, actor: CurrentActor, application: object) -> ApplicationRead:
    read = ApplicationRead.model_validate(application)
    read.documents = [DocumentRead.model_validate(d)
                      for d in service.documents_of(session, actor, application_id=read.id)]
    return read


@router.post("/resources/{public_resource_id}/applications", status_code=201, response_model=ApplicationRead)
def apply(session: SessionDep, actor: CurrentActor, public_resource_id: PathId, data: ApplicationCreate) -> object:
    application = service.apply(session, actor, public_resource_id=public_resource_id, data=data)
    return _application_read(session, actor, application)


@router.get("/applications", response_model=list[ApplicationRead])
def list_applications(session: SessionDep, actor: CurrentActor) -> object:
    return [_application_read(session, actor, a) for a in service.list_applications(session, actor)]


@router.get("/applications/{application_id}", response_model=ApplicationRead)
def get_application(session: SessionDep, actor: CurrentActor, application_id: PathId) -> object:
    return _application_read(session, actor, service.get_application(session, actor, application_id=application_id))


@router.post("/applications/{application_id}/documents", status_code=201, response_model=DocumentRead)
def upload_document(session: SessionDep, actor: CurrentActor, settings: SettingsDep, storage: StorageDep,
                    application_id: PathId, file: Annotated[UploadFile, File()]) -> object:
    return service.add_document(session, actor, settings=settings, storage=storage, application_id=application_id,
                                filename=file.filename or "", stream=file.file)


@router.get("/documents/{document_id}", response_class=FileResponse)
def download_document(session: SessionDep, actor: CurrentActor, storage: StorageDep, document_id: PathId) -> FileResponse:
    document = service.document_for_download(session, actor, document_id=document_id)
    return FileResponse(storage.local_path(document.storage_key), filename=document.filename,
                        headers={"Cache-Control": "no-store", "X-Content-SHA256": document.sha256})


@router.post("/applications/{application_id}/decision", response_model=ApplicationRead)
def decide(session: SessionDep, actor: CurrentActor, application_id: PathId, data: Decision) -> object:
    return _application_read(session, actor, service.decide(session, actor, application_id=application_id,
                                                            decision=data))


@router.post("/requests", status_code=201, response_model=RequestRead)
def submit_request(session: SessionDep, actor: OptionalActor, data: RequestCreate) -> object:
    request = service.submit_request(session, actor, data=data)
    return service.get_request(session, request_id=request.id)


@router.get("/requests", response_model=list[RequestRead])
def list_requests(session: SessionDep, authority_member_id: OptionalId = None,
                  department_id: OptionalId = None) -> object:
    return service.list_requests(session, authority_member_id=authority_member_id, department_id=department_id)


@router.get("/request-counts", response_model=list[RequestCounts])
def request_counts(session: SessionDep, authority_member_id: OptionalId = None) -> object:
    return service.request_counts(session, authority_member_id=authority_member_id)


@router.get("/requests/{request_id}", response_model=RequestRead)
def get_request(session: SessionDep, request_id: PathId) -> object:
    return service.get_request(session, request_id=request_id)


@router.post("/requests/{request_id}/route", response_model=RequestRead)
def route_request(session: SessionDep, actor: CurrentActor, settings: SettingsDep, request_id: PathId,
                  data: RequestRoute) -> object:
    service.route_request(session, actor, settings=settings, request_id=request_id, data=data)
    return service.get_request(session, request_id=request_id)


@router.post("/requests/{request_id}/answer", response_model=RequestRead)
def answer_request(session: SessionDep, actor: CurrentActor, request_id: PathId, data: RequestAnswer) -> object:
    service.answer_request(session, actor, request_id=request_id, data=data)
    return service.get_request(session, request_id=request_id)


@router.post("/surveys", status_code=201, response_model=SurveyRead)
def create_survey(session: SessionDep, actor: CurrentActor, data: SurveyCreate) -> object:
    survey = service.create_survey(session, actor, data=data)
    return service.get_survey(session, actor, survey_id=survey.id)


@router.get("/surveys/{survey_id}", response_model=SurveyRead)
def get_survey(session: SessionDep, actor: CurrentActor, survey_id: PathId) -> object:
    return service.get_survey(session, actor, survey_id=survey_id)


@router.post("/surveys/{survey_id}/responses", response_model=SurveyRead)
def respond_survey(session: SessionDep, actor: CurrentActor, survey_id: PathId, data: SurveyResponseCreate) -> object:
    service.respond_survey(session, actor, survey_id=survey_id, data=data)
    return service.get_survey(session, actor, survey_id=survey_id)
