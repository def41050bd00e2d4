"""What every CLI command needs: the settings, and one transaction per unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session, sessionmaker

from shujiao.config import Settings, get_settings
from shujiao.db import make_engine, make_session_factory, unit_of_work
from shujiao.errors import DomainError


@cache
def settings() -> Settings:
    return get_settings()


@cache
def session_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings().database_url))


@contextmanager
def transaction() -> Iterator[Session]:
    """One committed transaction; a domain error is printed in both languages and exits 1."""
    try:
        with unit_of_work(session_factory()) as session:
            yield session
    except DomainError as exc:
        typer.secho(f"错误 / error [{exc.code}]: {exc.zh} / {exc.en}", fg="red", err=True)
        raise typer.Exit(1) from exc


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
