from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from urllib.parse import quote

from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from shujiao.consent import service as consent
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


def _content_disposition(filename: str) -> str:
    """As Starlette's FileResponse writes it: RFC 6266, with RFC 5987 encoding for non-ASCII names."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


@router.get("/downloads/{token}", response_class=StreamingResponse)
def download(session: SessionDep, actor: CurrentActor, settings: SettingsDep, storage: StorageDep,
             request: Request, token: str) -> StreamingResponse:
    try:
        result = service.download(session, actor, token=token[:200], settings=settings, storage=storage,
                                  client_address=request.client.host if request.client else "")
    except consent.ConsentMissing as refused:
        # The refusal is recorded on its own: nothing of the refused download (its count) commits.
        session.rollback()
        consent.record_refusal(session, actor, refused=refused, channel="download")
        return JSONResponse(refused.body(), status_code=refused.status_code)  # type: ignore[return-value]
    # Content-Length lets a client tell a stream cut short (damage found past the first chunk).
    return StreamingResponse(result.chunks, media_type="application/octet-stream", headers={
        "Content-Disposition": _content_disposition(result.filename), "Content-Length": str(result.size_bytes),
        "X-Content-SHA256": result.sha256, "Cache-Control": "no-store"})
