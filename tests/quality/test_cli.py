"""``shujiao quality profile`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shujiao.cli import app

RULES = """\
key: [id]
fields:
  - {column: id, required: true}
  - {column: mobile, validator: mobile}
"""


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "people.csv"
    data.write_text("id,mobile\n1,13800000001\n2,1380000000\n2,13800000003\n,13800000004\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return data, rules


def test_profile_prints_the_score_table(tmp_path: Path) -> None:
    data, rules = write_inputs(tmp_path)
    result = CliRunner().invoke(app, ["quality", "profile", str(data), "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    assert "4 rows" in result.output
    for label in ("完整性", "数据格式合规性", "X = 1 − A/B", "Worst fields", "1380000000"):
        assert label in result.output


def test_profile_json_and_out(tmp_path: Path) -> None:
    data, rules = write_inputs(tmp_path)
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["quality", "profile", str(data), "--rules", str(rules), "--json",
                                      "--out", str(out), "--now", "2026-11-23T00:00:00"])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    printed = json.loads(result.stdout)
    assert printed == written
    assert written["profile"]["rows"] == 4
    subs = {s["code"]: (s["A"], s["B"]) for i in written["score"]["indicators"] for s in i["sub"]}
    assert subs["format"] == (3, 4) and subs["element"] == (3, 4) and subs["uniqueness"] == (1, 3)
    assert written["score"]["grade"] in "ABCD"


def test_bad_rules_exit_with_a_message(tmp_path: Path) -> None:
    data, rules = write_inputs(tmp_path)
    rules.write_text("fields:\n  - {column: mobile, validator: phone}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["quality", "profile", str(data), "--rules", str(rules)])
    assert result.exit_code == 1
    assert "bad_rules" in result.output and "fields[0].validator" in result.output


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["quality", "profile", str(tmp_path / "data.bin")])
    assert result.exit_code == 2 and "--format" in result.output
    result = CliRunner().invoke(app, ["quality", "profile", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and "unreadable_file" in result.output
