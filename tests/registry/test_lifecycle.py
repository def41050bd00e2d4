"""The life of a registration through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import json

import pytest
from sqlalchemy import select, update

from shujiao.commands import ANONYMOUS, SYSTEM
from shujiao.crypto import service as crypto
from shujiao.crypto.hashing import hash_named
from shujiao.crypto.signing import load_verifier
from shujiao.db import unit_of_work, utcnow
from shujiao.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shujiao.listing import service as listing
from shujiao.listing.models import Product
from shujiao.listing.schemas import ProductCreate, Review
from shujiao.registry import numbers, service
from shujiao.registry.models import Application, Certificate
from shujiao.registry.schemas import (
    Answer, ApplicationCreate, ApplicationDecision, CertificateChange, Counterparty, ObjectionCreate,
    ObjectionResolution, PledgeRequest, Revocation, TransferRequest,
)
from shujiao.tlog import service as tlog
from tests.factories import ALL_CHECKED, make_dataset, make_member, make_operator

APPROVE = ApplicationDecision(decision="approve")


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    resource_id, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    return operator, provider, resource_id, dataset_id


def apply_for(factory, settings, member, dataset_id, *, rights=("holding",), submit=True):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        application = service.create_application(session, member.actor, settings=settings, data=ApplicationCreate(
            subject_type="dataset", subject_id=dataset_id, title="企业信用评分数据", rights=list(rights),
            source="self_collected"))
        if submit:
            service.submit_application(session, member.actor, settings=settings, application_id=application.id)
        return application.id


def end_publicity(factory, application_id):  # type: ignore[no-untyped-def]
    """The comment period passes (the clock moves on)."""
    with unit_of_work(factory) as session:
        session.execute(update(Application).where(Application.id == application_id)
                        .values(publicity_ends_at=utcnow()))


def approve(factory, settings, operator, application_id, **decision):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        service.decide_application(session, operator.actor, settings=settings, application_id=application_id,
                                   decision=ApplicationDecision(decision="approve", **decision))
        return service.certificates_of_application(session, application_id=application_id)


def registered(factory, settings, operator, member, dataset_id, **kwargs):  # type: ignore[no-untyped-def]
    application_id = apply_for(factory, settings, member, dataset_id, **kwargs)
    end_publicity(factory, application_id)
    return approve(factory, settings, operator, application_id)


def test_an_application_waits_for_its_comment_period_then_issues_signed_logged_certificates(
        session_factory, storage, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, _, dataset_id = world
    application_id = apply_for(session_factory, settings, provider, dataset_id, rights=("holding", "operating"))
    with unit_of_work(session_factory) as session:
        service.add_document(session, provider.actor, settings=settings, storage=storage,
                             application_id=application_id, filename="来源证明.pdf", stream=io.BytesIO(b"%PDF-1.4 x"))
    with pytest.raises(Conflict) as refused, unit_of_work(session_factory) as session:
        service.decide_application(session, operator.actor, settings=settings, application_id=application_id,
                                   decision=APPROVE)
    assert refused.value.code == "publicity_not_over"

    end_publicity(session_factory, application_id)
    issued = approve(session_factory, settings, operator, application_id)
    assert len(issued) == 2
    with unit_of_work(session_factory) as session:
        certificates = [service.get_certificate(session, number=n) for n in issued]
        assert {c.right_type for c in certificates} == {"holding", "operating"}
        for certificate in certificates:
            parsed = numbers.parse(certificate.number)
            assert parsed is not None and parsed.right_type == certificate.right_type
            assert parsed.exchange == settings.registry.exchange_code
            [statement] = service.history(session, certificate_id=certificate.id)
            body = json.loads(statement.body)
            assert body["event"] == "issued" and body["holder"]["member_id"] == provider.member_id
            assert body["content_sha256"] == certificate.content_sha256
            key = next(k for k in crypto.public_keys(session) if k.id == statement.key_id)
            assert key.algorithm == "sm2"  # the gm suite signs with SM2
            assert load_verifier(key.algorithm, key.public_pem).verify(statement.signature, statement.body.encode())
            assert not load_verifier(key.algorithm, key.public_pem).verify(statement.signature,
                                                                           statement.body.encode() + b" ")
            [index] = tlog.record_indexes(session, subject_type="certificate", subject_id=certificate.number)
            record = json.loads(tlog.record_at(session, index=index).change_json)
            assert record["statement"] == statement.body
            assert base64.b64decode(record["signature"]) == statement.signature


def test_the_full_life_transfer_pledge_release_revoke_each_signed_and_chained(
        session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, _, dataset_id = world
    buyer = make_member(session_factory, operator, kind="buyer")
    bank = make_member(session_factory, operator, kind="financial", name="测试银行股份有限公司")
    [number] = registered(session_factory, settings, operator, provider, dataset_id)

    with unit_of_work(session_factory) as session:
        service.change_certificate(session, provider.actor, settings=settings, number=number,
                                   data=CertificateChange(title="企业信用评分数据（2026版）", reason="更名"))
        service.request_transfer(session, provider.actor, settings=settings, number=number,
                                 data=TransferRequest(to=Counterparty(member_id=buyer.member_id)))
    with pytest.raises(PermissionDenied), unit_of_work(session_factory) as session:
        service.respond(session, bank.actor, settings=settings, number=number, data=Answer(accept=True))
    with unit_of_work(session_factory) as session:
        certificate = service.respond(session, buyer.actor, settings=settings, number=number,
                                      data=Answer(accept=True))
        assert certificate.holder_member_id == buyer.member_id and certificate.version == 2

    # Only a financial institution can be the pledgee.
    with pytest.raises(InvalidInput) as not_bank, unit_of_work(session_factory) as session:
        service.request_pledge(session, buyer.actor, settings=settings, number=number, data=PledgeRequest(
            pledgee=Counterparty(member_id=provider.member_id), contract_ref="ZY-2026-001", secured_amount_fen=500_000_00))
    assert not_bank.value.code == "pledgee_not_financial"
    with unit_of_work(session_factory) as session:
        service.request_pledge(session, buyer.actor, settings=settings, number=number, data=PledgeRequest(
            pledgee=Counterparty(member_id=bank.member_id), contract_ref="ZY-2026-001", secured_amount_fen=500_000_00))
        certificate = service.respond(session, bank.actor, settings=settings, number=number,
                                      data=Answer(accept=True))
        assert certificate.status == "pledged" and certificate.pledgee_member_id == bank.member_id

    # A pledged certificate can be neither transferred nor revoked, by the holder or the operator.
    attempts = [
        lambda s: service.request_transfer(s, buyer.actor, settings=settings, number=number,
                                           data=TransferRequest(to=Counterparty(member_id=provider.member_id))),
        lambda s: service.revoke(s, buyer.actor, settings=settings, number=number, data=Revocation(reason="不再使用")),
        lambda s: service.revoke(s, operator.actor, settings=settings, number=number,
                                 data=Revocation(reason="违规", basis="operator")),
        lambda s: service.revoke(s, SYSTEM, settings=settings, number=number,
                                 data=Revocation(reason="裁决", basis="dispute_ruling", ruling_ref="(2026)仲字第1号")),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused, unit_of_work(session_factory) as session:
            attempt(session)
        assert refused.value.code == "certificate_pledged"
    with pytest.raises(PermissionDenied), unit_of_work(session_factory) as session:
        service.release_pledge(session, buyer.actor, settings=settings, number=number)

    with unit_of_work(session_factory) as session:
        service.release_pledge(session, bank.actor, settings=settings, number=number, note="贷款已结清")
        service.revoke(session, buyer.actor, settings=settings, number=number, data=Revocation(reason="数据停止更新"))

    with unit_of_work(session_factory) as session:
        certificate = service.get_certificate(session, number=number)
        assert certificate.status == "revoked"
        statements = service.history(session, certificate_id=certificate.id)
        assert [s.event for s in statements] == ["issued", "changed", "transfer_requested", "transferred",
                                                 "pledge_requested", "pledged", "released", "revoked"]
        hash_ = hash_named(settings_hash(session))
        for previous, current in zip(statements, statements[1:]):
            assert json.loads(current.body)["previous"] == f"{hash_.name}:{hash_.digest(previous.body.encode()).hex()}"
        # Every event is a record in the log, in order, with the signed statement.
        indexes = tlog.record_indexes(session, subject_type="certificate", subject_id=number)
        assert [json.loads(tlog.record_at(session, index=i).change_json)["statement"] for i in indexes] == [
            s.body for s in statements]
        changed = json.loads(statements[1].body)
        assert changed["version"] == 2 and changed["detail"]["from"]["title"] == "企业信用评分数据"
        assert json.loads(statements[0].body)["subject"]["title"] == "企业信用评分数据"  # the old version is kept


def settings_hash(session) -> str:  # type: ignore[no-untyped-def]
    return tlog.head(session).hash.name


def test_an_objection_blocks_approval_until_resolved(session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, _, dataset_id = world
    application_id = apply_for(session_factory, settings, provider, dataset_id)
    with unit_of_work(session_factory) as session:
        objection = service.object_to(session, ANONYMOUS, application_id=application_id, data=ObjectionCreate(
            objector_name="张三", contact="13800000000", reason="该数据由我方采集，申请人无权登记"))
    end_publicity(session_factory, application_id)
    with pytest.raises(Conflict) as refused, unit_of_work(session_factory) as session:
        service.decide_application(session, operator.actor, settings=settings, application_id=application_id,
                                   decision=APPROVE)
    assert refused.value.code == "objections_open"
    # After the period, no one can object any more.
    with pytest.raises(Conflict) as late, unit_of_work(session_factory) as session:
        service.object_to(session, ANONYMOUS, application_id=application_id, data=ObjectionCreate(
            objector_name="李四", contact="13900000000", reason="迟到的异议内容"))
    assert late.value.code == "publicity_over"
    with unit_of_work(session_factory) as session:
        service.resolve_objection(session, operator.actor, objection_id=objection.id, data=ObjectionResolution(
            decision="dismissed", resolution="异议人未能提供采集证据"))
    assert len(approve(session_factory, settings, operator, application_id)) == 1


def test_an_upheld_objection_allows_only_rejection(session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, _, dataset_id = world
    application_id = apply_for(session_factory, settings, provider, dataset_id)
    with unit_of_work(session_factory) as session:
        objection = service.object_to(session, operator.actor, application_id=application_id, data=ObjectionCreate(
            objector_name="运营方", contact="ops@example.cn", reason="来源材料与数据内容不符"))
        service.resolve_objection(session, operator.actor, objection_id=objection.id, data=ObjectionResolution(
            decision="upheld", resolution="来源不合法"))
    end_publicity(session_factory, application_id)
    with pytest.raises(Conflict) as refused, unit_of_work(session_factory) as session:
        service.decide_application(session, operator.actor, settings=settings, application_id=application_id,
                                   decision=APPROVE)
    assert refused.value.code == "objection_upheld"
    with unit_of_work(session_factory) as session:
        application = service.decide_application(
            session, operator.actor, settings=settings, application_id=application_id,
            decision=ApplicationDecision(decision="reject", reason="异议成立"))
        assert application.status == "rejected"
        assert service.certificates_of_application(session, application_id=application_id) == []


def test_content_already_registered_by_another_holder_is_flagged(
        session_factory, storage, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, _, dataset_id = world
    [first] = registered(session_factory, settings, operator, provider, dataset_id)
    # The holder's own second application over the same bytes is no duplicate.
    own_again = apply_for(session_factory, settings, provider, dataset_id, rights=("processing",))
    with unit_of_work(session_factory) as session:
        assert not session.get(Application, own_again).duplicate_flag
        service.withdraw_application(session, provider.actor, application_id=own_again)
    copier = make_member(session_factory, operator)
    _, copied = make_dataset(session_factory, storage, copier, settings=settings)  # the same bytes
    application_id = apply_for(session_factory, settings, copier, copied)
    with unit_of_work(session_factory) as session:
        application = session.get(Application, application_id)
        assert application.duplicate_flag
        assert json.loads(application.duplicate_of) == [{"certificate": first, "holder_member_id": provider.member_id}]
    end_publicity(session_factory, application_id)
    with pytest.raises(Conflict) as refused, unit_of_work(session_factory) as session:
        service.decide_application(session, operator.actor, settings=settings, application_id=application_id,
                                   decision=APPROVE)
    assert refused.value.code == "duplicate_fingerprint"
    assert len(approve(session_factory, settings, operator, application_id, duplicate_reviewed=True)) == 1


def _product(factory, settings, provider, resource_id, dataset_id):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return listing.create_product(session, provider.actor, data=ProductCreate(
            resource_id=resource_id, dataset_id=dataset_id, title="企业信用评分", description="评分数据",
            price_fen=100_00)).id


def _list(factory, provider, operator, product_id):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        listing.submit_product(session, provider.actor, product_id=product_id, require_registration=True)
        listing.review_product(session, operator.actor, product_id=product_id, require_registration=True,
                               review=Review(decision="approve", checklist=ALL_CHECKED, reason="合规"))


def test_listing_requires_a_registration_and_revocation_delists(session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, resource_id, dataset_id = world
    product_id = _product(session_factory, settings, provider, resource_id, dataset_id)
    with pytest.raises(Conflict) as refused, unit_of_work(session_factory) as session:
        listing.submit_product(session, provider.actor, product_id=product_id, require_registration=True)
    assert refused.value.code == "registration_required"
    # The processing right alone does not allow selling.
    registered(session_factory, settings, operator, provider, dataset_id, rights=("processing",))
    with pytest.raises(Conflict), unit_of_work(session_factory) as session:
        listing.submit_product(session, provider.actor, product_id=product_id, require_registration=True)

    [number] = registered(session_factory, settings, operator, provider, dataset_id, rights=("holding",))
    _list(session_factory, provider, operator, product_id)
    with unit_of_work(session_factory) as session:
        service.revoke(session, operator.actor, settings=settings, number=number,
                       data=Revocation(reason="数据来源存在争议", basis="operator"))
    with unit_of_work(session_factory) as session:
        product = session.get(Product, product_id)
        assert product.status == "delisted"
        [record] = [e for e in tlog_events(session, "product", product_id) if "delisted" in e]
        assert number in record


def tlog_events(session, subject_type, subject_id):  # type: ignore[no-untyped-def]
    return [tlog.record_at(session, index=i).change_json
            for i in tlog.record_indexes(session, subject_type=subject_type, subject_id=str(subject_id))]


def test_expiry_delists_and_another_live_registration_keeps_a_product_listed(
        session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, resource_id, dataset_id = world
    [short] = registered(session_factory, settings, operator, provider, dataset_id)
    product_id = _product(session_factory, settings, provider, resource_id, dataset_id)
    _list(session_factory, provider, operator, product_id)
    [operating] = registered(session_factory, settings, operator, provider, dataset_id, rights=("operating",))
    with unit_of_work(session_factory) as session:
        session.execute(update(Certificate).where(Certificate.number == short).values(valid_until=utcnow()))
    with unit_of_work(session_factory) as session:
        due = service.due_for_expiry(session, now=utcnow())
        assert due == [short]
        service.expire(session, SYSTEM, settings=settings, number=short, now=utcnow())
    with unit_of_work(session_factory) as session:
        assert session.get(Product, product_id).status == "listed"  # still covered by the operating right
        session.execute(update(Certificate).where(Certificate.number == operating).values(valid_until=utcnow()))
    with unit_of_work(session_factory) as session:
        for number in service.due_for_expiry(session, now=utcnow()):
            service.expire(session, SYSTEM, settings=settings, number=number, now=utcnow())
    with unit_of_work(session_factory) as session:
        assert session.get(Product, product_id).status == "delisted"
        statuses = session.scalars(select(Certificate.status).order_by(Certificate.id)).all()
        assert statuses == ["expired", "expired"]


def test_a_transfer_waits_for_the_transferee_and_can_be_declined_or_cancelled(
        session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, _, dataset_id = world
    buyer = make_member(session_factory, operator, kind="buyer")
    [number] = registered(session_factory, settings, operator, provider, dataset_id)
    with unit_of_work(session_factory) as session:
        service.request_transfer(session, provider.actor, settings=settings, number=number,
                                 data=TransferRequest(to=Counterparty(member_id=buyer.member_id)))
    with pytest.raises(Conflict) as pending, unit_of_work(session_factory) as session:
        service.request_transfer(session, provider.actor, settings=settings, number=number,
                                 data=TransferRequest(to=Counterparty(member_id=buyer.member_id)))
    assert pending.value.code == "pending_request"
    with unit_of_work(session_factory) as session:
        service.respond(session, buyer.actor, settings=settings, number=number, data=Answer(accept=False))
        service.request_transfer(session, provider.actor, settings=settings, number=number,
                                 data=TransferRequest(to=Counterparty(member_id=buyer.member_id)))
        service.cancel_request(session, provider.actor, settings=settings, number=number)
    with pytest.raises(PermissionDenied), unit_of_work(session_factory) as session:
        service.respond(session, buyer.actor, settings=settings, number=number, data=Answer(accept=True))
    with unit_of_work(session_factory) as session:
        certificate = service.get_certificate(session, number=number)
        assert certificate.holder_member_id == provider.member_id
        assert [s.event for s in service.history(session, certificate_id=certificate.id)] == [
            "issued", "transfer_requested", "transfer_declined", "transfer_requested", "transfer_cancelled"]


def test_a_member_reaches_neither_another_members_dataset_nor_its_private_application(
        session_factory, storage, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, _, dataset_id = world
    other = make_member(session_factory, operator)
    with pytest.raises(NotFound), unit_of_work(session_factory) as session:
        service.create_application(session, other.actor, settings=settings, data=ApplicationCreate(
            subject_type="dataset", subject_id=dataset_id, title="别人的数据", rights=["holding"],
            source="self_collected"))
    application_id = apply_for(session_factory, settings, provider, dataset_id, submit=False)
    with unit_of_work(session_factory) as session:
        document = service.add_document(session, provider.actor, settings=settings, storage=storage,
                                        application_id=application_id, filename="合同.pdf",
                                        stream=io.BytesIO(b"contract"))
    for actor in (other.actor, ANONYMOUS):
        with unit_of_work(session_factory) as session:
            with pytest.raises(NotFound):
                service.get_application(session, actor, application_id=application_id)
            with pytest.raises(NotFound):
                service.documents(session, actor, application_id=application_id)
            with pytest.raises(NotFound):
                service.document_for_download(session, actor, document_id=document.id)
    with unit_of_work(session_factory) as session:
        service.submit_application(session, provider.actor, settings=settings, application_id=application_id)
    with unit_of_work(session_factory) as session:
        # In publicity the application is public, its documents still are not.
        assert service.get_application(session, other.actor, application_id=application_id).id == application_id
        with pytest.raises(NotFound):
            service.document_for_download(session, other.actor, document_id=document.id)
        with pytest.raises(NotFound):
            service.objections(session, other.actor, application_id=application_id)
        with pytest.raises(NotFound):
            service.withdraw_application(session, other.actor, application_id=application_id)


def test_the_expiry_sweep_records_each_due_certificate_once(session_factory, settings, world):  # type: ignore[no-untyped-def]
    from shujiao.registry import jobs

    operator, provider, _, dataset_id = world
    [number] = registered(session_factory, settings, operator, provider, dataset_id)
    assert jobs.expire_due(session_factory, settings, now=utcnow()) == 0
    with unit_of_work(session_factory) as session:
        session.execute(update(Certificate).where(Certificate.number == number).values(valid_until=utcnow()))
    assert jobs.expire_due(session_factory, settings, now=utcnow()) == 1
    assert jobs.expire_due(session_factory, settings, now=utcnow()) == 0
    with unit_of_work(session_factory) as session:
        certificate = service.get_certificate(session, number=number)
        assert [s.event for s in service.history(session, certificate_id=certificate.id)] == ["issued", "expired"]
