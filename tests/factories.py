"""Test factories: members, data and products made through the service layer, as users would."""

from __future__ import annotations

import io
import itertools
import random
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from shujiao.catalog import service as catalog
from shujiao.catalog.schemas import ResourceCreate
from shujiao.commands import ANONYMOUS, SYSTEM, Actor
from shujiao.config import Settings
from shujiao.crypto import service as keys
from shujiao.db import unit_of_work
from shujiao.errors import DomainError
from shujiao.ledger import service as ledger
from shujiao.listing import service as listing
from shujiao.listing.schemas import Checklist, ProductCreate, Review
from shujiao.members import credit_code, service as members
from shujiao.members.schemas import MemberApply, UserCreate
from shujiao.usage.offer import Offer

_counter = itertools.count(1)
CSV_BYTES = "企业名称,行业,信用评分\n贵州数智科技有限公司,软件,812\n成都云联科技有限公司,制造,745\n".encode()
ALL_CHECKED = Checklist(legal_source=True, personal_information=True, security_grade=True,
                        intellectual_property=True, negative_list=True)


def random_credit_code(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6)) + "".join(
        rng.choice(credit_code.CHARSET) for _ in range(9))
    return body + credit_code.check_character(body)


def actor_of(session: Session, username: str) -> Actor:
    user = members.find_user_by_username(session, username)
    return Actor(kind="user", username=user.username, user_id=user.id, member_id=user.member.id,
                 member_kind=user.member.kind, member_status=user.member.status, role=user.role)


@dataclass
class MemberHandle:
    member_id: int
    username: str
    password: str
    actor: Actor


def make_operator(factory: sessionmaker[Session], username: str = "operator") -> MemberHandle:
    password = "operator-pass-123"
    with unit_of_work(factory) as session:
        user = members.create_operator(session, SYSTEM, username=username, password=password)
        member_id = user.member_id
    with unit_of_work(factory) as session:
        return MemberHandle(member_id, username, password, actor_of(session, username))


def make_member(
    factory: sessionmaker[Session], operator: MemberHandle | None, *, kind: str = "provider",
    approved: bool = True, deposit_fen: int = 0, name: str | None = None,
) -> MemberHandle:
    n = next(_counter)
    username = f"{kind}{n}"
    password = f"{kind}-pass-{n:04d}"
    with unit_of_work(factory) as session:
        member = members.apply(session, ANONYMOUS, application=MemberApply(
            name=name or f"测试{kind}公司{n}", credit_code=random_credit_code(), kind=kind,
            admin=UserCreate(username=username, password=password)))
        if approved:
            assert operator is not None
            members.approve(session, operator.actor, member_id=member.id)
            if deposit_fen:
                ledger.record_deposit(session, operator.actor, member_id=member.id, amount_fen=deposit_fen,
                                      reference=f"TEST-{n}")
        member_id = member.id
    with unit_of_work(factory) as session:
        return MemberHandle(member_id, username, password, actor_of(session, username))


def ensure_keys(factory: sessionmaker[Session], settings: Settings) -> None:
    """Make the exchange's keys (`shujiao keys init`) unless the master key is there already;
    uploads are sealed with it."""
    with unit_of_work(factory) as session:
        try:
            keys.master_key(session, settings)
            return
        except DomainError:
            pass
        keys.init_keys(session, SYSTEM, settings=settings)


def make_dataset(factory, storage, provider: MemberHandle, *, grade: str = "general", content: bytes = CSV_BYTES,
                 filename: str = "data.csv", settings: Settings):  # type: ignore[no-untyped-def]
    ensure_keys(factory, settings)
    with unit_of_work(factory) as session:
        resource = catalog.create_resource(session, provider.actor, data=ResourceCreate(
            name="企业信用数据", description="测试", domain="信用", grade=grade,
            sensitivity=2 if grade == "general" else None))
        dataset = catalog.add_dataset(session, provider.actor, settings=settings, storage=storage,
                                      resource_id=resource.id,
                                      filename=filename, stream=io.BytesIO(content),
                                      max_bytes=max(10**7, len(content) + 1))
        return resource.id, dataset.id


def make_listed_product(factory, storage, provider: MemberHandle, operator: MemberHandle, *,
                        settings: Settings, price_fen: int = 100_00,
                        title: str = "企业信用评分数据", content: bytes = CSV_BYTES, filename: str = "data.csv",
                        offer: Offer | None = None) -> int:  # type: ignore[no-untyped-def]
    resource_id, dataset_id = make_dataset(factory, storage, provider, settings=settings, content=content,
                                           filename=filename)
    with unit_of_work(factory) as session:
        product = listing.create_product(session, provider.actor, data=ProductCreate(
            resource_id=resource_id, dataset_id=dataset_id, title=title,
            description="贵州企业公共信用综合评分", price_fen=price_fen, offer=offer or Offer()))
        listing.submit_product(session, provider.actor, product_id=product.id)
        listing.review_product(session, operator.actor, product_id=product.id,
                               review=Review(decision="approve", checklist=ALL_CHECKED, reason="合规"))
        return product.id
