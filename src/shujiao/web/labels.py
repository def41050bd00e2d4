"""Chinese and English names of the codes that pages show (statuses, grades, ledger entry kinds...)."""

from __future__ import annotations

from shujiao.catalog.schemas import GRADE_LABELS, SENSITIVITY_LABELS
from shujiao.quality.schemas import COMMISSION_STATUSES, EVALUATION_STATUSES
from shujiao.registry.schemas import RIGHTS, SOURCES

Label = tuple[str, str]

LABELS: dict[str, dict[str, Label]] = {
    "order": {
        "created": ("待支付", "awaiting payment"),
        "paid": ("已支付", "paid"),
        "delivered": ("已交付", "delivered"),
        "settled": ("已结算", "settled"),
        "refunded": ("已退款", "refunded"),
        "cancelled": ("已取消", "cancelled"),
    },
    "product": {
        "draft": ("草稿", "draft"),
        "submitted": ("待审核", "under review"),
        "listed": ("已上架", "listed"),
        "rejected": ("已驳回", "rejected"),
        "delisted": ("已下架", "delisted"),
    },
    "member": {
        "pending": ("待审核", "pending"),
        "approved": ("已准入", "approved"),
        "rejected": ("已驳回", "rejected"),
    },
    "member_kind": {
        "provider": ("数据提供方", "data provider"),
        "buyer": ("数据需求方", "data buyer"),
        "service": ("第三方服务机构", "service provider"),
        "financial": ("金融机构", "financial institution"),
        "assessor": ("第三方评估机构", "third-party assessor"),
        "authority": ("数据主管部门", "data authority"),
        "operator": ("交易中心运营方", "exchange operator"),
    },
    "role": {
        "admin": ("管理员", "admin"),
        "staff": ("业务人员", "staff"),
        "operator": ("运营人员", "operator"),
    },
    "grade": {
        "core": (GRADE_LABELS["core"], "core data"),
        "important": (GRADE_LABELS["important"], "important data"),
        "general": (GRADE_LABELS["general"], "general data"),
    },
    "sensitivity": {
        str(level): (zh, en)
        for (level, zh), en in zip(
            SENSITIVITY_LABELS.items(),
            ("level 1 (public)", "level 2 (internal)", "level 3 (sensitive)", "level 4 (highly sensitive)"),
            strict=True,
        )
    },
    "decision": {
        "approve": ("通过", "approved"),
        "reject": ("驳回", "rejected"),
    },
    "entry": {
        "deposit": ("充值入金", "deposit"),
        "withdrawal": ("提现出金", "withdrawal"),
        "escrow_hold": ("支付冻结", "payment held in escrow"),
        "settlement": ("交易结算", "settlement"),
        "refund": ("退款", "refund"),
    },
    "account": {
        "wallet": ("可用余额", "available"),
        "escrow": ("冻结资金", "held"),
    },
    "close_reason": {
        "accepted": ("买方验收", "accepted by the buyer"),
        "auto_settled": ("到期自动结算", "settled automatically"),
        "cancelled": ("买方取消", "cancelled by the buyer"),
        "refunded": ("运营方退款", "refunded by the operator"),
    },
    "action": {
        "market.order.create": ("创建订单", "order created"),
        "market.order.pay": ("支付（资金托管）", "paid into escrow"),
        "market.order.deliver": ("数据已交付", "data delivered"),
        "market.order.accept": ("买方验收，完成结算", "accepted and settled"),
        "market.order.auto_settle": ("到期自动结算", "settled automatically"),
        "market.order.refund": ("运营方退款", "refunded by the operator"),
        "market.order.cancel": ("买方取消订单", "cancelled by the buyer"),
        "delivery.link.issue": ("生成下载链接", "download link issued"),
        "delivery.download": ("下载数据文件", "data file downloaded"),
        "usage.contract.revoke": ("撤销使用合约", "usage contract revoked"),
        "usage.contract.renew": ("订阅续期", "subscription renewed"),
        "usage.denial.record": ("拒绝使用（已记录）", "use refused (logged)"),
    },
    "application": {
        "draft": ("草稿", "draft"),
        "publicity": ("公示中", "in public comment"),
        "approved": ("已批准", "approved"),
        "rejected": ("已驳回", "rejected"),
        "withdrawn": ("已撤回", "withdrawn"),
    },
    "certificate": {
        "valid": ("有效", "valid"),
        "pledged": ("已质押", "pledged"),
        "revoked": ("已撤销", "revoked"),
        "expired": ("已过期", "expired"),
    },
    "right": dict(RIGHTS),
    "source": dict(SOURCES),
    "subject_type": {
        "dataset": ("数据集", "dataset"),
        "resource": ("数据资源", "data resource"),
        "product": ("数据产品", "data product"),
    },
    "objection": {
        "open": ("待处理", "open"),
        "upheld": ("异议成立", "upheld"),
        "dismissed": ("异议不成立", "dismissed"),
    },
    "pending_action": {
        "transfer": ("转让", "transfer"),
        "pledge": ("质押", "pledge"),
    },
    "revocation_basis": {
        "holder": ("持有人申请注销", "by the holder"),
        "operator": ("运营方撤销", "by the operator"),
        "dispute_ruling": ("依争议裁决撤销", "by a dispute ruling"),
    },
    "event": {
        "issued": ("登记发证", "issued"),
        "changed": ("变更登记", "details changed"),
        "transfer_requested": ("申请转让", "transfer requested"),
        "transferred": ("已转让", "transferred"),
        "transfer_declined": ("受让方拒绝转让", "transfer declined"),
        "transfer_cancelled": ("持有人取消转让", "transfer cancelled"),
        "pledge_requested": ("申请质押", "pledge requested"),
        "pledged": ("质押生效", "pledged"),
        "pledge_declined": ("质权人拒绝质押", "pledge declined"),
        "pledge_cancelled": ("持有人取消质押", "pledge cancelled"),
        "released": ("解除质押", "pledge released"),
        "revoked": ("已撤销", "revoked"),
        "expired": ("到期失效", "expired"),
    },
    "commission": dict(COMMISSION_STATUSES),
    "evaluation": dict(EVALUATION_STATUSES),
}


def label(group: str, code: object) -> Label:
    """The (zh, en) name of a code; an unknown code is shown as itself rather than hidden."""
    key = "" if code is None else str(code)
    return LABELS.get(group, {}).get(key, (key, key))
