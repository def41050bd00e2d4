"""Chinese and English names of the codes that pages show (statuses, grades, ledger entry kinds...)."""

from __future__ import annotations

from shujiao.catalog.schemas import GRADE_LABELS, SENSITIVITY_LABELS

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
    },
}


def label(group: str, code: object) -> Label:
    """The (zh, en) name of a code; an unknown code is shown as itself rather than hidden."""
    key = "" if code is None else str(code)
    return LABELS.get(group, {}).get(key, (key, key))
