"""The quality domain's service: rules versions, evaluations of sealed datasets, commissions, the
assessor's signature in the transparency log, reports on product pages and who sees what."""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shujiao.audit.models import AuditEvent
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset
from shujiao.db import unit_of_work, utcnow
from shujiao.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shujiao.listing import service as listing
from shujiao.listing.schemas import ProductCreate, Review
from shujiao.quality import service
from shujiao.quality.models import Commission, Report
from shujiao.quality.schemas import CommissionCreate, SignatureCreate
from shujiao.registry.schemas import Counterparty
from shujiao.tlog import service as tlog
from tests.factories import (
    ALL_CHECKED, make_dataset, make_listed_product, make_member, make_operator, random_credit_code,
)

GOOD_CODE = random_credit_code()
BAD_CODE = GOOD_CODE[:-1] + ("0" if GOOD_CODE[-1] != "0" else "1")  # the check character is wrong
# Four rows with planted defects: a wrong check character, an impossible date, a missing code
# and a missing score, and row 4 repeating row 1.
CSV = (
    "统一社会信用代码,企业名称,信用评分,评价日期\n"
    f"{GOOD_CODE},贵州甲公司,812,2026-01-01\n"
    f"{BAD_CODE},贵州乙公司,745,2026-13-01\n"
    ",贵州丙公司,,2026-02-01\n"
    f"{GOOD_CODE},贵州甲公司,812,2026-01-01\n"
).encode()
RULES = """\
fields:
  - column: 统一社会信用代码
    required: true
    validator: credit_code
  - column: 信用评分
    type: integer
    range: {min: 0, max: 1000}
  - column: 评价日期
    validator: date
"""


def open_commission(factory, provider, assessor, dataset_id) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return service.commission_assessor(session, provider.actor, dataset_id=dataset_id, data=CommissionCreate(
            assessor=Counterparty(member_id=assessor.member_id), note="请评估")).id


def save(factory, who, dataset_id, text=RULES):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return service.save_rules(session, who.actor, dataset_id=dataset_id, text=text).version


def run(factory, settings, storage, who, dataset_id) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return service.run_evaluation(session, who.actor, settings=settings, storage=storage,
                                      dataset_id=dataset_id).id


def list_dataset(factory, operator, provider, dataset_id) -> int:  # type: ignore[no-untyped-def]
    """A listed product of the dataset, through the listing service."""
    with unit_of_work(factory) as session:
        resource_id = session.get(Dataset, dataset_id).resource_id
        product = listing.create_product(session, provider.actor, data=ProductCreate(
            resource_id=resource_id, dataset_id=dataset_id, title="贵州企业信用数据", description="企业信用评分",
            price_fen=100_00))
        listing.submit_product(session, provider.actor, product_id=product.id)
        listing.review_product(session, operator.actor, product_id=product.id,
                               review=Review(decision="approve", checklist=ALL_CHECKED, reason="合规"))
        return product.id


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, name="贵州数智科技有限公司")
    assessor = make_member(session_factory, operator, kind="assessor", name="四川数据资产评估有限公司")
    intruder = make_member(session_factory, operator)
    other_assessor = make_member(session_factory, operator, kind="assessor")
    _, dataset_id = make_dataset(session_factory, storage, provider, content=CSV, filename="credit.csv",
                                 settings=settings)
    return {"operator": operator, "provider": provider, "assessor": assessor, "intruder": intruder,
            "other_assessor": other_assessor, "dataset_id": dataset_id}


def test_rules_are_versioned_validated_against_the_engine_and_the_columns(session_factory, world):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    with unit_of_work(session_factory) as session:
        dataset = service.dataset_for_quality(session, provider.actor, dataset_id=dataset_id)
        draft = service.draft_rules(dataset)
        assert service.current_rules(session, dataset_id=dataset_id) is None
    assert "validator: credit_code" in draft  # suggested from the column name 统一社会信用代码

    assert save(session_factory, provider, dataset_id, draft) == 1
    assert save(session_factory, provider, dataset_id) == 2
    with pytest.raises(InvalidInput) as unchanged:
        save(session_factory, provider, dataset_id)
    assert unchanged.value.code == "no_change"
    with pytest.raises(InvalidInput) as bad_yaml:
        save(session_factory, provider, dataset_id, "fields:\n  - column: [unclosed\n")
    assert bad_yaml.value.code == "bad_rules" and "line" in bad_yaml.value.en
    with pytest.raises(InvalidInput) as bad_validator:
        save(session_factory, provider, dataset_id, "fields:\n  - column: 企业名称\n    validator: passport\n")
    assert bad_validator.value.code == "bad_rules" and "企业名称" in bad_validator.value.en
    with pytest.raises(InvalidInput) as unknown_column:
        save(session_factory, provider, dataset_id, "key: [订单号]\n")
    assert unknown_column.value.code == "bad_rules" and "订单号" in unknown_column.value.zh

    with unit_of_work(session_factory) as session:
        history = service.rules_history(session, provider.actor, dataset_id=dataset_id)
        assert [h.version for h in history] == [2, 1] and history[0].rules_text == RULES
        assert history[1].rules_text == draft and history[0].edited_by == provider.username
    # Another member — even an assessor before it is commissioned — neither reads nor edits them.
    for outsider in (world["intruder"], world["assessor"]):
        with pytest.raises(NotFound):
            save(session_factory, outsider, dataset_id)
        with unit_of_work(session_factory) as session, pytest.raises(NotFound):
            service.rules_history(session, outsider.actor, dataset_id=dataset_id)


def test_two_saves_of_the_same_version_are_a_conflict_not_a_crash(session_factory, world, monkeypatch):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    # The second editor read the rules before the first saved: it too writes version 1.
    monkeypatch.setattr(service, "current_rules", lambda session, *, dataset_id: None)
    with pytest.raises(Conflict) as conflict:
        save(session_factory, provider, dataset_id, RULES + "key: [企业名称]\n")
    assert conflict.value.code == "concurrent_edit"
    monkeypatch.undo()
    with unit_of_work(session_factory) as session:
        assert [r.rules_text for r in service.rules_history(session, provider.actor, dataset_id=dataset_id)] == [RULES]


def test_an_evaluation_profiles_the_sealed_data_and_keeps_a_failing_report(session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    with pytest.raises(Conflict) as no_rules:
        run(session_factory, settings, storage, provider, dataset_id)
    assert no_rules.value.code == "rules_required"
    save(session_factory, provider, dataset_id)

    leftovers_before = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("shujiao-quality-")}
    report_id = run(session_factory, settings, storage, provider, dataset_id)
    leftovers_after = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("shujiao-quality-")}
    assert leftovers_after == leftovers_before  # the decrypted plaintext is gone

    with unit_of_work(session_factory) as session:
        report = service.get_report(session, provider.actor, report_id=report_id)
        dataset = catalog.get_dataset(session, provider.actor, dataset_id=dataset_id)
        score = json.loads(report.score_json)
        profile = json.loads(report.profile_json)
        assert report.dataset_sha256 == dataset.sha256 and report.rule_set_version == 1
        assert report.member_id == provider.member_id and report.commission_id is None
        assert profile["rows"] == 4
        # The planted defects, as counted: the code's check character (3 codes present, 2 good) and
        # the date (4 present, 3 good) are the format sub-indicator: A = 5 of B = 7.
        accuracy = next(i for i in score["indicators"] if i["code"] == "accuracy")
        format_ = next(s for s in accuracy["sub"] if s["code"] == "format")
        assert (format_["A"], format_["B"], format_["score"]) == (5, 7, "71.43")
        completeness = next(i for i in score["indicators"] if i["code"] == "completeness")
        element = next(s for s in completeness["sub"] if s["code"] == "element")
        assert (element["A"], element["B"]) == (3, 4)  # one missing code among four required cells
        # A failing dataset still has its report, with a score below full marks and exact decimals.
        assert Decimal(score["overall"]) == report.overall_score < 100
        assert report.grade == score["grade"]
        examples = [e["value"] for f in score["worst_fields"] for r in f["rules"] for e in r["examples"]]
        assert BAD_CODE in examples
        assert service.latest_score(session, dataset_id=dataset_id) == (report.overall_score, report.grade, report.id)
        assert isinstance(service.latest_score(session, dataset_id=dataset_id)[0], Decimal)
        events = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "quality_report")).all()
        assert [e.action for e in events] == ["quality.report.run"]


def test_no_evaluation_means_no_latest_score(session_factory, world):  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        assert service.latest_score(session, dataset_id=world["dataset_id"]) is None


def test_the_commissioned_assessor_evaluates_and_signs_into_the_log(session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    provider, assessor, dataset_id = world["provider"], world["assessor"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    own_report = run(session_factory, settings, storage, provider, dataset_id)
    # Before the commission the assessor cannot run, read or sign anything of this dataset.
    with pytest.raises(NotFound):
        run(session_factory, settings, storage, assessor, dataset_id)
    with unit_of_work(session_factory) as session, pytest.raises(NotFound):
        service.get_report(session, assessor.actor, report_id=own_report)

    commission_id = open_commission(session_factory, provider, assessor, dataset_id)
    with pytest.raises(Conflict):  # one open commission per assessor and dataset
        open_commission(session_factory, provider, assessor, dataset_id)
    report_id = run(session_factory, settings, storage, assessor, dataset_id)
    with unit_of_work(session_factory) as session:
        assert service.get_report(session, assessor.actor, report_id=report_id).commission_id == commission_id
        # It may read the dataset's description and reports, never its content: the catalog still
        # refuses it the dataset (no download path goes through the quality domain).
        assert service.dataset_for_quality(session, assessor.actor, dataset_id=dataset_id).id == dataset_id
        with pytest.raises(NotFound):
            catalog.get_dataset(session, assessor.actor, dataset_id=dataset_id)

    # Only the commissioned assessor signs, and only a report it ran under the commission.
    with unit_of_work(session_factory) as session, pytest.raises(PermissionDenied):
        service.sign_report(session, provider.actor, settings=settings, report_id=report_id,
                            data=SignatureCreate(opinion="自己签"))
    with unit_of_work(session_factory) as session, pytest.raises(PermissionDenied):
        service.sign_report(session, assessor.actor, settings=settings, report_id=own_report,
                            data=SignatureCreate(opinion="签提供方自评的报告"))
    with unit_of_work(session_factory) as session, pytest.raises(NotFound):
        service.sign_report(session, world["other_assessor"].actor, settings=settings, report_id=report_id,
                            data=SignatureCreate(opinion="未受托"))

    with unit_of_work(session_factory) as session:
        signature = service.sign_report(session, assessor.actor, settings=settings, report_id=report_id,
                                        data=SignatureCreate(opinion="数据质量总体良好，信用代码校验位错误一处。"))
        signature_id = signature.id
    with unit_of_work(session_factory) as session:
        signature = service.signature_of(session, report_id=report_id)
        assert signature is not None and signature.id == signature_id
        assert service.signature_verifies(session, settings, signature)
        statement = json.loads(signature.body)
        identity_name = "四川数据资产评估有限公司"
        assert statement["type"] == service.SIGNATURE_TYPE and statement["assessor"]["name"] == identity_name
        assert statement["assessor"]["credit_code"] and statement["opinion"].startswith("数据质量总体良好")
        report = session.get(Report, report_id)
        assert statement["report"]["hash"] == service.report_hash(session, settings, report)
        assert statement["report"]["hash"].startswith("sm3:")
        assert session.get(Commission, commission_id).status == "signed"
        # The statement is an audit record, so a leaf of the transparency log.
        indexes = tlog.record_indexes(session, subject_type="quality_report", subject_id=str(report_id))
        assert len(indexes) == 2  # run, then signed
        leaf = session.scalar(select(AuditEvent).where(AuditEvent.subject_type == "quality_report",
                                                       AuditEvent.subject_id == str(report_id),
                                                       AuditEvent.action == "quality.report.sign"))
        assert json.loads(leaf.change_json)["statement"] == signature.body
        # A report changed after signing no longer matches its signature.
        report.score_json = report.score_json.replace('"grade":"', '"grade":"A', 1)
        assert not service.signature_verifies(session, settings, signature)
        session.rollback()

    # The commission is done: no second signature, no more runs under it.
    with unit_of_work(session_factory) as session, pytest.raises(Conflict):
        service.sign_report(session, assessor.actor, settings=settings, report_id=report_id,
                            data=SignatureCreate(opinion="再签一次"))
    with pytest.raises(NotFound):
        run(session_factory, settings, storage, assessor, dataset_id)
    with unit_of_work(session_factory) as session:  # but it still reads what it signed
        assert service.get_report(session, assessor.actor, report_id=report_id).id == report_id


def test_the_database_keeps_one_open_commission_per_assessor_and_dataset(session_factory, world):  # type: ignore[no-untyped-def]
    """The service checks before it inserts; two requests racing past that check meet the unique
    partial index, which the service turns into the same 409."""
    provider, assessor, dataset_id = world["provider"], world["assessor"], world["dataset_id"]
    first = open_commission(session_factory, provider, assessor, dataset_id)
    with pytest.raises(Conflict) as refused:
        open_commission(session_factory, provider, assessor, dataset_id)
    assert refused.value.code == "already_commissioned"

    def racing_row() -> Commission:
        return Commission(dataset_id=dataset_id, member_id=provider.member_id, assessor_member_id=assessor.member_id,
                          note="", status="open", created_at=utcnow())

    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        session.add(racing_row())  # what the loser of the race writes
        session.flush()
    with unit_of_work(session_factory) as session:
        service.withdraw_commission(session, provider.actor, commission_id=first)
    with unit_of_work(session_factory) as session:
        session.add(racing_row())  # a withdrawn commission does not count
        session.flush()


def test_only_an_approved_assessor_member_can_be_commissioned(session_factory, world):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    pending = make_member(session_factory, None, kind="assessor", approved=False)
    for counterparty, code in ((Counterparty(member_id=world["intruder"].member_id), "not_an_assessor"),
                               (Counterparty(member_id=pending.member_id), "member_not_approved"),
                               (Counterparty(member_id=10**9), "unknown_member"),
                               (Counterparty(credit_code=random_credit_code()), "unknown_member")):
        with unit_of_work(session_factory) as session, pytest.raises(InvalidInput) as refused:
            service.commission_assessor(session, provider.actor, dataset_id=dataset_id,
                                        data=CommissionCreate(assessor=counterparty))
        assert refused.value.code == code
    with unit_of_work(session_factory) as session, pytest.raises(NotFound):  # not the intruder's dataset
        service.commission_assessor(session, world["intruder"].actor, dataset_id=dataset_id,
                                    data=CommissionCreate(assessor=Counterparty(member_id=world["assessor"].member_id)))


def test_a_withdrawn_commission_ends_the_assessors_access(session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    provider, assessor, dataset_id = world["provider"], world["assessor"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    commission_id = open_commission(session_factory, provider, assessor, dataset_id)
    with unit_of_work(session_factory) as session, pytest.raises(NotFound):
        service.withdraw_commission(session, assessor.actor, commission_id=commission_id)
    with unit_of_work(session_factory) as session:
        assert service.withdraw_commission(session, provider.actor, commission_id=commission_id).status == "withdrawn"
    with pytest.raises(NotFound):
        run(session_factory, settings, storage, assessor, dataset_id)
    with unit_of_work(session_factory) as session, pytest.raises(NotFound):
        service.dataset_for_quality(session, assessor.actor, dataset_id=dataset_id)
    with unit_of_work(session_factory) as session, pytest.raises(Conflict):
        service.withdraw_commission(session, provider.actor, commission_id=commission_id)


def test_a_report_on_a_listed_product_is_public_in_summary_only(session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    from shujiao.commands import ANONYMOUS

    provider, operator = world["provider"], world["operator"]
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings)
    with unit_of_work(session_factory) as session:
        from shujiao.listing.models import Product

        product_dataset = session.get(Product, product_id).dataset_id
    save(session_factory, provider, world["dataset_id"])
    other_report = run(session_factory, settings, storage, provider, world["dataset_id"])
    save(session_factory, provider, product_dataset, "fields:\n  - column: 信用评分\n    type: integer\n")
    report_id = run(session_factory, settings, storage, provider, product_dataset)

    with unit_of_work(session_factory) as session:
        with pytest.raises(NotFound):  # not yet shown anywhere
            service.report_for_reader(session, ANONYMOUS, report_id=report_id)
        with pytest.raises(InvalidInput) as wrong_dataset:
            service.attach_report(session, provider.actor, product_id=product_id, report_id=other_report)
        assert wrong_dataset.value.code == "report_not_of_product"
    with unit_of_work(session_factory) as session, pytest.raises(NotFound):
        service.attach_report(session, world["intruder"].actor, product_id=product_id, report_id=report_id)
    with unit_of_work(session_factory) as session:
        service.attach_report(session, provider.actor, product_id=product_id, report_id=report_id)
    with unit_of_work(session_factory) as session:
        report, full = service.report_for_reader(session, ANONYMOUS, report_id=report_id)
        assert not full
        summary = service.report_read(session, report, full=False).model_dump(mode="json")
        assert "profile" not in summary and "rules_text" not in summary
        assert "examples" not in json.dumps(summary) and "worst_rows" not in summary["score"]
        assert summary["score"]["indicators"][0]["sub"][0]["A"] is not None
        badge = service.product_badge(session, product_id=product_id)
        assert badge is not None and badge["report_id"] == report_id and badge["signed_by"] is None
        # The owner still reads it whole.
        assert service.report_for_reader(session, provider.actor, report_id=report_id)[1]
        # Another report of the same product is not public just because one is.
        with pytest.raises(NotFound):
            service.report_for_reader(session, ANONYMOUS, report_id=other_report)
