"""What every CLI command needs: the settings, and one transaction per unit of work."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session, sessionmaker

from shujiao.config import Settings, get_settings
from shujiao.db import make_engine, make_session_factory, unit_of_work
from shujiao.errors import DomainError
from shujiao.registry.statement import BundleCheck


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


KEYS_OPTION_HELP = ("the exchange's public keys JSON (GET /api/v1/keys), saved beforehand: pins who signed; "
                    "without it the bundle's own copy is used")


def check_bundle_file(bundle: Path, keys: Path | None,
                      verify: Callable[[Any, dict[str, Any] | None], BundleCheck]) -> BundleCheck:
    """Read a signed-statement bundle (and the pinned keys) and check it offline; prints every
    problem and exits 1 unless it verifies."""
    try:
        document = json.loads(bundle.read_text(encoding="utf-8"))
        keys_document = json.loads(keys.read_text(encoding="utf-8")) if keys else None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        typer.secho(f"NOT VERIFIED 未通过: cannot read the bundle or keys: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    check = verify(document, keys_document)
    if not check.ok:
        for problem in check.problems:
            typer.secho(f"NOT VERIFIED 未通过: {problem}", fg="red", err=True)
        raise typer.Exit(1)
    return check


def print_log_and_pinning(check: BundleCheck) -> None:
    typer.echo(f"log: {check.log_message}")
    if not check.keys_pinned:
        typer.secho("note: checked against the keys inside the bundle; pass --keys with the exchange's published "
                    "keys to know who signed 提示：未指定 --keys，仅验证完整性", fg="yellow")
