"""The open-data portal (公共数据开放门户, anonymous): the catalog by department, a resource page
with downloads or the application form, and data requests (需求征集); and the authority's console
(the one ledger per department, applications to decide, requests to route and answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from shujiao.deps import PathId, SessionDep, SettingsDep, StorageDep
from shujiao.public_data import service
from shujiao.public_data.schemas import (
    APPLICATION_STATUSES, FREQUENCIES, OPEN_CLASSES, REQUEST_STATUSES, ApplicationCreate, Decision, RequestAnswer,
    RequestCreate, RequestRoute, SurveyAnswer, SurveyResponseCreate,
)
from shujiao.web.deps import FormActor, FormUser, PageActor, PageUser
from shujiao.web.forms import validate
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=4000)]
LABELS = {"open_classes": OPEN_CLASSES, "frequencies": FREQUENCIES, "request_statuses": REQUEST_STATUSES,
          "application_statuses": APPLICATION_STATUSES}


@router.get("/public-data")
def portal(request: Request, session: SessionDep, actor: PageActor) -> Response:
    resources = service.list_public_resources(session)
    departments = service.list_departments(session)
    by_department = {d.id: [r for r in resources if r.department.id == d.id] for d in departments}
    return render(request, "public_data/portal.html", departments=departments, by_department=by_department,
                  counts={c.department_id: c for c in service.request_counts(session)}, **LABELS)


@router.get("/public-data/resources/{public_resource_id}")
def resource_page(request: Request, session: SessionDep, actor: PageActor, public_resource_id: PathId) -> Response:
    resource = service.get_public_resource(session, public_resource_id=public_resource_id)
    mine = [a for a in service.list_applications(session, actor) if a.public_resource_id == resource.id
            and a.applicant_member_id == actor.member_id]
    return render(request, "public_data/resource.html", resource=resource, applications=mine, **LABELS)


@router.post("/public-data/resources/{public_resource_id}/applications")
def apply(request: Request, session: SessionDep, settings: SettingsDep, storage: StorageDep, actor: FormUser,
          public_resource_id: PathId, purpose: Text = "", scenario: Text = "",
          file: Annotated[UploadFile | None, File()] = None) -> Response:
    application = service.apply(session, actor, public_resource_id=public_resource_id,
                                data=validate(ApplicationCreate, purpose=purpose, scenario=scenario))
    if file is not None and file.filename:
        service.add_document(session, actor, settings=settings, storage=storage, application_id=application.id,
                             filename=file.filename, stream=file.file)
    return redirect(request, f"/public-data/resources/{public_resource_id}",
                    ok=(f"申请已提交（#{application.id}），等待数据主管部门审核",
                        f"application #{application.id} submitted for review"))


@router.get("/public-data/requests")
def requests_page(request: Request, session: SessionDep, actor: PageActor) -> Response:
    authorities = {d.authority_member_id for d in service.list_departments(session)}
    return render(request, "public_data/requests.html", requests=service.list_requests(session),
                  departments={d.id: d for d in service.list_departments(session)},
                  authorities=sorted(authorities), counts=service.request_counts(session), **LABELS)


@router.post("/public-data/requests")
def submit_request(request: Request, session: SessionDep, actor: FormActor, authority_member_id: Text = "",
                   title: Text = "", reason: Text = "", scenario: Text = "", contact: Text = "") -> Response:
    data = validate(RequestCreate, authority_member_id=authority_member_id if authority_member_id.isdigit() else 0,
                    title=title, reason=reason, scenario=scenario, contact=contact)
    created = service.submit_request(session, actor, data=data)
    return redirect(request, "/public-data/requests",
                    ok=(f"需求已提交（#{created.id}）", f"request #{created.id} submitted"))


@router.get("/public-data/console")
def console(request: Request, session: SessionDep, actor: PageUser) -> Response:
    departments = service.list_departments(session, authority_member_id=actor.member_id)
    return render(request, "public_data/console.html", departments=departments,
                  ledgers=[service.department_ledger(session, actor, department_id=d.id) for d in departments],
                  applications=[a for a in service.list_applications(session, actor)
                                if a.authority_member_id == actor.member_id],
                  requests=service.list_requests(session, authority_member_id=actor.member_id),
                  contacts=service.request_contacts(session, actor),
                  surveys=service.list_surveys(session, actor), **LABELS)


@router.post("/public-data/console/applications/{application_id}")
def decide(request: Request, session: SessionDep, actor: FormUser, application_id: PathId,
           approve: Text = "", reason: Text = "") -> Response:
    service.decide(session, actor, application_id=application_id,
                   decision=validate(Decision, approve=approve == "yes", reason=reason))
    return redirect(request, "/public-data/console", ok=("已办结申请", "application decided"))


@router.post("/public-data/console/requests/{request_id}/route")
def route(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser, request_id: PathId,
          department_id: Text = "") -> Response:
    service.route_request(session, actor, settings=settings, request_id=request_id, data=validate(
        RequestRoute, department_id=department_id if department_id.isdigit() else 0))
    return redirect(request, "/public-data/console", ok=("已分派至部门", "routed to the department"))


@router.post("/public-data/console/requests/{request_id}/answer")
def answer(request: Request, session: SessionDep, actor: FormUser, request_id: PathId, outcome: Text = "",
           answer: Text = "") -> Response:
    service.answer_request(session, actor, request_id=request_id,
                           data=validate(RequestAnswer, outcome=outcome, answer=answer))
    return redirect(request, "/public-data/console", ok=("已答复", "answered"))


@router.post("/public-data/console/surveys/{survey_id}")
async def respond_survey(request: Request, session: SessionDep, actor: FormUser, survey_id: PathId) -> Response:
    """A department's checklist: one ticked-or-not box and a note per item (``done_<n>``, ``note_<n>``)."""
    form = await request.form()
    items = service.get_survey(session, actor, survey_id=survey_id).items
    department_id = str(form.get("department_id", ""))
    answers = [SurveyAnswer(item=item, done=form.get(f"done_{n}") is not None, note=str(form.get(f"note_{n}", ""))[:2000])
               for n, item in enumerate(items)]
    service.respond_survey(session, actor, survey_id=survey_id, data=validate(
        SurveyResponseCreate, department_id=department_id if department_id.isdigit() else 0, answers=answers))
    return redirect(request, "/public-data/console", ok=("已填报资源调查", "survey filled"))
