"""``shujiao valuation …``: income and cost without a database, market from a file or from the
exchange's settled trades."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from shujiao.cli import app
from tests.factories import make_listed_product, make_member, make_operator
from tests.test_cli import cli_env  # noqa: F401 — the fixture
from tests.valuation.test_service import settle

runner = CliRunner()


def test_income_from_a_yaml_file_printed_as_tables(tmp_path):
    inputs = tmp_path / "income.yaml"
    inputs.write_text("income: [1000000]\ndiscount_rate: 0.1\nremaining_life: 3\n", encoding="utf-8")
    shown = runner.invoke(app, ["valuation", "income", str(inputs)])
    assert shown.exit_code == 0, shown.output
    # 100万/yr × 3 years at 10 % → ¥2,486,851.99; i = 12 % → ¥2,401,831.27 (see test_formulas)
    assert "¥2,486,851.99" in shown.output and "0.909091" in shown.output and "¥2,401,831.27" in shown.output
    # Options override the file: two years → 1,000,000 × 2.1 / 1.21 = ¥1,735,537.19
    shorter = runner.invoke(app, ["valuation", "income", str(inputs), "--remaining-life", "2", "--json"])
    assert json.loads(shorter.output)["value"]["fen"] == 173_553_719


def test_income_from_options_only_and_a_share_variant():
    # R = 500万, K = 20 %, 2 years at 10 % → ¥1,735,537.19
    shown = runner.invoke(app, ["valuation", "income", "--variant", "share", "--income", "5000000",
                                "--share-rate", "0.2", "--discount-rate", "0.1", "--remaining-life", "2", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["value"]["fen"] == 173_553_719


def test_cost_from_json_with_the_quality_score_as_an_option(tmp_path):
    inputs = tmp_path / "cost.json"
    inputs.write_text(json.dumps({"costs": {"collection": "100000", "storage": "20000"}, "taxes": "1000"}))
    # TC = 120,000 + 1,000 = 121,000; k = 80/100 → ¥96,800.00
    shown = runner.invoke(app, ["valuation", "cost", str(inputs), "--quality-score", "80"])
    assert shown.exit_code == 0, shown.output
    assert "¥96,800.00" in shown.output and "121,000.00" in shown.output


def test_bad_inputs_exit_1_with_the_reason(tmp_path):
    inputs = tmp_path / "cost.json"
    inputs.write_text(json.dumps({"costs": {"collection": "100000"}}))
    refused = runner.invoke(app, ["valuation", "cost", str(inputs)])
    assert refused.exit_code == 1 and "须填写贬值率" in refused.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("income: [1, 2\n")
    assert runner.invoke(app, ["valuation", "income", str(broken)]).exit_code == 1
    by_order = runner.invoke(app, ["valuation", "market", "--comparables", str(_write(tmp_path, [{"order_id": 1}]))])
    assert by_order.exit_code == 1 and "--database" in by_order.output


def _write(tmp_path, data):  # type: ignore[no-untyped-def]
    path = tmp_path / "comparables.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def test_market_from_a_file_of_comparables(tmp_path):
    # (1,000 × 1.2 + 1,500 × 0.8 × 1.05) / 2 = (1,200 + 1,260) / 2 = ¥1,230.00
    path = _write(tmp_path, [{"reference": "案例A", "price": "1000", "volume_factor": "1.2"},
                             {"reference": "案例B", "price": "1500", "quality_factor": "0.8", "other_factor": "1.05"}])
    shown = runner.invoke(app, ["valuation", "market", "--comparables", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "¥1,230.00" in shown.output and "案例B" in shown.output


def test_market_from_the_exchanges_settled_trades(cli_env, session_factory, storage, settings, tmp_path):  # noqa: F811
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=10_000_00)
    first = settle(session_factory, buyer, make_listed_product(session_factory, storage, provider, operator,
                                                               settings=settings, price_fen=1_000_00))
    second = settle(session_factory, buyer, make_listed_product(session_factory, storage, provider, operator,
                                                                settings=settings, price_fen=1_600_00))
    listed = runner.invoke(app, ["valuation", "comparables", "--domain", "信用"])
    assert listed.exit_code == 0 and "¥1,600.00" in listed.output and "¥1,000.00" in listed.output

    # The two latest trades, plus a factor on the first from the file:
    # (1,000 × 1.1 + 1,600) / 2 = ¥1,350.00
    inputs = tmp_path / "market.yaml"
    inputs.write_text(f"comparables:\n  - order_id: {first}\n    supply_demand_factor: 1.1\n", encoding="utf-8")
    shown = runner.invoke(app, ["valuation", "market", str(inputs), "--database", "--latest", "2", "--json"])
    assert shown.exit_code == 0, shown.output
    result = json.loads(shown.output)
    assert result["value"]["fen"] == 1_350_00
    assert [c["order_id"] for c in result["intermediates"]["comparables"]] == [first, second]
