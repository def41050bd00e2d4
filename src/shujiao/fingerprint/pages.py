"""Fingerprinted copies (数据指纹) as pages: a product's policy (the provider chooses), the copies
served, and a form to check a leaked file (provider of the product or operator)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from shujiao.deps import PathId, SessionDep, SettingsDep
from shujiao.errors import InvalidInput
from shujiao.fingerprint import service
from shujiao.fingerprint.api import MAX_LEAK_BYTES
from shujiao.fingerprint.schemas import MODES, PolicyIn
from shujiao.web.deps import FormUser, PageUser
from shujiao.web.forms import validate
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]


def _url(product_id: int) -> str:
    return f"/dashboard/fingerprint/products/{product_id}"


def _page(request: Request, session: Any, actor: Any, product_id: int, detection: Any = None,
          leaked_name: str = "") -> Response:
    policy = service.get_policy(session, actor, product_id=product_id)
    columns_text = "\n".join(f"{c.name} {c.decimals} {c.max_abs_change}" for c in policy.columns)
    return render(request, "fingerprint/product.html", policy=policy, modes=MODES, columns_text=columns_text,
                  copies=service.copies_of(session, actor, product_id=product_id),
                  may_edit=actor.member_id is not None and not actor.is_operator, detection=detection,
                  leaked_name=leaked_name)


@router.get("/dashboard/fingerprint/products/{product_id}")
def product_page(request: Request, session: SessionDep, actor: PageUser, product_id: PathId) -> Response:
    return _page(request, session, actor, product_id)


def _columns(text: str) -> list[dict[str, Any]]:
    """One column a line: "名称 小数位 最大改动", e.g. "金额 2 0.01"."""
    columns = []
    for line in text.splitlines():
        parts = re.split(r"[\s,，]+", line.strip())
        if parts == [""]:
            continue
        if len(parts) != 3:
            raise InvalidInput(f"无法理解这一行：{line.strip()}（应为“字段 小数位 最大改动”）",
                               f"cannot read {line.strip()!r}; write 'column decimals max_change'", code="invalid_input")
        decimals: int | str = int(parts[1]) if parts[1].isdigit() and len(parts[1]) < 4 else parts[1]
        columns.append({"name": parts[0], "decimals": decimals, "max_abs_change": parts[2]})
    return columns


@router.post("/dashboard/fingerprint/products/{product_id}/policy")
def save_policy(request: Request, session: SessionDep, actor: FormUser, product_id: PathId,
                mode: Annotated[str, Form(max_length=16)], key_columns: Text, columns: Text = "",
                gamma: Annotated[str, Form(max_length=8)] = "10") -> Response:
    keys = [k for k in re.split(r"[\s,，]+", key_columns.strip()) if k]
    data = validate(PolicyIn, mode=mode, key_columns=keys, columns=_columns(columns),
                    gamma=int(gamma) if gamma.strip().isdigit() else gamma)
    service.set_policy(session, actor, product_id=product_id, data=data)
    return redirect(request, _url(product_id), ok=("指纹策略已保存", "fingerprint policy saved"))


@router.post("/dashboard/fingerprint/products/{product_id}/detect")
def detect(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
                 product_id: PathId, file: Annotated[UploadFile, File()]) -> Response:
    content = file.file.read(MAX_LEAK_BYTES + 1)  # a sync route: FastAPI runs it in a thread
    if len(content) > MAX_LEAK_BYTES:
        raise InvalidInput("文件过大", "the file is too large", code="too_large")
    file_format = "parquet" if (file.filename or "").lower().endswith((".parquet", ".pq")) else "csv"
    result = service.detect(session, actor, settings=settings, product_id=product_id, content=content,
                            file_format=file_format)
    return _page(request, session, actor, product_id, detection=result, leaked_name=file.filename or "")
