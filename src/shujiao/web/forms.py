"""Turning form text into service inputs, with errors people can read in Chinese and English."""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

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


Location = tuple[int | str, ...]
LabelOf = Callable[[Location], "tuple[str, str] | None"]


def _constraints(model: type[BaseModel], loc: Location) -> list[Any]:
    """The constraints (annotated_types Gt, Le, ...) of the value at ``loc`` in ``model``: through
    nested models, list items, dict values, Optional and a discriminated union (whose tag is in loc)."""
    annotation: Any = model
    metadata: list[Any] = []
    rest = list(loc)
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        elif origin in (Union, types.UnionType):
            options = [option for option in get_args(annotation) if option is not type(None)]
            if len(options) == 1:
                annotation = options[0]
                continue
            if not rest:
                return []
            tag = rest.pop(0)
            annotation = next(option for option in options if any(
                get_origin(field.annotation) is Literal and field.default == tag
                for field in option.model_fields.values()))
            metadata = []
        elif not rest:
            return metadata
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields[str(rest.pop(0))]
            annotation, metadata = field.annotation, list(field.metadata)
        elif origin in (list, tuple, set, frozenset, dict):
            rest.pop(0)
            annotation, metadata = get_args(annotation)[-1], []
        else:
            return []


def _range(model: type[BaseModel] | None, loc: Location) -> tuple[str, str] | None:
    """"须介于 0 和 1 之间" from the field's declared bounds (an error names only the bound it broke)."""
    try:
        constraints = _constraints(model, loc) if model is not None else []
    except (KeyError, StopIteration, AttributeError, TypeError):
        return None
    lower = upper = None
    for c in constraints:
        if isinstance(c, (annotated_types.Gt, annotated_types.Ge)):
            lower = (c.gt, False) if isinstance(c, annotated_types.Gt) else (c.ge, True)
        elif isinstance(c, (annotated_types.Lt, annotated_types.Le)):
            upper = (c.lt, False) if isinstance(c, annotated_types.Lt) else (c.le, True)
    if lower and upper:
        excluded = [str(bound) for bound, inclusive in (lower, upper) if not inclusive]
        zh, en = f"须介于 {lower[0]} 和 {upper[0]} 之间", f"must be between {lower[0]} and {upper[0]}"
        if excluded:
            zh, en = zh + f"（不含 {' 和 '.join(excluded)}）", en + f" ({' and '.join(excluded)} excluded)"
        return zh, en
    if lower:
        return (f"须不小于 {lower[0]}", f"must be at least {lower[0]}") if lower[1] else \
            (f"须大于 {lower[0]}", f"must be greater than {lower[0]}")
    if upper:
        return (f"须不大于 {upper[0]}", f"must be at most {upper[0]}") if upper[1] else \
            (f"须小于 {upper[0]}", f"must be less than {upper[0]}")
    return None


def _describe(error: dict[str, Any], model: type[BaseModel] | None = None) -> tuple[str, str]:
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
        return _range(model, tuple(error.get("loc", ()))) or ("超出允许范围", "out of the allowed range")
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type", "finite_number"):
        return "须为数字", "must be a number"
    if kind == "decimal_max_places":
        return f"最多 {ctx.get('decimal_places')} 位小数", f"at most {ctx.get('decimal_places')} decimal places"
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return "数字位数过多", "too many digits"
    if kind == "too_short":
        return f"至少填写 {ctx.get('min_length')} 项", f"give at least {ctx.get('min_length')}"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 项", f"at most {ctx.get('max_length')} entries"
    if kind == "value_error":
        # Our validators write "English / 中文".
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        en, sep, zh = message.partition(" / ")
        return (zh, en) if sep else (message, message)
    return "输入无效", str(error.get("msg", "invalid"))


def field_errors(exc: ValidationError, *, model: type[BaseModel] | None = None,
                 label_of: LabelOf | None = None) -> list[dict[str, str]]:
    """One readable line per problem. ``label_of`` names a field by its location (a domain's own
    labels); without it, or when it returns None, FIELD_LABELS or the path itself is used."""
    out = []
    for error in exc.errors():
        loc: Sequence[int | str] = error.get("loc", ())
        field = ".".join(str(part) for part in loc)
        zh, en = _describe(error, model)  # type: ignore[arg-type]
        label = label_of(tuple(loc)) if label_of is not None else None
        label_zh, label_en = label or FIELD_LABELS.get(field, (field, field))
        if label_zh:
            zh, en = f"{label_zh}：{zh}", f"{label_en}: {en}"
        out.append({"field": field, "zh": zh, "en": en})
    return out


def validate(model: type[M], /, label_of: LabelOf | None = None, **data: Any) -> M:
    """Build a service schema from form fields, or raise InvalidInput listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = field_errors(exc, model=model, label_of=label_of)
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
