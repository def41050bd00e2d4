"""Public data commands and queries (公共数据开放).

The data authority (数据主管部门, member kind ``authority``) holds its departments' (委办局) catalog
resources with an open class. Unconditional data (无条件开放) is downloadable by anyone; conditional
data (有条件开放) only by a member whose application the authority approved; closed data (不予开放)
never leaves: no download, no distribution. Nothing on the negative list (负面清单) and no core
data is ever opened. Anyone may ask for data (需求征集); the department must answer in time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import BinaryIO, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset, Resource
from shujiao.catalog.storage import FileStorage, safe_filename
from shujiao.commands import Actor, allow_anyone, authorize, command, query, require_member
from shujiao.config import Settings
from shujiao.db import utcnow
from shujiao.delivery.service import Download as FileDownload
from shujiao.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied, not_found
from shujiao.members import service as members
from shujiao.public_data.models import (
    Application, ApplicationDocument, DataRequest, Department, Download, NegativeRule, PublicResource, Survey,
    SurveyResponse,
)
from shujiao.public_data.schemas import (
    ApplicationCreate, Decision, DepartmentCreate, DepartmentRead, FieldSpec, Freshness, LedgerRead,
    NegativeRuleCreate, PublicDatasetRead, PublicResourceCreate, PublicResourceRead, PublicResourceUpdate,
    RequestAnswer, RequestCounts, RequestCreate, RequestRead, RequestRoute, SurveyAnswer, SurveyCreate, SurveyRead,
    SurveyResponseCreate, download_path,
)

OPEN = ("unconditional", "conditional")
# How old the newest upload may be before a resource counts as stale, by its declared frequency
# (a little slack over the period); irregular data is stale only when it has no upload at all.
MAX_AGE: dict[str, dt.timedelta | None] = {
    "realtime": dt.timedelta(days=1), "daily": dt.timedelta(days=2), "weekly": dt.timedelta(days=8),
    "monthly": dt.timedelta(days=32), "quarterly": dt.timedelta(days=93), "annual": dt.timedelta(days=367),
    "irregular": None,
}


class NotOpenable(InvalidInput):
    """Refused by a rule of opening (``details["rule"]``): core data, or the negative list."""

    code = "not_openable"


class NotOpen(PermissionDenied):
    code = "not_open"


def _require_authority(actor: Actor) -> None:
    require_member(actor)
    authorize(actor.member_kind == "authority", "仅数据主管部门可执行此操作", "only a data authority may do this")


# --- departments and the negative list ----------------------------------------------------------

@command("public_data.department.create")
def create_department(session: Session, actor: Actor, *, data: DepartmentCreate) -> Department:
    _require_authority(actor)
    taken = session.scalar(select(Department.id).where(
        Department.authority_member_id == actor.member_id, Department.code == data.code))
    if taken is not None:
        raise Conflict("部门编码已存在", "a department with that code exists", code="department_exists")
    department = Department(authority_member_id=actor.member_id, created_at=utcnow(), **data.model_dump())
    session.add(department)
    session.flush()
    audit.record(session, subject_type="public_data_department", subject_id=department.id, change=data.model_dump())
    return department


@query
def list_departments(session: Session, *, authority_member_id: int | None = None) -> Sequence[Department]:
    stmt = select(Department).order_by(Department.authority_member_id, Department.code)
    if authority_member_id is not None:
        stmt = stmt.where(Department.authority_member_id == authority_member_id)
    return session.scalars(stmt).all()


Owned = TypeVar("Owned", Department, PublicResource, Survey)


def _owned(session: Session, actor: Actor, model: type[Owned], row_id: int, zh: str, en: str) -> Owned:
    """A row the actor's authority keeps; anyone else's looks like no row at all (404)."""
    row = session.get(model, row_id)
    if row is None or row.authority_member_id != actor.member_id:
        raise not_found(zh, en)
    return row


def _own_department(session: Session, actor: Actor, department_id: int) -> Department:
    return _owned(session, actor, Department, department_id, "部门", "department")


@command("public_data.negative_rule.add")
def add_negative_rule(session: Session, actor: Actor, *, data: NegativeRuleCreate) -> NegativeRule:
    _require_authority(actor)
    term = data.term.lower()
    taken = session.scalar(select(NegativeRule.id).where(
        NegativeRule.authority_member_id == actor.member_id, NegativeRule.kind == data.kind, NegativeRule.term == term))
    if taken is not None:
        raise Conflict("负面清单已有此项", "the negative list has that entry", code="rule_exists")
    rule = NegativeRule(authority_member_id=actor.member_id, kind=data.kind, term=term, reason=data.reason,
                        created_at=utcnow())
    session.add(rule)
    session.flush()
    audit.record(session, subject_type="public_data_negative_rule", subject_id=rule.id,
                 change={"kind": data.kind, "term": term, "reason": data.reason})
    return rule


@query
def list_negative_rules(session: Session, *, authority_member_id: int | None = None) -> Sequence[NegativeRule]:
    """The negative list is public: everyone may know what is never opened."""
    stmt = select(NegativeRule).order_by(NegativeRule.id)
    if authority_member_id is not None:
        stmt = stmt.where(NegativeRule.authority_member_id == authority_member_id)
    return session.scalars(stmt).all()


def _negative_hit(rules: Sequence[NegativeRule], *, domain: str, field_names: Sequence[str]) -> dict[str, str] | None:
    """The first negative-list entry the resource hits: a field whose name contains a listed term
    (身份证 catches 身份证号码), or a listed category equal to the resource's domain."""
    for rule in rules:
        if rule.kind == "category" and domain.strip().lower() == rule.term:
            return {"rule": "negative_list", "kind": "category", "term": rule.term, "category": domain}
        if rule.kind == "field":
            for name in field_names:
                if rule.term in name.lower():
                    return {"rule": "negative_list", "kind": "field", "term": rule.term, "field": name}
    return None


def _column_names(datasets: Sequence[Dataset]) -> list[str]:
    return [column["name"] for dataset in datasets for column in json.loads(dataset.columns_json)]


def _check_openable(session: Session, *, authority_member_id: int, resource: Resource, open_class: str,
                    fields: Sequence[FieldSpec]) -> None:
    if open_class not in OPEN:
        return
    if resource.grade == "core":
        raise NotOpenable("核心数据一律不予开放", "core data is never opened", rule="core_data_closed")
    rules = list_negative_rules(session, authority_member_id=authority_member_id)
    names = [f.name for f in fields] + _column_names(catalog.datasets_of_resource(session, resource_id=resource.id))
    hit = _negative_hit(rules, domain=resource.domain, field_names=names)
    if hit is not None:
        what = hit.get("field") or hit.get("category")
        raise NotOpenable(f"命中负面清单（{hit['term']}：{what}），不得开放",
                          f"on the negative list ({hit['term']}: {what}); it may not be opened", **hit)


# --- the public catalog -------------------------------------------------------------------------

@command("public_data.resource.publish")
def publish_resource(session: Session, actor: Actor, *, data: PublicResourceCreate) -> PublicResource:
    """Put one of the authority's catalog resources in the public catalog under a department."""
    _require_authority(actor)
    resource = catalog.get_resource(session, actor, resource_id=data.resource_id)  # the authority's own, or 404
    department = _own_department(session, actor, data.department_id)
    if session.scalar(select(PublicResource.id).where(PublicResource.resource_id == resource.id)) is not None:
        raise Conflict("该数据资源已编入公共数据目录", "the resource is in the public catalog already",
                       code="already_published")
    _check_openable(session, authority_member_id=actor.member_id or 0, resource=resource, open_class=data.open_class,
                    fields=data.fields)
    now = utcnow()
    public = PublicResource(
        resource_id=resource.id, authority_member_id=actor.member_id, department_id=department.id,
        open_class=data.open_class, update_frequency=data.update_frequency,
        fields_json=json.dumps([f.model_dump() for f in data.fields], ensure_ascii=False),
        conditions=data.conditions, closed_reason=data.closed_reason, created_at=now, updated_at=now)
    session.add(public)
    session.flush()
    audit.record(session, subject_type="public_data_resource", subject_id=public.id, change=data.model_dump())
    return public


@command("public_data.resource.update")
def update_resource(session: Session, actor: Actor, *, public_resource_id: int,
                    data: PublicResourceUpdate) -> PublicResource:
    """Change a resource's open class (checked again against the rules) or its declared frequency."""
    _require_authority(actor)
    public = _owned(session, actor, PublicResource, public_resource_id, "公共数据资源", "public resource")
    resource = catalog.get_resource(session, actor, resource_id=public.resource_id)
    fields = [FieldSpec(**f) for f in json.loads(public.fields_json)]
    _check_openable(session, authority_member_id=public.authority_member_id, resource=resource,
                    open_class=data.open_class, fields=fields)
    before = {"open_class": public.open_class, "update_frequency": public.update_frequency}
    for key, value in data.model_dump().items():
        setattr(public, key, value)
    public.updated_at = utcnow()
    session.flush()
    audit.record(session, subject_type="public_data_resource", subject_id=public.id,
                 change={"before": before, "after": data.model_dump()})
    return public


def _visible_datasets(session: Session, public: PublicResource, resource: Resource) -> list[Dataset]:
    """The datasets an open resource shows: none of closed data, and none that hits the negative
    list (a later upload may carry a column the list forbids; it is withheld, not opened)."""
    if public.open_class not in OPEN:
        return []
    rules = list_negative_rules(session, authority_member_id=public.authority_member_id)
    return [d for d in catalog.datasets_of_resource(session, resource_id=resource.id)
            if _negative_hit(rules, domain=resource.domain, field_names=_column_names([d])) is None]


def _view(session: Session, public: PublicResource, names: dict[int, str]) -> PublicResourceRead:
    resource = catalog.resource_by_id(session, resource_id=public.resource_id)
    assert resource is not None  # a foreign key
    department = session.get(Department, public.department_id)
    datasets = [PublicDatasetRead(
        id=d.id, filename=d.filename, file_format=d.file_format, rows=d.row_count, size_bytes=d.size_bytes,
        sha256=d.sha256, uploaded_at=d.uploaded_at,
        download_url=download_path(d.id) if public.open_class == "unconditional" else None)
        for d in _visible_datasets(session, public, resource)]
    return PublicResourceRead(
        id=public.id, resource_id=resource.id, authority_member_id=public.authority_member_id,
        authority_name=names.get(public.authority_member_id, ""),
        department=DepartmentRead.model_validate(department), name=resource.name,
        description=resource.description, domain=resource.domain, open_class=public.open_class,
        update_frequency=public.update_frequency,
        fields=[] if public.open_class == "closed" else [FieldSpec(**f) for f in json.loads(public.fields_json)],
        conditions=public.conditions, closed_reason=public.closed_reason, datasets=datasets,
        updated_at=public.updated_at)


@query
def list_public_resources(session: Session, *, department_id: int | None = None,
                          authority_member_id: int | None = None) -> list[PublicResourceRead]:
    """The public catalog (公共数据开放目录): every class is listed, closed data with its metadata only."""
    stmt = select(PublicResource).order_by(PublicResource.department_id, PublicResource.id)
    if department_id is not None:
        stmt = stmt.where(PublicResource.department_id == department_id)
    if authority_member_id is not None:
        stmt = stmt.where(PublicResource.authority_member_id == authority_member_id)
    rows = session.scalars(stmt).all()
    names = members.member_names(session, {r.authority_member_id for r in rows})
    return [_view(session, public, names) for public in rows]


@query
def get_public_resource(session: Session, *, public_resource_id: int) -> PublicResourceRead:
    public = session.get(PublicResource, public_resource_id)
    if public is None:
        raise not_found("公共数据资源", "public resource")
    return _view(session, public, members.member_names(session, {public.authority_member_id}))


def _approved_application(session: Session, actor: Actor, public: PublicResource) -> Application | None:
    if actor.member_id is None:
        return None
    return session.scalar(select(Application).where(
        Application.public_resource_id == public.id, Application.applicant_member_id == actor.member_id,
        Application.status == "approved").order_by(Application.id.desc()).limit(1))


@command("public_data.download")
def download(session: Session, actor: Actor, *, settings: Settings, storage: FileStorage, dataset_id: int,
             client_address: str = "") -> FileDownload:
    """The plaintext of a public dataset, decrypted from the vault as it is read: to anyone for
    unconditional data, to an approved applicant (or the authority) for conditional data, to no one
    for closed data."""
    try:
        dataset = catalog.dataset_for_delivery(session, dataset_id=dataset_id)
    except NotFound:
        raise not_found("公共数据集", "public dataset") from None
    public = session.scalar(select(PublicResource).where(PublicResource.resource_id == dataset.resource_id))
    if public is None:  # a dataset outside the public catalog looks like no dataset at all
        raise not_found("公共数据集", "public dataset")
    if public.open_class == "closed":
        raise NotOpen("该数据不予开放", "this data is not open")
    resource = catalog.resource_by_id(session, resource_id=public.resource_id)
    assert resource is not None
    if dataset.id not in {d.id for d in _visible_datasets(session, public, resource)}:
        raise NotOpen("该数据集命中负面清单，不予开放", "this dataset hits the negative list and is not open",
                      rule="negative_list")
    application: Application | None = None
    if public.open_class == "conditional":
        if actor.kind != "user":
            raise NotAuthenticated("有条件开放数据须登录并经申请批准", "conditional data needs a login and an approved application")
        application = _approved_application(session, actor, public)
        authorize(application is not None or actor.member_id == public.authority_member_id,
                  "有条件开放数据须经申请批准后方可下载", "conditional data needs an approved application")
    else:
        allow_anyone()
    chunks = catalog.dataset_content(session, settings=settings, storage=storage, dataset=dataset)
    row = Download(public_resource_id=public.id, dataset_id=dataset.id, member_id=actor.member_id,
                   application_id=application.id if application else None, sha256=dataset.sha256,
                   client_address=client_address[:64], downloaded_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, subject_type="public_data_resource", subject_id=public.id, change={
        "download": {"id": row.id, "dataset_id": dataset.id, "sha256": dataset.sha256,
                     "application_id": row.application_id}})
    return FileDownload(chunks=chunks, filename=dataset.filename, size_bytes=dataset.size_bytes, sha256=dataset.sha256)


# --- conditional access applications ------------------------------------------------------------

@command("public_data.application.submit")
def apply(session: Session, actor: Actor, *, public_resource_id: int, data: ApplicationCreate) -> Application:
    require_member(actor)
    public = session.get(PublicResource, public_resource_id)
    if public is None:
        raise not_found("公共数据资源", "public resource")
    if public.open_class != "conditional":
        raise Conflict("仅有条件开放数据需要申请", "only conditional data is applied for", code="not_conditional")
    if public.authority_member_id == actor.member_id:
        raise Conflict("数据主管部门无需申请自己的数据", "the authority does not apply for its own data",
                       code="own_resource")
    pending = session.scalar(select(Application.id).where(
        Application.public_resource_id == public.id, Application.applicant_member_id == actor.member_id,
        Application.status == "submitted"))
    if pending is not None:
        raise Conflict("已有待审核的申请", "an application is already awaiting review", code="pending_application")
    application = Application(public_resource_id=public.id, authority_member_id=public.authority_member_id,
                              applicant_member_id=actor.member_id, applicant_user_id=actor.user_id,
                              status="submitted", created_at=utcnow(), **data.model_dump())
    session.add(application)
    session.flush()
    audit.record(session, subject_type="public_data_application", subject_id=application.id,
                 change={"public_resource_id": public.id, **data.model_dump()})
    return application


@query
def get_application(session: Session, actor: Actor, *, application_id: int) -> Application:
    """The applicant's own application, or one made to the authority; 404 for anyone else."""
    application = session.get(Application, application_id)
    if application is None or actor.member_id is None or actor.member_id not in (
            application.applicant_member_id, application.authority_member_id):
        raise not_found("申请", "application")
    return application


@query
def list_applications(session: Session, actor: Actor) -> Sequence[Application]:
    """The actor's own applications, and those made to it if it is an authority."""
    if actor.member_id is None:
        return []
    return session.scalars(select(Application).where(
        (Application.applicant_member_id == actor.member_id) | (Application.authority_member_id == actor.member_id)
    ).order_by(Application.id.desc())).all()


@command("public_data.application.document")
def add_document(session: Session, actor: Actor, *, settings: Settings, storage: FileStorage, application_id: int,
                 filename: str, stream: BinaryIO) -> ApplicationDocument:
    """A supporting document (申请材料) of the applicant's own application, while it awaits review."""
    require_member(actor)
    application = get_application(session, actor, application_id=application_id)
    if application.applicant_member_id != actor.member_id:
        raise not_found("申请", "application")
    if application.status != "submitted":
        raise Conflict("申请已办结，不能再补充材料", f"the application is {application.status}", code="bad_state")
    name = safe_filename(filename)
    extension = name.rsplit(".", 1)[-1].lower()[:15] if "." in name else ""
    stored = storage.save(stream, prefix=f"public_data/{actor.member_id}", suffix=f".{extension}" if extension else "",
                          max_bytes=settings.public_data.max_document_bytes)
    try:
        if stored.size_bytes == 0:
            raise InvalidInput("文件为空", "the file is empty", code="empty_file")
        document = ApplicationDocument(application_id=application.id, filename=name, storage_key=stored.key,
                                       size_bytes=stored.size_bytes, sha256=stored.sha256, uploaded_at=utcnow())
        session.add(document)
        session.flush()
        audit.record(session, subject_type="public_data_application", subject_id=application.id, change={
            "document": {"id": document.id, "filename": name, "sha256": stored.sha256}})
    except BaseException:
        storage.delete(stored.key)
        raise
    return document


@query
def documents_of(session: Session, actor: Actor, *, application_id: int) -> Sequence[ApplicationDocument]:
    application = get_application(session, actor, application_id=application_id)
    return session.scalars(select(ApplicationDocument).where(
        ApplicationDocument.application_id == application.id).order_by(ApplicationDocument.id)).all()


@query
def document_for_download(session: Session, actor: Actor, *, document_id: int) -> ApplicationDocument:
    document = session.get(ApplicationDocument, document_id)
    if document is None:
        raise not_found("申请材料", "document")
    try:
        get_application(session, actor, application_id=document.application_id)
    except NotFound:
        raise not_found("申请材料", "document") from None
    return document


@command("public_data.application.decide")
def decide(session: Session, actor: Actor, *, application_id: int, decision: Decision) -> Application:
    _require_authority(actor)
    application = session.scalar(select(Application).where(Application.id == application_id).with_for_update())
    if application is None or application.authority_member_id != actor.member_id:
        raise not_found("申请", "application")
    if application.status != "submitted":
        raise Conflict("申请已办结", f"the application is {application.status}", code="bad_state")
    application.status = "approved" if decision.approve else "rejected"
    application.decision_reason = decision.reason
    application.decided_at = utcnow()
    application.decided_by_user_id = actor.user_id
    session.flush()
    audit.record(session, subject_type="public_data_application", subject_id=application.id,
                 change={"status": application.status, "reason": decision.reason})
    return application


# --- data requests (需求征集) ---------------------------------------------------------------------

@command("public_data.request.submit")
def submit_request(session: Session, actor: Actor, *, data: RequestCreate, now: dt.datetime | None = None) -> DataRequest:
    """Anyone, logged in or not, asks an authority for public data; the contact stays private."""
    allow_anyone()
    try:
        identity = members.public_identity(session, data.authority_member_id)
    except NotFound:
        identity = None
    if identity is None or identity.kind != "authority" or identity.status != "approved":
        raise InvalidInput("未找到该数据主管部门", "no such data authority", code="unknown_authority")
    request = DataRequest(authority_member_id=data.authority_member_id, requester_member_id=actor.member_id,
                          contact=data.contact, title=data.title, reason=data.reason, scenario=data.scenario,
                          status="open", created_at=now or utcnow())
    session.add(request)
    session.flush()
    audit.record(session, subject_type="public_data_request", subject_id=request.id,
                 change={"authority_member_id": data.authority_member_id, "title": data.title})
    return request


def _own_request(session: Session, actor: Actor, request_id: int) -> DataRequest:
    request = session.scalar(select(DataRequest).where(DataRequest.id == request_id).with_for_update())
    if request is None:
        raise not_found("数据需求", "data request")
    # Requests are public; only their authority acts on them.
    authorize(request.authority_member_id == actor.member_id, "仅受理该需求的数据主管部门可办理",
              "only the authority the request was made to may act on it")
    return request


@command("public_data.request.route")
def route_request(session: Session, actor: Actor, *, settings: Settings, request_id: int, data: RequestRoute,
                  now: dt.datetime | None = None) -> DataRequest:
    """Send the request to a department; the answer is due ``answer_days`` later."""
    _require_authority(actor)
    request = _own_request(session, actor, request_id)
    if request.status != "open":
        raise Conflict("该需求已分派", f"the request is {request.status}", code="bad_state")
    department = _own_department(session, actor, data.department_id)
    now = now or utcnow()
    request.department_id, request.status = department.id, "routed"
    request.routed_at, request.due_at = now, now + dt.timedelta(days=settings.public_data.answer_days)
    session.flush()
    audit.record(session, subject_type="public_data_request", subject_id=request.id,
                 change={"department_id": department.id, "due_at": request.due_at})
    return request


@command("public_data.request.answer")
def answer_request(session: Session, actor: Actor, *, request_id: int, data: RequestAnswer,
                   now: dt.datetime | None = None) -> DataRequest:
    """The department's answer (the authority acting for it): answered, or refused with the reason."""
    _require_authority(actor)
    request = _own_request(session, actor, request_id)
    if request.status != "routed":
        raise Conflict("该需求尚未分派或已答复", f"the request is {request.status}", code="bad_state")
    request.status, request.answer, request.answered_at = data.outcome, data.answer, now or utcnow()
    session.flush()
    audit.record(session, subject_type="public_data_request", subject_id=request.id,
                 change={"outcome": data.outcome, "answer": data.answer,
                         "late": request.answered_at > request.due_at if request.due_at else False})
    return request


def _request_view(request: DataRequest, now: dt.datetime) -> RequestRead:
    overdue = request.status == "routed" and request.due_at is not None and now > request.due_at
    return RequestRead(
        id=request.id, authority_member_id=request.authority_member_id, department_id=request.department_id,
        title=request.title, reason=request.reason, scenario=request.scenario,
        status="overdue" if overdue else request.status, answer=request.answer, created_at=request.created_at,
        routed_at=request.routed_at, due_at=request.due_at, answered_at=request.answered_at)


@query
def list_requests(session: Session, *, authority_member_id: int | None = None, department_id: int | None = None,
                  now: dt.datetime | None = None) -> list[RequestRead]:
    """Every request, public (without contacts), its status as of ``now``."""
    stmt = select(DataRequest).order_by(DataRequest.id.desc())
    if authority_member_id is not None:
        stmt = stmt.where(DataRequest.authority_member_id == authority_member_id)
    if department_id is not None:
        stmt = stmt.where(DataRequest.department_id == department_id)
    now = now or utcnow()
    return [_request_view(r, now) for r in session.scalars(stmt)]


@query
def request_contacts(session: Session, actor: Actor) -> dict[int, str]:
    """The requesters' contacts of the requests made to the actor's authority (for its console only)."""
    if actor.member_id is None:
        return {}
    rows = session.execute(select(DataRequest.id, DataRequest.contact).where(
        DataRequest.authority_member_id == actor.member_id))
    return {row.id: row.contact for row in rows}


@query
def get_request(session: Session, *, request_id: int, now: dt.datetime | None = None) -> RequestRead:
    request = session.get(DataRequest, request_id)
    if request is None:
        raise not_found("数据需求", "data request")
    return _request_view(request, now or utcnow())


def _counts(department: Department, requests: Sequence[DataRequest], now: dt.datetime) -> RequestCounts:
    mine = [r for r in requests if r.department_id == department.id]
    return RequestCounts(
        department_id=department.id, department_name=department.name, routed=len(mine),
        answered=sum(r.status == "answered" for r in mine), refused=sum(r.status == "refused" for r in mine),
        overdue=sum(_request_view(r, now).status == "overdue" for r in mine),
        answered_late=sum(r.status in ("answered", "refused") and r.answered_at is not None
                          and r.due_at is not None and r.answered_at > r.due_at for r in mine))


@query
def request_counts(session: Session, *, authority_member_id: int | None = None,
                   now: dt.datetime | None = None) -> list[RequestCounts]:
    """Per department: requests routed to it, answered, refused, overdue (as of ``now``), answered late."""
    now = now or utcnow()
    departments = list_departments(session, authority_member_id=authority_member_id)
    requests = session.scalars(select(DataRequest).where(
        DataRequest.department_id.in_([d.id for d in departments]))).all()
    return [_counts(d, requests, now) for d in departments]


# --- the one ledger (一本账) and resource surveys (资源调查) ----------------------------------------

@query
def department_ledger(session: Session, actor: Actor, *, department_id: int,
                      now: dt.datetime | None = None) -> LedgerRead:
    """The department's resources by open class and their freshness, and its request counts; for
    the authority's console (404 for anyone else)."""
    department = _own_department(session, actor, department_id)
    now = now or utcnow()
    rows = session.scalars(select(PublicResource).where(PublicResource.department_id == department.id)
                           .order_by(PublicResource.id)).all()
    freshness = []
    for public in rows:
        resource = catalog.resource_by_id(session, resource_id=public.resource_id)
        assert resource is not None
        datasets = catalog.datasets_of_resource(session, resource_id=public.resource_id)
        newest = max((d.uploaded_at for d in datasets), default=None)
        limit = MAX_AGE[public.update_frequency]
        stale = newest is None or (limit is not None and now - newest > limit)
        freshness.append(Freshness(public_resource_id=public.id, name=resource.name, open_class=public.open_class,
                                   update_frequency=public.update_frequency, newest_upload_at=newest, stale=stale))
    requests = session.scalars(select(DataRequest).where(DataRequest.department_id == department.id)).all()
    return LedgerRead(
        department=DepartmentRead.model_validate(department),
        by_open_class={c: sum(p.open_class == c for p in rows) for c in ("unconditional", "conditional", "closed")},
        total=len(rows), stale=sum(f.stale for f in freshness), resources=freshness,
        requests=_counts(department, requests, now))


@command("public_data.survey.create")
def create_survey(session: Session, actor: Actor, *, data: SurveyCreate) -> Survey:
    _require_authority(actor)
    survey = Survey(authority_member_id=actor.member_id, title=data.title, period=data.period,
                    items_json=json.dumps(data.items, ensure_ascii=False), due_at=data.due_at, created_at=utcnow())
    session.add(survey)
    session.flush()
    audit.record(session, subject_type="public_data_survey", subject_id=survey.id, change=data.model_dump())
    return survey


def _own_survey(session: Session, actor: Actor, survey_id: int) -> Survey:
    return _owned(session, actor, Survey, survey_id, "资源调查", "survey")


@command("public_data.survey.respond")
def respond_survey(session: Session, actor: Actor, *, survey_id: int, data: SurveyResponseCreate) -> SurveyResponse:
    """A department's filled checklist (the authority entering it): every item answered once."""
    _require_authority(actor)
    survey = _own_survey(session, actor, survey_id)
    department = _own_department(session, actor, data.department_id)
    items = json.loads(survey.items_json)
    if sorted(a.item for a in data.answers) != sorted(items):
        raise InvalidInput("须逐项填写调查清单的每一项", "answer every checklist item exactly once",
                           code="incomplete_survey")
    response = session.scalar(select(SurveyResponse).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.department_id == department.id))
    answers = json.dumps([a.model_dump() for a in data.answers], ensure_ascii=False)
    if response is None:
        response = SurveyResponse(survey_id=survey.id, department_id=department.id, answers_json=answers,
                                  submitted_at=utcnow())
        session.add(response)
    else:
        response.answers_json, response.submitted_at = answers, utcnow()
    session.flush()
    audit.record(session, subject_type="public_data_survey", subject_id=survey.id,
                 change={"department_id": department.id, "answers": [a.model_dump() for a in data.answers]})
    return response


@query
def get_survey(session: Session, actor: Actor, *, survey_id: int) -> SurveyRead:
    survey = _own_survey(session, actor, survey_id)
    responses = {r.department_id: [SurveyAnswer(**a) for a in json.loads(r.answers_json)]
                 for r in session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))}
    departments = list_departments(session, authority_member_id=survey.authority_member_id)
    return SurveyRead(id=survey.id, title=survey.title, period=survey.period, items=json.loads(survey.items_json),
                      due_at=survey.due_at, responses=responses,
                      missing_departments=[d.id for d in departments if d.id not in responses])


@query
def list_surveys(session: Session, actor: Actor) -> list[SurveyRead]:
    """The authority's survey rounds, newest first."""
    ids = session.scalars(select(Survey.id).where(Survey.authority_member_id == actor.member_id)
                          .order_by(Survey.id.desc())).all()
    return [get_survey(session, actor, survey_id=survey_id) for survey_id in ids]
