"""Every command authorizes and records; every other public service function is a query."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import shujiao
from shujiao.commands import ANONYMOUS, SYSTEM, Actor, allow_anyone, command
from shujiao.errors import CommandContractBroken, PermissionDenied


def service_modules():  # type: ignore[no-untyped-def]
    for info in pkgutil.iter_modules(shujiao.__path__):
        if info.ispkg:
            try:
                yield importlib.import_module(f"shujiao.{info.name}.service")
            except ModuleNotFoundError:
                continue


def test_every_public_service_function_is_a_command_a_query_or_part_of_a_command():
    unmarked = []
    checked = 0
    for module in service_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            checked += 1
            marks = [getattr(fn, attr, None) for attr in
                     ("__shujiao_command__", "__shujiao_query__", "__shujiao_inside_command__",
                      "__shujiao_self_recording__")]
            if not any(marks):
                unmarked.append(f"{module.__name__}.{name}")
    assert checked > 30
    assert unmarked == [], "mark these @command, @query or @inside_command: " + ", ".join(unmarked)


def test_a_command_that_does_not_authorize_is_refused():
    @command("test.no_authorize")
    def sloppy(session: object, actor: Actor) -> None:
        pass

    with pytest.raises(CommandContractBroken, match="authorize"):
        sloppy(None, SYSTEM)


def test_a_command_that_does_not_record_is_refused():
    @command("test.no_record")
    def silent(session: object, actor: Actor) -> None:
        allow_anyone()

    with pytest.raises(CommandContractBroken, match="audit record"):
        silent(None, ANONYMOUS)


def test_a_refused_authorization_stops_the_command():
    from shujiao.commands import require_operator

    ran = []

    @command("test.operator_only")
    def operator_only(session: object, actor: Actor) -> None:
        require_operator(actor)
        ran.append(True)

    member = Actor(kind="user", username="m", user_id=1, member_id=2, member_kind="buyer", member_status="approved",
                   role="admin")
    with pytest.raises(PermissionDenied):
        operator_only(None, member)
    assert ran == []
