"""The pure parts: identifiers, person keys, screening a table; and the CLI that computes keys."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from shujiao.cli import app
from shujiao.config import Settings
from shujiao.consent import core, service

KEY = core.hmac_key("a-test-secret-that-is-long-enough-0123456789")


@pytest.mark.parametrize("raw,normal", [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
                                        ("0086 13800138000", "13800138000")])
def test_phones_are_normalized_before_hashing(raw, normal):  # type: ignore[no-untyped-def]
    assert core.normalize_phone(raw) == normal
    assert core.person_key(KEY, "gm", "phone", raw) == core.person_key(KEY, "gm", "phone", normal)


def test_id_numbers_need_their_check_character():  # type: ignore[no-untyped-def]
    assert core.normalize_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(core.BadIdentifier):
        core.normalize_id_number("110105194912310021")
    # A phone and an ID number never share a key; the suites' keys differ; the secret matters.
    assert core.person_key(KEY, "gm", "id_number", "11010519491231002X") != core.person_key(
        KEY, "gm", "phone", "13800138000")
    assert core.person_key(KEY, "gm", "phone", "13800138000") != core.person_key(
        KEY, "international", "phone", "13800138000")
    assert core.person_key(core.hmac_key("another-secret-0123456789-0123456789"), "gm", "phone",
                           "13800138000") != core.person_key(KEY, "gm", "phone", "13800138000")


def test_screening_keeps_consenting_rows_and_counts_them():  # type: ignore[no-untyped-def]
    keys = [core.person_key(KEY, "gm", "phone", f"1380000000{i}") for i in range(4)]
    table = pa.table({"pk": [keys[0], keys[0], keys[1], keys[2], keys[3].upper(), None], "v": [1, 2, 3, 4, 5, 6]})
    restriction = core.Restriction(scenario_id=1, key_column="pk", on_missing="exclude",
                                   allowed={keys[0]: (10, 100), keys[3]: (13, 103)}, tag="t")
    kept, screened = core.screen_table(table, restriction)
    assert kept.column("v").to_pylist() == [1, 2, 5] and kept.schema == table.schema
    assert (screened.rows_in, screened.rows_kept, screened.rows_excluded) == (6, 3, 3)
    assert screened.used == {keys[0]: 2, keys[3]: 1}
    nobody = core.Restriction(scenario_id=1, key_column="pk", on_missing="exclude", allowed={}, tag="t")
    assert core.screen_table(table, nobody)[0].num_rows == 0
    with pytest.raises(Exception, match="person key column"):
        core.Screen(core.Restriction(scenario_id=1, key_column="missing", on_missing="exclude", allowed={},
                                     tag="t"))(table)


def test_the_cli_replaces_a_phone_column_by_person_keys(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from shujiao import cli_support

    monkeypatch.setenv("SHUJIAO_SECRET_KEY", "a-cli-secret-that-is-long-enough-0123456789")
    cli_support.settings.cache_clear()
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("phone,amount\n13800138000,1\n+86 13900139000,2\n")
    result = CliRunner().invoke(app, ["consent", "person-key", "--csv", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    converted = pacsv.read_csv(out)
    current = Settings(secret_key="a-cli-secret-that-is-long-enough-0123456789")
    assert converted.column_names == ["person_key", "amount"]
    assert converted.column("person_key").to_pylist() == [
        service.person_key(current, kind="phone", value=v) for v in ("13800138000", "13900139000")]
    assert CliRunner().invoke(app, ["consent", "person-key", "123"]).exit_code != 0
    cli_support.settings.cache_clear()
