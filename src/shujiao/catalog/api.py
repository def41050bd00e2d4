from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from shujiao.catalog import service
from shujiao.catalog.schemas import DatasetRead, ResourceCreate, ResourceRead
from shujiao.deps import CurrentActor, PathId, SessionDep, SettingsDep, StorageDep

router = APIRouter(prefix="/api/v1", tags=["catalog 数据资源目录"])


@router.post("/resources", status_code=201, response_model=ResourceRead)
def create_resource(session: SessionDep, actor: CurrentActor, data: ResourceCreate) -> object:
    return service.create_resource(session, actor, data=data)


@router.get("/resources", response_model=list[ResourceRead])
def list_resources(session: SessionDep, actor: CurrentActor) -> object:
    return service.list_resources(session, actor)


@router.get("/resources/{resource_id}", response_model=ResourceRead)
def get_resource(session: SessionDep, actor: CurrentActor, resource_id: PathId) -> object:
    return service.get_resource(session, actor, resource_id=resource_id)


@router.post("/resources/{resource_id}/datasets", status_code=201, response_model=DatasetRead)
def upload_dataset(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, storage: StorageDep,
    resource_id: PathId, file: Annotated[UploadFile, File()],
) -> DatasetRead:
    dataset = service.add_dataset(
        session, actor, settings=settings, storage=storage, resource_id=resource_id, filename=file.filename or "",
        stream=file.file, max_bytes=settings.catalog.max_upload_bytes,
    )
    return DatasetRead.of(dataset)


@router.get("/resources/{resource_id}/datasets", response_model=list[DatasetRead])
def list_datasets(session: SessionDep, actor: CurrentActor, resource_id: PathId) -> list[DatasetRead]:
    return [DatasetRead.of(d) for d in service.list_datasets(session, actor, resource_id=resource_id)]


@router.get("/datasets/{dataset_id}", response_model=DatasetRead)
def get_dataset(session: SessionDep, actor: CurrentActor, dataset_id: PathId) -> DatasetRead:
    return DatasetRead.of(service.get_dataset(session, actor, dataset_id=dataset_id))
