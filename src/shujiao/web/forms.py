"""Turning form text into service inputs, with errors people can read in Chinese and English."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shujiao.errors import InvalidInput
from shujiao.money import parse_yuan

M = TypeVar("M", bound=BaseModel)

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("名称", "name"),
    "credit_code": ("统一社会信用代码", "unified social credit code"),
    "kind": ("会员类型", "member type"),
    "admin.username": ("管理员用户名", "admin username"),
    "admin.password": ("管理员密码", "admin password"),
    "username": ("用户名", "username"),
    "password": ("密码", "password"),
    "description": ("描述", "description"),
    "domain": ("所属领域", "domain"),
    "grade": ("分类分级", "classification grade"),
    "sensitivity": ("敏感级别", "sensitivity level"),
    "resource_id": ("数据资源", "resource"),
    "dataset_id": ("数据集", "dataset"),
    "title": ("产品名称", "title"),
    "price_fen": ("价格", "price"),
    "reason": ("理由", "reason"),
    "decision": ("审核结论", "decision"),
    "subject_type": ("登记对象类型", "subject type"),
    "subject_id": ("登记对象", "subject"),
    "rights": ("申请登记的权利", "rights"),
    "source": ("数据来源", "source"),
    "source_note": ("来源说明", "source note"),
    "objector_name": ("异议人", "objector"),
    "contact": ("联系方式", "contact"),
    "resolution": ("处理意见", "resolution"),
    "to": ("受让方", "transferee"),
    "pledgee": ("质权人", "pledgee"),
    "contract_ref": ("质押合同编号", "pledge contract reference"),
    "secured_amount_fen": ("担保金额", "secured amount"),
    "basis": ("撤销依据", "basis"),
    "ruling_ref": ("裁决文号", "ruling reference"),
    "note": ("备注", "note"),
}


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    field = ".".join(str(part) for part in error.get("loc", ()))
    if kind == "missing":
        return "必填", "required"
    if kind == "string_too_short":
        return f"至少 {ctx.get('min_length')} 个字符", f"at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字符", f"at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        if field.endswith("username"):
            return "须为 3–64 位字母、数字或 _ . -", "3–64 letters, digits, _ . or -"
        return "格式不正确", "invalid format"
    if kind == "literal_error":
        return "请选择有效的选项", "choose one of the offered options"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "须为整数", "must be a whole number"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "超出允许范围", "out of the allowed range"
    if kind == "value_error":
        # Our validators write "English / 中文".
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        en, sep, zh = message.partition(" / ")
        return (zh, en) if sep else (message, message)
    return "输入无效", str(error.get("msg", "invalid"))


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error.get("loc", ()))
        zh, en = _describe(error)  # type: ignore[arg-type]
        label_zh, label_en = FIELD_LABELS.get(field, (field, field))
        if field:
            zh, en = f"{label_zh}：{zh}", f"{label_en}: {en}"
        out.append({"field": field, "zh": zh, "en": en})
    return out


def validate(model: type[M], **data: Any) -> M:
    """Build a service schema from form fields, or raise InvalidInput listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = field_errors(exc)
        raise InvalidInput("；".join(p["zh"] for p in problems), "; ".join(p["en"] for p in problems),
                           code="invalid_input", fields=problems) from exc


def yuan_to_fen(text: str, *, zh: str = "金额", en: str = "amount") -> int:
    try:
        return parse_yuan(text or "")
    except ValueError:
        raise InvalidInput(f"{zh}格式不正确：请填写以元为单位的金额，最多两位小数，如 1200 或 99.50",
                           f"invalid {en}: enter yuan with at most two decimals, e.g. 1200 or 99.50",
                           code="invalid_amount") from None


def whole_number(text: str, *, zh: str, en: str) -> int:
    cleaned = (text or "").strip()
    if not cleaned.isdigit() or len(cleaned) > 18:
        raise InvalidInput(f"{zh}须为正整数", f"{en} must be a positive whole number", code="invalid_number")
    return int(cleaned)


def checked(value: str | None) -> bool:
    """An HTML checkbox sends its value only when ticked."""
    return value is not None and value != ""
