"""The buyer's Delta Sharing profile from the order page (a form, so it carries a CSRF token)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shujiao.deps import PathId, SessionDep, SettingsDep
from shujiao.sharing import service
from shujiao.sharing.api import endpoint_of, profile_response
from shujiao.web.deps import FormUser

router = APIRouter(include_in_schema=False)


@router.post("/orders/{order_id}/delta-sharing-profile")
def download_profile(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
                     order_id: PathId) -> Response:
    issued = service.issue_profile(session, actor, order_id=order_id, settings=settings)
    return profile_response(issued, endpoint=endpoint_of(request, settings))
