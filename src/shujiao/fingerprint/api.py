"""Fingerprinted copies (数据指纹) as JSON under /api/v1/fingerprint: the provider's policy per
product, and detection of a leaked copy (provider of the product or operator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from shujiao.deps import CurrentActor, PathId, SessionDep, SettingsDep
from shujiao.errors import InvalidInput
from shujiao.fingerprint import service
from shujiao.fingerprint.schemas import DetectionRead, PolicyIn, PolicyRead

router = APIRouter(prefix="/api/v1/fingerprint", tags=["fingerprint 数据指纹"])

MAX_LEAK_BYTES = 512 * 1024 * 1024


@router.get("/products/{product_id}/policy", response_model=PolicyRead)
def get_policy(session: SessionDep, actor: CurrentActor, product_id: PathId) -> PolicyRead:
    """The product's fingerprint policy, or the default the exchange applies until one is saved."""
    return service.get_policy(session, actor, product_id=product_id)


@router.put("/products/{product_id}/policy", response_model=PolicyRead)
def set_policy(session: SessionDep, actor: CurrentActor, product_id: PathId, data: PolicyIn) -> PolicyRead:
    """The provider chooses: values may change within a tolerance, or none may (keyed row subsets)."""
    return service.set_policy(session, actor, product_id=product_id, data=data)


@router.post("/products/{product_id}/detect", response_model=DetectionRead)
def detect(session: SessionDep, actor: CurrentActor, settings: SettingsDep, product_id: PathId,
                 file: Annotated[UploadFile, File()],
                 threshold: Annotated[float | None, Query(gt=0, lt=1)] = None) -> DetectionRead:
    """Name the buyer whose copy a leaked file (CSV or Parquet) is, or nobody."""
    content = file.file.read(MAX_LEAK_BYTES + 1)  # a sync route: FastAPI runs it in a thread
    if len(content) > MAX_LEAK_BYTES:
        raise InvalidInput("文件过大", "the file is too large", code="too_large")
    name = (file.filename or "").lower()
    file_format = "parquet" if name.endswith((".parquet", ".pq")) else "csv"
    return service.detect(session, actor, settings=settings, product_id=product_id, content=content,
                          file_format=file_format, threshold=threshold)
