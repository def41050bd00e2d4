"""Refusals of a use. Both carry what the app-level handler needs to log the refusal in its own
transaction after the request's transaction has rolled back (``shujiao.usage.api.install``)."""

from __future__ import annotations

from shujiao.commands import Actor
from shujiao.errors import NotFound, PermissionDenied

RULES: dict[str, tuple[str, str]] = {
    "window_ended": ("合约使用期限已届满", "the contract's usage window has ended"),
    "not_started": ("合约使用期限尚未开始", "the contract's usage window has not started"),
    "count_exhausted": ("合约约定的下载次数已用完", "the contract's download count is used up"),
    "mode_not_allowed": ("该产品不通过此方式交付", "the product is not delivered this way"),
    "revoked": ("合约已撤销", "the contract has been revoked"),
}


class UsageDenied(PermissionDenied):
    """403: the buyer's contract does not allow this use now; ``rule`` says which rule refused it."""

    code = "usage_denied"

    def __init__(self, actor: Actor, *, order_id: int, action: str, rule: str) -> None:
        zh, en = RULES[rule]
        super().__init__(f"{zh}，不能使用（合约 #{order_id}）", f"{en}; use refused (contract #{order_id})",
                         rule=rule, order_id=order_id)
        self.actor, self.order_id, self.action, self.rule = actor, order_id, action, rule


class UsageNotFound(NotFound):
    """404 for anyone but the buyer: to them the contract does not exist. Still logged (rule
    ``not_buyer``), in the denial table only: an outsider's probe changes no audited state."""

    def __init__(self, actor: Actor, *, order_id: int, action: str) -> None:
        super().__init__("合约不存在", "contract not found")
        self.actor, self.order_id, self.action, self.rule = actor, order_id, action, "not_buyer"
