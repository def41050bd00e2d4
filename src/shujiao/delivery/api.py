from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from shujiao.delivery import service
from shujiao.deps import CurrentActor, PathId, SessionDep, SettingsDep, StorageDep

router = APIRouter(prefix="/api/v1", tags=["delivery 交付"])


class DeliveryRead(BaseModel):
    download_url: str
    expires_at: dt.datetime


@router.get("/orders/{order_id}/delivery", response_model=DeliveryRead)
def delivery(session: SessionDep, actor: CurrentActor, settings: SettingsDep, order_id: PathId) -> DeliveryRead:
    issued = service.issue_link(session, actor, order_id=order_id,
                                ttl=dt.timedelta(seconds=settings.delivery.link_ttl_seconds))
    return DeliveryRead(download_url=f"/api/v1/downloads/{issued.token}", expires_at=issued.expires_at)


@router.get("/downloads/{token}", response_class=FileResponse)
def download(session: SessionDep, actor: CurrentActor, storage: StorageDep, request: Request, token: str) -> FileResponse:
    result = service.download(session, actor, token=token[:200], storage=storage,
                              client_address=request.client.host if request.client else "")
    return FileResponse(result.path, filename=result.filename, media_type="application/octet-stream",
                        headers={"X-Content-SHA256": result.sha256, "Cache-Control": "no-store"})
