"""Demo data for ``make run``: an operator, a provider with listed products, and a buyer with money."""

from __future__ import annotations

import io
from decimal import Decimal
import tempfile
from pathlib import Path

import duckdb
import typer
from sqlalchemy.orm import Session, sessionmaker

from shujiao.accounting.demo import classify_demo_purchases
from shujiao.catalog import service as catalog
from shujiao.catalog.schemas import ResourceCreate
from shujiao.catalog.storage import LocalFileStorage
from shujiao.commands import ANONYMOUS, SYSTEM, Actor
from shujiao.config import Settings
from shujiao.crypto import service as keys
from shujiao.db import make_engine, make_session_factory, unit_of_work
from shujiao.errors import NotFound
from shujiao.ledger import service as ledger
from shujiao.listing import service as listing
from shujiao.listing.schemas import Checklist, ProductCreate, Review
from shujiao.members import credit_code, service as members
from shujiao.members.schemas import MemberApply, UserCreate
from shujiao.public_data import service as public_data
from shujiao.public_data.schemas import DepartmentCreate, FieldSpec, NegativeRuleCreate, PublicResourceCreate
from shujiao.quality.validators import credit_check_character_sql
from shujiao.quality import service as quality
from shujiao.quality.schemas import CommissionCreate, SignatureCreate

from shujiao.market import service as market
from shujiao.registry import service as registry
from shujiao.sandbox import service as sandbox
from shujiao.sandbox.policy import DpPolicy, SandboxPolicy
from shujiao.registry.schemas import ApplicationCreate, ApplicationDecision, Answer, Counterparty, PledgeRequest
from shujiao.usage.offer import Offer, UsageTerms
from shujiao.valuation import service as valuation
from shujiao.valuation.schemas import ComparableInput, MarketInputs, ReportCreate

OPERATOR = ("operator", "operator-demo-123")
PROVIDER = ("provider", "provider-demo-123")
BUYER = ("buyer", "buyer-demo-123")
BANK = ("bank", "bank-demo-123")
ASSESSOR = ("assessor", "assessor-demo-123")
AUTHORITY = ("bureau", "bureau-demo-123")


def demo_credit_code(seed: str, *, prefix: str = "91") -> str:
    """A well-formed credit code (valid check character) for made-up demo companies; ``prefix``
    "11" is a government body (机关)."""
    body = prefix + "520100" + seed.rjust(9, "0")[:9]
    return body + credit_code.check_character(body)


def _actor(session: Session, username: str) -> Actor:
    user = members.find_user_by_username(session, username)
    member = user.member
    return Actor(kind="user", username=user.username, user_id=user.id, member_id=member.id,
                 member_kind=member.kind, member_status=member.status, role=user.role)


DATASETS = {
    # Every 97th credit code carries a wrong check character, for the quality report to find.
    "enterprise_credit.csv": f"""
        SELECT body || CASE WHEN i % 97 = 0 THEN (CASE WHEN ok = '1' THEN '2' ELSE '1' END) ELSE ok END
                   AS 统一社会信用代码,
               '贵州' || (['数智', '云联', '黔峰', '筑城', '山地'])[1 + i % 5] || '科技有限公司' || i AS 企业名称,
               (['软件和信息技术服务业', '制造业', '批发和零售业', '交通运输业'])[1 + i % 4] AS 行业,
               500 + (i * 37) % 400 AS 信用评分,
               DATE '2025-12-31' AS 评价日期
        FROM (SELECT i, body, {credit_check_character_sql('body')} AS ok
              FROM (SELECT i, printf('91520100%09d', i) AS body FROM range(1, 2001) t(i)))""",
    "traffic_flow.parquet": """
        SELECT TIMESTAMP '2025-10-01 00:00:00' + INTERVAL (i % 720) HOUR AS 时段,
               (['人民大道', '北京路', '中华北路', '延安西路', '花溪大道'])[1 + i % 5] AS 道路,
               100 + (i * 53) % 1900 AS 车流量,
               20 + (i * 7) % 50 AS 平均车速
        FROM range(0, 3600) t(i)""",
    # Residents' spending for the data sandbox: never delivered, only computed on.
    "resident_spending.parquet": """
        SELECT printf('R%08d', i) AS 居民编号,
               sha256('1' || printf('%010d', 3800000000 + i)) AS 手机号哈希,
               (['南明区', '云岩区', '花溪区', '乌当区', '白云区', '观山湖区', '清镇市', '修文县'])[1 + (i * 7919) % 8] AS 区县,
               2021 + (i * 31) % 5 AS 年份,
               round(50 + ((i * 2654435761) % 400000) / 100.0, 2) AS 消费金额
        FROM range(0, 200000) t(i)""",
    "weather_daily.csv": """
        SELECT DATE '2025-01-01' + INTERVAL (i) DAY AS 日期, '贵阳' AS 城市,
               5 + (i * 13) % 25 AS 最高气温, (i * 7) % 15 AS 最低气温, (i * 11) % 60 AS 降水量毫米
        FROM range(0, 365) t(i)""",
}

PRODUCTS = [
    ("企业信用数据", "企业公共信用信息", "信用", 2, "enterprise_credit.csv",
     "贵州企业信用评分数据（2025年度）",
     "覆盖2000家贵州企业的公共信用综合评分，含行业、评分与评价日期，可用于供应链风控与授信前筛查。", 880_00),
    ("城市交通流量", "贵阳主干道小时级车流量与平均车速", "交通", 1, "traffic_flow.parquet",
     "贵阳主干道交通流量（小时级）",
     "五条主干道连续30天的小时级车流量与平均车速，适用于出行规划、商圈选址与交通仿真。", 1_200_00),
    ("气象观测数据", "贵阳逐日气温与降水", "气象", 1, "weather_daily.csv",
     "贵阳逐日气象观测数据（2025）",
     "2025年逐日最高/最低气温与降水量，适用于农业保险定价与零售需求预测。", 300_00),
    ("居民消费数据", "贵阳20万居民的年度消费金额（个人信息，仅供沙箱计算）", "消费", 3, "resident_spending.parquet",
     "贵阳居民消费数据（数据沙箱，可用不可见）",
     "20万居民2021—2025年消费金额。原始数据不出域：买方在数据沙箱中提交SQL，只得到加差分隐私噪声的分组统计，"
     "并可按手机号哈希隐私求交。", 2_000_00),
]
# The sandbox product's output policy (输出策略): DP results over district and year, PSI by phone hash.
SANDBOX_POLICY = SandboxPolicy(
    min_group_size=20,
    columns=[{"name": "区县", "use": "group"}, {"name": "年份", "use": "group"},
             {"name": "消费金额", "use": "aggregate", "lower": Decimal(0), "upper": Decimal(5000)}],
    dp=DpPolicy(epsilon_per_period=Decimal(5), default_query_epsilon=Decimal("0.5"), period_days=30),
    psi_key_column="手机号哈希", psi_reveal="size")


def load_demo(settings: Settings) -> None:
    factory = make_session_factory(make_engine(settings.database_url))
    storage = LocalFileStorage(settings.storage_root)
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    with unit_of_work(factory) as session:
        try:
            members.find_user_by_username(session, OPERATOR[0])
            typer.echo("demo data already loaded")
            _print_logins()
            return
        except NotFound:
            pass
        members.create_operator(session, SYSTEM, username=OPERATOR[0], password=OPERATOR[1])
        # Uploads are sealed by the data vault with the master key (`make run` made it already).
        keys.init_keys(session, SYSTEM, settings=settings)

    with unit_of_work(factory) as session:
        operator = _actor(session, OPERATOR[0])
        provider = members.apply(session, ANONYMOUS, application=MemberApply(
            name="贵州数智科技有限公司", credit_code=demo_credit_code("MA6DEMX01"), kind="provider",
            admin=UserCreate(username=PROVIDER[0], password=PROVIDER[1])))
        buyer = members.apply(session, ANONYMOUS, application=MemberApply(
            name="成都智慧出行研究院有限公司", credit_code=demo_credit_code("MA6DEMX02"), kind="buyer",
            admin=UserCreate(username=BUYER[0], password=BUYER[1])))
        assessor = members.apply(session, ANONYMOUS, application=MemberApply(
            name="四川数据资产评估有限公司", credit_code=demo_credit_code("MA6DEMX03"), kind="assessor",
            admin=UserCreate(username=ASSESSOR[0], password=ASSESSOR[1])))
        bank = members.apply(session, ANONYMOUS, application=MemberApply(
            name="贵州普惠银行股份有限公司（演示）", credit_code=demo_credit_code("MA6DEMX04"), kind="financial",
            admin=UserCreate(username=BANK[0], password=BANK[1])))
        members.approve(session, operator, member_id=provider.id)
        members.approve(session, operator, member_id=buyer.id)
        members.approve(session, operator, member_id=bank.id)
        members.approve(session, operator, member_id=assessor.id)
        ledger.record_deposit(session, operator, member_id=buyer.id, amount_fen=10_000_00, reference="DEMO-BANK-0001")

    with unit_of_work(factory) as session, tempfile.TemporaryDirectory() as tmp:
        operator = _actor(session, OPERATOR[0])
        seller = _actor(session, PROVIDER[0])
        connection = duckdb.connect()
        for filename, sql in DATASETS.items():
            fmt = "PARQUET" if filename.endswith(".parquet") else "CSV, HEADER"
            connection.execute(f"COPY ({sql}) TO '{Path(tmp) / filename}' (FORMAT {fmt})")
        connection.close()
        for name, description, domain, sensitivity, filename, title, text, price in PRODUCTS:
            resource = catalog.create_resource(session, seller, data=ResourceCreate(
                name=name, description=description, domain=domain, grade="general", sensitivity=sensitivity))
            dataset = catalog.add_dataset(
                session, seller, settings=settings, storage=storage, resource_id=resource.id, filename=filename,
                stream=io.BytesIO((Path(tmp) / filename).read_bytes()),
                max_bytes=settings.catalog.max_upload_bytes)
            sandboxed = filename == "resident_spending.parquet"
            product = listing.create_product(session, seller, data=ProductCreate(
                resource_id=resource.id, dataset_id=dataset.id, title=title, description=text, price_fen=price,
                offer=SANDBOX_OFFER if sandboxed else DEMO_OFFER))
            if sandboxed:
                sandbox.set_policy(session, seller, product_id=product.id, policy=SANDBOX_POLICY)
            listing.submit_product(session, seller, product_id=product.id)
            listing.review_product(session, operator, product_id=product.id, review=Review(
                decision="approve", reason="演示数据，合规检查通过",
                checklist=Checklist(legal_source=True, personal_information=True, security_grade=True,
                                    intellectual_property=True, negative_list=True)))
            _register(session, settings, operator, seller, dataset.id, title,
                      publicity=filename == "weather_daily.csv")
        catalog.create_resource(session, seller, data=ResourceCreate(
            name="电网调度运行数据", description="核心数据，仅用于演示“核心数据不得上架”。", domain="能源",
            grade="core"))
    with unit_of_work(factory) as session:
        # One certificate pledged to the bank, as data-backed financing (数据资产质押融资) looks.
        bank_actor = _actor(session, BANK[0])
        number = registry.own_certificates(session, _actor(session, PROVIDER[0]))[-1].number or ""
        registry.request_pledge(session, _actor(session, PROVIDER[0]), settings=settings, number=number,
                                data=PledgeRequest(pledgee=Counterparty(member_id=bank_actor.member_id),
                                                   contract_ref="ZY-DEMO-2026-001", secured_amount_fen=500_000_00))
        registry.respond(session, bank_actor, settings=settings, number=number, data=Answer(accept=True))
    _signed_quality_report(factory, settings, storage)
    with unit_of_work(factory) as session:
        _settled_trades(session, settings)
    with unit_of_work(factory) as session:
        # Whatever the demo bought on the exchange is in the buyer's books (数据资源入表); classify it.
        classify_demo_purchases(session, _actor(session, BUYER[0]))
    with unit_of_work(factory) as session:
        _market_valuation(session)
    _public_data(factory, settings, storage)
    typer.echo("demo data loaded")
    _print_logins()


# Every demo product is downloadable and readable over Delta Sharing for a year, for the listed
# purposes, with attribution and deletion at the end (shown in Chinese on the order page).
DEMO_OFFER = Offer(terms=UsageTerms(delivery_modes=["file", "delta_sharing"], term_days=365, max_downloads=20,
                                    purposes=["research", "risk_control", "credit_assessment", "internal_analysis"]))
SANDBOX_OFFER = Offer(terms=UsageTerms(delivery_modes=["sandbox"], term_days=365,
                                       purposes=["research", "public_service", "internal_analysis"]))


def _register(session: Session, settings: Settings, operator: Actor, seller: Actor, dataset_id: int, title: str, *,
              publicity: bool) -> None:
    """A registration of the dataset (holding and operating rights). The demo's history skips the
    comment period, except for one application left in it so the publicity page has something."""
    if not publicity:
        settings = settings.model_copy(update={"registry": settings.registry.model_copy(update={"publicity_days": 0})})
    application = registry.create_application(session, seller, settings=settings, data=ApplicationCreate(
        subject_type="dataset", subject_id=dataset_id, title=title, rights=["holding", "operating"],
        source="self_collected", description="演示登记"))
    registry.submit_application(session, seller, settings=settings, application_id=application.id)
    if not publicity:
        registry.decide_application(session, operator, settings=settings, application_id=application.id,
                                    decision=ApplicationDecision(decision="approve", reason="演示数据，材料齐全"))


QUALITY_RULES = """\
key: [统一社会信用代码]
fields:
  - column: 统一社会信用代码
    required: true
    validator: credit_code
  - column: 企业名称
    required: true
  - column: 行业
    enum: [软件和信息技术服务业, 制造业, 批发和零售业, 交通运输业]
  - column: 信用评分
    type: integer
    range: {min: 0, max: 1000}
  - column: 评价日期
    type: date
timeliness: {column: 评价日期, update_frequency: yearly}
"""


def _signed_quality_report(factory: sessionmaker[Session], settings: Settings, storage: LocalFileStorage) -> None:
    """The credit dataset gets quality rules; the demo assessor, commissioned by the provider,
    evaluates it and signs the report, which the provider shows on the product page."""
    with unit_of_work(factory) as session:
        seller, assessor = _actor(session, PROVIDER[0]), _actor(session, ASSESSOR[0])
        product = next(p for p in listing.list_own_products(session, seller)
                       if catalog.get_dataset(session, seller, dataset_id=p.dataset_id).filename == "enterprise_credit.csv")
        quality.save_rules(session, seller, dataset_id=product.dataset_id, text=QUALITY_RULES)
        quality.commission_assessor(session, seller, dataset_id=product.dataset_id, data=CommissionCreate(
            assessor=Counterparty(member_id=assessor.member_id), note="年度数据质量评价（演示）"))
        report = quality.run_evaluation(session, assessor, settings=settings, storage=storage,
                                        dataset_id=product.dataset_id)
        quality.sign_report(session, assessor, settings=settings, report_id=report.id, data=SignatureCreate(
            opinion="按 GB/T 36344-2018 评价；少量统一社会信用代码校验位不符，建议提供方核实后更新。"))
        quality.attach_report(session, seller, product_id=product.id, report_id=report.id)

def _settled_trades(session: Session, settings: Settings) -> None:
    """The buyer buys the traffic and weather products and accepts them: settled trades for the
    market method's comparables and for the buyer's books."""
    buyer = _actor(session, BUYER[0])
    for product in listing.search_listed(session):
        if product.title.startswith(("贵阳主干道交通流量", "贵阳逐日气象观测数据")):
            order = market.create_order(session, buyer, product_id=product.id)
            market.pay_order(session, buyer, order_id=order.id)
            market.record_delivery(session, buyer, order_id=order.id)
            market.accept_order(session, buyer, order_id=order.id, fee_rate_bp=settings.market.fee_rate_bp)


def _market_valuation(session: Session) -> None:
    """A final market-method valuation (市场法) of the provider's credit dataset, from the two trades
    and its quality report."""
    seller = _actor(session, PROVIDER[0])
    dataset_id = next(product.dataset_id for product in listing.search_listed(session)
                      if product.title.startswith("贵州企业信用评分数据"))
    comparables = [ComparableInput(order_id=trade.order_id, quality_score=Decimal(90),
                                   supply_demand_factor=Decimal("1.10"), volume_factor=Decimal("0.95"))
                   for trade in valuation.comparable_trades(session)]
    # The subject's quality is the assessor-signed report's score (质量评价报告).
    _score, _grade, quality_report_id = quality.latest_score(session, dataset_id=dataset_id)  # type: ignore[misc]
    report = valuation.create_report(session, seller, data=ReportCreate(
        subject_type="dataset", subject_id=dataset_id,
        inputs=MarketInputs(quality_report_id=quality_report_id, comparables=comparables)))
    valuation.finalize_report(session, seller, report_id=report.id)


PUBLIC_DATASETS = {
    # (department code, open class, resource name, domain, file, CSV text)
    "bus_ridership.csv": ("JTW", "unconditional", "公交线路日客流量", "交通",
                          "日期,线路,客流量\n2026-11-01,1路,12034\n2026-11-01,2路,9801\n2026-11-02,1路,11876\n"),
    "enterprise_penalties.csv": ("SCJG", "conditional", "企业行政处罚信息", "市场监管",
                                 "企业名称,处罚次数,最近处罚日期\n贵州数智科技有限公司,0,\n贵阳筑城物流有限公司,2,2026-05-11\n"),
}


def _public_data(factory: sessionmaker[Session], settings: Settings, storage: LocalFileStorage) -> None:
    """A data bureau (数据主管部门) with two departments, a negative list, one unconditional and one
    conditional resource in its public catalog (公共数据开放目录)."""
    with unit_of_work(factory) as session:
        bureau = members.apply(session, ANONYMOUS, application=MemberApply(
            name="贵阳市大数据管理局（演示）", credit_code=demo_credit_code("MB1DEMX05", prefix="11"), kind="authority",
            admin=UserCreate(username=AUTHORITY[0], password=AUTHORITY[1])))
        members.approve(session, _actor(session, OPERATOR[0]), member_id=bureau.id)
    with unit_of_work(factory) as session:
        authority = _actor(session, AUTHORITY[0])
        departments = {code: public_data.create_department(session, authority, data=DepartmentCreate(
            name=name, code=code)).id for name, code in (("贵阳市交通委员会", "JTW"), ("贵阳市市场监督管理局", "SCJG"))}
        for term, reason in (("身份证", "个人敏感信息"), ("手机号", "个人敏感信息")):
            public_data.add_negative_rule(session, authority, data=NegativeRuleCreate(kind="field", term=term,
                                                                                     reason=reason))
        for filename, (code, open_class, name, domain, text) in PUBLIC_DATASETS.items():
            resource = catalog.create_resource(session, authority, data=ResourceCreate(
                name=name, description=f"{name}（演示）", domain=domain, grade="general", sensitivity=1))
            catalog.add_dataset(session, authority, settings=settings, storage=storage, resource_id=resource.id,
                                filename=filename, stream=io.BytesIO(text.encode()),
                                max_bytes=settings.catalog.max_upload_bytes)
            public_data.publish_resource(session, authority, data=PublicResourceCreate(
                resource_id=resource.id, department_id=departments[code], open_class=open_class,
                update_frequency="daily" if open_class == "unconditional" else "monthly",
                fields=[FieldSpec(name=column) for column in text.splitlines()[0].split(",")],
                conditions="仅限信用评估与风险控制用途，不得转售或公开" if open_class == "conditional" else ""))


def _print_logins() -> None:
    for role, (username, password) in (("运营方 operator", OPERATOR), ("数据提供方 provider", PROVIDER),
                                       ("需求方 buyer", BUYER), ("金融机构 bank", BANK),
                                       ("评估机构 assessor", ASSESSOR), ("数据主管部门 authority", AUTHORITY)):
        typer.echo(f"  {role:<22} {username} / {password}")
