"""The offer and the contract as W3C ODRL 2.2 policies (JSON-LD, compact form with the ODRL context),
and the same policy told in Chinese (``describe_zh``) for the two parties.

- ``offer_policy``: an ``Offer`` (assigner = the provider) for a product: what any buyer would get.
  Its window is relative (``elapsedTime`` ≤ the term, as an ``xsd:duration``) because it starts
  only at payment.
- ``agreement_policy``: the ``Agreement`` made at payment (assigner = provider, assignee = buyer),
  the window made concrete (``dateTime`` ≥ start and ≤ end, ``xsd:dateTime``), the buyer's declared
  purpose, the download count.

Permissions: use, read, aggregate (+ distribute only when the offer allows it), each constrained by
the window, the purpose, the delivery channels and the download count, each carrying the duties
(``attribute``; ``delete`` once the window has ended). Without distribution rights, ``distribute``
and ``transfer`` are prohibitions. Identifiers are URNs (``urn:shujiao:…``); purposes are the keys
of :data:`shujiao.usage.offer.PURPOSES`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shujiao.usage.offer import PURPOSES, Offer

CONTEXT = "http://www.w3.org/ns/odrl.jsonld"
XSD = "http://www.w3.org/2001/XMLSchema#"  # full IRIs: the value types need no prefix from the context
PROFILE = "urn:shujiao:odrl-profile:1"
MODE_LABELS = {"file": ("文件下载", "file download"), "api": ("API 接口调用", "API calls"),
               "delta_sharing": ("Delta Sharing 共享读取", "Delta Sharing reads"),
               "sandbox": ("数据沙箱（可用不可见）", "data sandbox (compute to data)")}
PLAN_LABELS = {"one_off": "一次性买断", "subscription": "按期订阅", "per_call": "按次计费", "tiered": "阶梯计费"}


def member_uri(member_id: int) -> str:
    return f"urn:shujiao:member:{member_id}"


def product_uri(product_id: int) -> str:
    return f"urn:shujiao:product:{product_id}"


def _date_time(value: dt.datetime) -> dict[str, str]:
    return {"@value": value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"), "@type": XSD + "dateTime"}


def _constraint(left: str, operator: str, right: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": operator, "rightOperand": right}


def _purpose_constraint(offer: Offer, purpose: str) -> dict[str, Any]:
    if purpose:
        return _constraint("purpose", "eq", purpose)
    return _constraint("purpose", "isAnyOf", list(offer.terms.purposes or PURPOSES))


def _rules(offer: Offer, target: str, window: list[dict[str, Any]], expiry: list[dict[str, Any]],
           purpose: str, max_downloads: int | None) -> dict[str, Any]:
    terms = offer.terms
    constraints = [*window, _purpose_constraint(offer, purpose),
                   _constraint("deliveryChannel", "isAnyOf" if len(terms.delivery_modes) > 1 else "eq",
                               terms.delivery_modes if len(terms.delivery_modes) > 1 else terms.delivery_modes[0])]
    if max_downloads is not None:
        constraints.append(_constraint("count", "lteq", max_downloads))
    duties: list[dict[str, Any]] = []
    if terms.attribution:
        duties.append({"action": "attribute"})
    if terms.delete_after_expiry:
        duties.append({"action": "delete", "constraint": expiry})
    actions = ["use", "read", "aggregate"] + (["distribute"] if terms.allow_distribute else [])
    permission = []
    for action in actions:
        rule: dict[str, Any] = {"target": target, "action": action, "constraint": constraints}
        if duties:
            rule["duty"] = duties
        permission.append(rule)
    rules: dict[str, Any] = {"permission": permission}
    if not terms.allow_distribute:
        rules["prohibition"] = [{"target": target, "action": action} for action in ("distribute", "transfer")]
    return rules


def offer_policy(*, product_id: int, version: int, provider_member_id: int, offer: Offer) -> dict[str, Any]:
    """The product's ``odrl:Offer``."""
    term = offer.terms.term_days
    window = [_constraint("elapsedTime", "lteq", {"@value": f"P{term}D", "@type": XSD + "duration"})] if term else []
    expiry = [_constraint("elapsedTime", "gt", {"@value": f"P{term}D", "@type": XSD + "duration"})] if term else []
    return {"@context": CONTEXT, "@type": "Offer", "uid": f"urn:shujiao:offer:{product_id}:v{version}",
            "profile": PROFILE, "assigner": member_uri(provider_member_id),
            **_rules(offer, product_uri(product_id), window, expiry, "", offer.terms.max_downloads)}


def agreement_policy(*, order_id: int, product_id: int, provider_member_id: int, buyer_member_id: int,
                     offer: Offer, purpose: str, starts_at: dt.datetime, ends_at: dt.datetime | None) -> dict[str, Any]:
    """The ``odrl:Agreement`` of a paid order: the offer with the window made concrete."""
    window = [_constraint("dateTime", "gteq", _date_time(starts_at))]
    expiry = []
    if ends_at is not None:
        window.append(_constraint("dateTime", "lteq", _date_time(ends_at)))
        expiry = [_constraint("dateTime", "gt", _date_time(ends_at))]
    return {"@context": CONTEXT, "@type": "Agreement", "uid": f"urn:shujiao:agreement:{order_id}",
            "profile": PROFILE, "assigner": member_uri(provider_member_id), "assignee": member_uri(buyer_member_id),
            **_rules(offer, product_uri(product_id), window, expiry, purpose, offer.terms.max_downloads)}


def _fen(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d} 元"


def _china_date(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M (北京时间)")


def describe_zh(offer: Offer, *, price_fen: int | None = None, purpose: str = "",
                starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None) -> list[str]:
    """The policy in Chinese, one clause a line, as both sides see it (offer: no dates; contract: dates)."""
    plan, terms = offer.plan, offer.terms
    lines = []
    price = f"，价格 {_fen(price_fen)}" if price_fen is not None else ""
    if plan.kind == "subscription":
        lines.append(f"计费方式：{PLAN_LABELS[plan.kind]}，每 {plan.period_days} 天一期{price}/期，到期可续订。")
    elif plan.kind == "per_call":
        lines.append(f"计费方式：{PLAN_LABELS[plan.kind]}，每千次调用 {_fen(plan.price_per_1000_calls_fen or 0)}，"
                     f"每 {plan.period_days} 天结算一次。")
    elif plan.kind == "tiered":
        tiers = "；".join(f"{'至 ' + str(t.up_to_calls) + ' 次' if t.up_to_calls else '其后'}每千次 "
                          f"{_fen(t.price_per_1000_calls_fen)}" for t in plan.tiers)
        lines.append(f"计费方式：{PLAN_LABELS[plan.kind]}（{tiers}），每 {plan.period_days} 天结算一次。")
    else:
        lines.append(f"计费方式：{PLAN_LABELS[plan.kind]}{price}。")
    if plan.quota_calls_per_period:
        lines.append(f"调用配额：每期最多 {plan.quota_calls_per_period} 次。")
    lines.append("交付方式：" + "、".join(MODE_LABELS[m][0] for m in terms.delivery_modes) + "。")
    if starts_at is not None:
        end = f"至 {_china_date(ends_at)}" if ends_at else "起，不设截止"
        lines.append(f"使用期限：自 {_china_date(starts_at)} {end}。")
    elif terms.term_days:
        lines.append(f"使用期限：自支付之时起 {terms.term_days} 天。")
    else:
        lines.append("使用期限：不设截止。")
    if terms.max_downloads:
        lines.append(f"下载次数：最多 {terms.max_downloads} 次。")
    if purpose:
        lines.append(f"使用用途：仅限{PURPOSES[purpose][0]}。")
    elif terms.purposes:
        lines.append("使用用途：限于" + "、".join(PURPOSES[p][0] for p in terms.purposes) + "。")
    else:
        lines.append("使用用途：限于交易所用途目录内的用途。")
    lines.append("允许：使用、读取、汇总分析" + ("、对外分发。" if terms.allow_distribute else "。"))
    if not terms.allow_distribute:
        lines.append("禁止：对外分发、转让或转授权。")
    if terms.attribution:
        lines.append("义务：使用成果须注明数据来源。")
    if terms.delete_after_expiry:
        lines.append("义务：使用期限届满后删除所获数据。")
    return lines
