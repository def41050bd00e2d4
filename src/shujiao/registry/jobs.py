"""Jobs that own their transactions: run by the CLI (``shujiao cert expire-due``) and by every
server process's background loop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session, sessionmaker

from shujiao.commands import SYSTEM
from shujiao.config import Settings
from shujiao.db import unit_of_work
from shujiao.errors import Conflict
from shujiao.registry import service


def expire_due(factory: sessionmaker[Session], settings: Settings, *, now: dt.datetime,
               progress: Callable[[list[str]], Iterable[str]] = iter) -> int:
    """Record the expiry of every live certificate past its validity, one transaction each (a
    failure leaves the others recorded). Several processes may sweep at once: the row lock makes
    one of them expire a certificate and the others find it already done."""
    with unit_of_work(factory) as session:
        due = service.due_for_expiry(session, now=now)
    expired = 0
    for number in progress(due):
        try:
            with unit_of_work(factory) as session:
                service.expire(session, SYSTEM, settings=settings, number=number, now=now)
            expired += 1
        except Conflict:
            pass
    return expired
