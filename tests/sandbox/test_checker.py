"""The policy check and its rewrites, without a database: what runs is what was checked."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shujiao.sandbox import execution
from shujiao.sandbox.checker import QueryRefused, check
from shujiao.sandbox.policy import DpPolicy, SandboxPolicy

POLICY = SandboxPolicy(min_group_size=3, columns=[
    {"name": "区县", "use": "group"}, {"name": "year", "use": "group"},
    {"name": "amount", "use": "aggregate", "lower": Decimal(0), "upper": Decimal(100)}])
DP = POLICY.model_copy(update={"dp": DpPolicy()})
TABLE = pa.table({"区县": ["a"] * 5 + ["b"] * 2, "year": [1, 1, 2, 2, 2, 1, 1],
                  "amount": [10.0, 20.0, 30.0, 400.0, -5.0, 1.0, 2.0]})


def run(sql: str) -> list[tuple[object, ...]]:
    connection = duckdb.connect()
    connection.register("data", TABLE)
    return connection.execute(sql).fetchall()


def test_exact_mode_adds_the_k_condition_to_the_buyers_having() -> None:
    checked = check("SELECT 区县, SUM(amount) AS s FROM data GROUP BY 1 HAVING SUM(amount) > 0", POLICY)
    assert "COUNT(*) >= 3" in checked.sql and checked.outputs == ("区县", "s")
    assert run(checked.sql) == [("a", 455.0)]  # b has 2 rows < k


def test_unaliased_outputs_get_stable_names() -> None:
    checked = check("SELECT year, COUNT(*), AVG(amount) FROM data GROUP BY year ORDER BY year", POLICY)
    assert checked.outputs == ("year", "COUNT(*)", "AVG(amount)")
    connection = duckdb.connect()
    connection.register("data", TABLE)
    assert [c[0] for c in connection.execute(checked.sql).description] == list(checked.outputs)


def test_dp_mode_rewrites_to_sums_and_counts_over_the_clamped_copy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    checked = check("SELECT 区县 AS d, AVG(amount) AS a, COUNT(*) AS n FROM data GROUP BY 区县 ORDER BY a DESC LIMIT 1",
                    DP)
    assert checked.dp and checked.group_outputs == ("d",) and checked.order_by == (("a", True),)
    assert checked.limit == 1 and [m.kind for m in checked.measures] == ["avg", "count"]
    assert "LIMIT" not in checked.sql and "ORDER" not in checked.sql  # applied after the noise
    source = tmp_path / "source.parquet"
    pq.write_table(TABLE, source)
    prepared = execution.prepare_copy(source=source, file_format="parquet", policy=DP, out=tmp_path / "copy.parquet")
    connection = duckdb.connect()
    rows = {r[0]: r[1:] for r in connection.execute(
        checked.sql.replace("FROM data", f"FROM read_parquet('{prepared.path}')")).fetchall()}
    # amount clamped into [0, 100] in the copy: 400 counts as 100 and -5 as 0; counts untouched.
    assert rows["a"] == (5, 160.0, 5) and rows["b"] == (2, 3.0, 2)
    assert prepared.rows_kept == prepared.rows_in == 7  # DP mode suppresses nothing before the noise


def test_exact_copy_keeps_only_cells_of_k_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "source.parquet"
    pq.write_table(TABLE, source)
    prepared = execution.prepare_copy(source=source, file_format="parquet", policy=POLICY, out=tmp_path / "c.parquet")
    # Cells (区县, year): a/1 has 2 rows, a/2 has 3, b/1 has 2; only a/2 reaches k = 3.
    assert (prepared.rows_in, prepared.rows_kept) == (7, 3)
    assert pq.read_table(prepared.path).column_names == ["区县", "year", "amount"]


@pytest.mark.parametrize("sql,rule", [
    ("SELECT 区县, COUNT(*) FROM data GROUP BY 区县 HAVING COUNT(*) > 1", "dp_shape"),
    ("SELECT COUNT(DISTINCT 区县) FROM data", "dp_shape"),
    ("SELECT SUM(amount + 1) FROM data", "dp_shape"),
    ("SELECT 区县 FROM data", "row_level_not_allowed"),
    ("SELECT 区县, COUNT(*) FROM data GROUP BY 区县 ORDER BY SUM(amount)", "dp_shape"),
])
def test_dp_mode_refuses_what_it_cannot_make_private(sql: str, rule: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        check(sql, DP)
    assert refused.value.rule == rule


def test_row_level_output_only_of_group_columns_when_allowed() -> None:
    rows_policy = POLICY.model_copy(update={"allow_row_level": True})
    assert check("SELECT 区县, year FROM data WHERE year = 1 LIMIT 5", rows_policy).kind == "rows"
    with pytest.raises(QueryRefused) as refused:
        check("SELECT 区县, amount FROM data", rows_policy)
    assert refused.value.rule == "aggregate_column_outside_aggregate"


def test_refusals_name_the_part_in_both_languages() -> None:
    with pytest.raises(QueryRefused) as refused:
        check("SELECT secret FROM data", POLICY)
    assert refused.value.part == "secret" and "secret" in refused.value.zh and "secret" in refused.value.en
    with pytest.raises(QueryRefused) as refused:
        check("SELECT 1" + " " * 20_001, POLICY)
    assert refused.value.rule == "too_long"


def test_a_policy_that_cannot_be_private_is_invalid() -> None:
    with pytest.raises(ValueError):
        SandboxPolicy(columns=[{"name": "amount", "use": "aggregate"}], dp=DpPolicy())
    with pytest.raises(ValueError):
        SandboxPolicy(columns=[{"name": "x", "use": "group"}, {"name": "x", "use": "aggregate"}])
    with pytest.raises(ValueError):
        SandboxPolicy(columns=[{"name": "x", "use": "group"}], psi_key_column="x")
