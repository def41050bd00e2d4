"""The member's data resources (数据资源) and dataset uploads, as pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from shujiao.catalog import service
from shujiao.catalog.schemas import ResourceCreate
from shujiao.deps import PathId, SessionDep, SettingsDep, StorageDep
from shujiao.web.deps import FormUser, PageUser
from shujiao.web.forms import validate
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/dashboard/resources")
def my_resources(request: Request, session: SessionDep, settings: SettingsDep, actor: PageUser) -> Response:
    resources = service.list_resources(session, actor)
    datasets = {r.id: service.list_datasets(session, actor, resource_id=r.id) for r in resources}
    return render(request, "catalog/resources.html", resources=resources, datasets=datasets,
                  max_upload_bytes=settings.catalog.max_upload_bytes)


@router.post("/dashboard/resources")
def create_resource(
    request: Request, session: SessionDep, actor: FormUser,
    name: Annotated[str, Form(max_length=400)] = "", description: Annotated[str, Form(max_length=20_000)] = "",
    domain: Annotated[str, Form(max_length=128)] = "", grade: Annotated[str, Form(max_length=32)] = "",
    sensitivity: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    # Only general data has a sensitivity level; the form always sends the field.
    level = int(sensitivity) if sensitivity.isdigit() and grade == "general" else None
    data = validate(ResourceCreate, name=name, description=description, domain=domain, grade=grade,
                    sensitivity=level)
    resource = service.create_resource(session, actor, data=data)
    return redirect(request, "/dashboard/resources",
                    ok=(f"已登记数据资源：{resource.name}", f"resource registered: {resource.name}"))


@router.post("/dashboard/resources/{resource_id}/datasets")
def upload_dataset(
    request: Request, session: SessionDep, settings: SettingsDep, storage: StorageDep, actor: FormUser,
    resource_id: PathId, file: Annotated[UploadFile, File()],
) -> Response:
    dataset = service.add_dataset(session, actor, settings=settings, storage=storage, resource_id=resource_id,
                                  filename=file.filename or "", stream=file.file,
                                  max_bytes=settings.catalog.max_upload_bytes)
    return redirect(request, "/dashboard/resources",
                    ok=(f"已上传 {dataset.filename}：{dataset.row_count} 行",
                        f"uploaded {dataset.filename}: {dataset.row_count} rows"))
