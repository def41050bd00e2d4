"""The policies are ODRL 2.2: every term they use is defined (and not deprecated) in the ODRL 2.2
ontology kept in /work/shared/conformance/ODRL22.ttl, in the role it is used in (an action is an
odrl:Action, a left operand an odrl:LeftOperand...), and the policy-level rules of the ODRL
Information Model hold (an Offer names its assigner; an Agreement its assigner and assignee; every
rule one action)."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shujiao.usage import odrl
from shujiao.usage.offer import PURPOSES, Offer, PricingPlan, UsageTerms

ONTOLOGY = Path("/work/shared/conformance/ODRL22.ttl")
JSONLD_KEYWORDS = {"@context", "@type", "@value", "@id"}


@cache
def ontology() -> dict[str, dict[str, Any]]:
    """``term -> {"types": {...}, "superclasses": {...}, "deprecated": bool}`` for every ``odrl:`` subject."""
    terms: dict[str, dict[str, Any]] = {}
    blocks = re.split(r"\n(?=(?::|odrl:)\w+\s*\n)", ONTOLOGY.read_text(encoding="utf-8"))
    for block in blocks:
        head = re.match(r"(?::|odrl:)(\w+)\s*\n", block)
        if not head:
            continue
        types = re.search(r"^\s+a\s+([^;]+);", block, re.MULTILINE)
        supers = re.findall(r"rdfs:subClassOf\s+(?::|odrl:)(\w+)", block)
        terms[head.group(1)] = {
            "types": {t.strip().removeprefix(":").removeprefix("odrl:") for t in types.group(1).split(",")} if types else set(),
            "superclasses": set(supers),
            "deprecated": "owl:deprecated true" in block,
        }
    return terms


def _defined(term: str, role: str) -> None:
    entry = ontology().get(term)
    assert entry is not None, f"odrl:{term} is not in ODRL 2.2"
    assert not entry["deprecated"], f"odrl:{term} is deprecated"
    assert role in entry["types"], f"odrl:{term} is not an odrl:{role} / rdf:{role}: {entry['types']}"


def check_policy(policy: dict[str, Any], kind: str) -> None:
    assert policy["@context"] == "http://www.w3.org/ns/odrl.jsonld"
    assert policy["@type"] == kind and "Policy" in ontology()[kind]["superclasses"]
    assert policy["uid"].startswith("urn:shujiao:")
    assert policy["assigner"].startswith("urn:shujiao:member:")
    if kind == "Agreement":
        assert policy["assignee"].startswith("urn:shujiao:member:") and policy["assignee"] != policy["assigner"]
    json.loads(json.dumps(policy))  # plain JSON

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in JSONLD_KEYWORDS:
                continue
            _defined(key, "rdf:Property")
            if key == "action":
                _defined(value, "Action")
            elif key == "leftOperand":
                _defined(value, "LeftOperand")
            elif key == "operator":
                _defined(value, "Operator")
            elif key == "rightOperand" and isinstance(value, dict):
                assert set(value) == {"@value", "@type"} and value["@type"].startswith(odrl.XSD)
                if value["@type"].endswith("dateTime"):
                    assert dt.datetime.fromisoformat(value["@value"].replace("Z", "+00:00")).tzinfo is not None
            if key in ("permission", "prohibition", "duty"):
                assert all(isinstance(rule.get("action"), str) for rule in value)  # one action per rule
            if key == "constraint":
                assert all(set(c) == {"leftOperand", "operator", "rightOperand"} for c in value)
            walk(value)

    walk({k: v for k, v in policy.items() if k not in ("@context", "@type", "uid", "assigner", "assignee")})
    for key in ("uid", "assigner", "assignee", "profile"):
        if key in policy:
            _defined(key, "rdf:Property")


def _actions(policy: dict[str, Any], rules: str) -> set[str]:
    return {rule["action"] for rule in policy.get(rules, [])}


def _constraints(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return policy["permission"][0]["constraint"]


OFFERS = {
    "default": Offer(),
    "restricted": Offer(terms=UsageTerms(delivery_modes=["file", "delta_sharing"], term_days=30, max_downloads=3,
                                         purposes=["research", "risk_control"])),
    "distributable": Offer(terms=UsageTerms(allow_distribute=True, attribution=False, delete_after_expiry=False,
                                            term_days=None)),
    "subscription": Offer(plan=PricingPlan(kind="subscription", period_days=30), terms=UsageTerms(delivery_modes=["api"])),
}


@pytest.mark.parametrize("name", list(OFFERS))
def test_offers_and_agreements_use_odrl_22_terms_in_their_roles(name):
    offer = OFFERS[name]
    check_policy(odrl.offer_policy(product_id=7, version=2, provider_member_id=3, offer=offer), "Offer")
    start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    check_policy(odrl.agreement_policy(order_id=11, product_id=7, provider_member_id=3, buyer_member_id=4, offer=offer,
                                       purpose="research", starts_at=start, ends_at=start + dt.timedelta(days=30)),
                 "Agreement")


def test_the_agreement_makes_the_window_concrete_and_names_the_purpose():
    offer = OFFERS["restricted"]
    start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    agreement = odrl.agreement_policy(order_id=11, product_id=7, provider_member_id=3, buyer_member_id=4, offer=offer,
                                      purpose="research", starts_at=start, ends_at=start + dt.timedelta(days=30))
    constraints = _constraints(agreement)
    window = [(c["operator"], c["rightOperand"]["@value"]) for c in constraints if c["leftOperand"] == "dateTime"]
    assert window == [("gteq", "2026-11-23T08:00:00Z"), ("lteq", "2026-12-23T08:00:00Z")]
    assert {"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"} in constraints
    assert {"leftOperand": "count", "operator": "lteq", "rightOperand": 3} in constraints
    assert {"leftOperand": "deliveryChannel", "operator": "isAnyOf", "rightOperand": ["file", "delta_sharing"]} in constraints
    assert _actions(agreement, "permission") == {"use", "read", "aggregate"}
    assert _actions(agreement, "prohibition") == {"distribute", "transfer"}
    duties = agreement["permission"][0]["duty"]
    assert [d["action"] for d in duties] == ["attribute", "delete"]
    assert duties[1]["constraint"][0]["rightOperand"]["@value"] == "2026-12-23T08:00:00Z"


def test_the_offer_window_is_relative_and_distribution_only_where_allowed():
    offer_policy = odrl.offer_policy(product_id=7, version=2, provider_member_id=3, offer=OFFERS["restricted"])
    assert {"leftOperand": "elapsedTime", "operator": "lteq",
            "rightOperand": {"@value": "P30D", "@type": odrl.XSD + "duration"}} in _constraints(offer_policy)
    assert {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research", "risk_control"]} in \
        _constraints(offer_policy)
    free = odrl.offer_policy(product_id=7, version=2, provider_member_id=3, offer=OFFERS["distributable"])
    assert "distribute" in _actions(free, "permission") and "prohibition" not in free
    assert "duty" not in free["permission"][0]
    default = odrl.offer_policy(product_id=7, version=1, provider_member_id=3, offer=Offer())
    assert {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": list(PURPOSES)} in _constraints(default)


def test_the_chinese_rendering_says_every_clause():
    start = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)
    lines = odrl.describe_zh(OFFERS["restricted"], price_fen=123_45, purpose="research", starts_at=start,
                             ends_at=start + dt.timedelta(days=30))
    text = "\n".join(lines)
    for clause in ("一次性买断", "123.45 元", "文件下载", "Delta Sharing", "2026-11-23 08:00", "2026-12-23 08:00",
                   "最多 3 次", "仅限科学研究", "禁止：对外分发", "注明数据来源", "删除"):
        assert clause in text, clause
    subscription = "\n".join(odrl.describe_zh(OFFERS["subscription"], price_fen=10_00))
    assert "按期订阅" in subscription and "每 30 天一期" in subscription and "API 接口调用" in subscription


def test_the_ontology_parser_sees_the_vocabulary():
    terms = ontology()
    assert len(terms) > 150
    assert "Action" in terms["use"]["types"] and "LeftOperand" in terms["dateTime"]["types"]
    assert terms["Agreement"]["superclasses"] == {"Policy"}
