"""The gateway's pure rules, with no database: billing periods, what a period's calls cost, and
which calls are billed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shujiao.usage.offer import PricingPlan


def period_of(starts_at: dt.datetime, period_days: int, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The billing period holding ``at``: periods of ``period_days`` run back to back from the
    contract's start (payment)."""
    length = dt.timedelta(days=period_days)
    index = max(0, (at - starts_at) // length)
    start = starts_at + index * length
    return start, start + length


def billable(status: int, forwarded: bool) -> bool:
    """A call is billed when the upstream answered it without a server error: the gateway's own
    refusals (401/429, never forwarded), upstream 5xx and an unreachable upstream (502) are free.
    A 4xx from the upstream is billed: the upstream did the work of refusing a bad request."""
    return forwarded and status < 500


@dataclass(frozen=True)
class Line:
    """One tier of a statement: ``calls`` in it at ``price_per_1000_calls_fen``."""

    from_call: int
    to_call: int | None
    calls: int
    price_per_1000_calls_fen: int
    amount_millifen: int  # calls × price per 1,000: exact, in thousandths of a fen


def charge(plan: PricingPlan, calls: int) -> tuple[int, list[Line]]:
    """The amount in fen for ``calls`` billable calls in one period, and its lines.

    per_call: calls × price / 1,000. tiered: cumulative (阶梯累进) — the first tier's price for calls up
    to its bound, the next tier's for the calls beyond, and so on. The exact sum (in thousandths of
    a fen) is rounded half up to the fen once, for the whole statement. Other plans owe nothing here."""
    if plan.kind == "per_call":
        tiers = [(None, plan.price_per_1000_calls_fen or 0)]
    elif plan.kind == "tiered":
        tiers = [(t.up_to_calls, t.price_per_1000_calls_fen) for t in plan.tiers]
    else:
        return 0, []
    lines: list[Line] = []
    done = 0
    for bound, price in tiers:
        if done >= calls:
            break
        upto = calls if bound is None else min(bound, calls)
        n = upto - done
        if n > 0:
            lines.append(Line(done + 1, bound, n, price, n * price))
        done = upto
    total_millifen = sum(line.amount_millifen for line in lines)
    return (total_millifen + 500) // 1000, lines


def claim_size(block: int, quota: int | None, claimed: int) -> int:
    """How many calls a process claims at once: its block, but never beyond the quota, and at most
    a quarter of what is left (at least one) so that a few processes share the end of a quota."""
    if quota is None:
        return block
    left = quota - claimed
    if left <= 0:
        return 0
    return max(1, min(block, left // 4 or 1, left))
