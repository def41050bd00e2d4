"""The policy check of a buyer's sandbox SQL (查询审查), before anything runs.

The query is parsed with sqlglot and walked node by node against an allow-list: one SELECT over
the one table the contract grants (``data``), no subqueries, joins, set operations, CTEs, window
functions, table functions or unknown functions; columns only as the provider's output policy opens
them (:mod:`shujiao.sandbox.policy`). A refusal names the rule and the part of the query that broke
it. What the engine runs is SQL regenerated from the checked tree, never the buyer's text, so what
was checked is what runs.

The checked query is rewritten for its output control:

- exact mode: ``HAVING COUNT(*) >= k`` joins the buyer's own HAVING, so no group under k leaves the
  engine (the prepared copy already holds only cells of at least k rows; this is the second guard);
- DP mode: the select list becomes the group keys, ``COUNT(*) AS __n`` and, per SUM/AVG, the sum of
  the value (``__s{i}``; the DP copy holds it clamped into the policy's bounds) and its non-null
  count (``__c{i}``);
  :mod:`shujiao.sandbox.dp` adds the noise, then ORDER BY and LIMIT apply to the noisy release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from shujiao.sandbox.dp import Measure
from shujiao.sandbox.policy import SandboxPolicy

TABLE = "data"
MAX_SQL_LENGTH = 20_000
COUNT_COLUMN = "__n"

# Refusal rules: (Chinese, English). The details name the offending part.
RULES: dict[str, tuple[str, str]] = {
    "syntax": ("SQL 无法解析", "the SQL cannot be parsed"),
    "too_long": ("SQL 过长", "the SQL is too long"),
    "one_select": ("只能提交一条 SELECT 查询", "submit exactly one SELECT query"),
    "table_not_granted": ("只能查询合约授权的表 data", "only the granted table `data` may be queried"),
    "join_not_allowed": ("不允许连接（JOIN）或多表查询", "joins and several tables are not allowed"),
    "subquery_not_allowed": ("不允许子查询、WITH 或集合运算", "subqueries, WITH and set operations are not allowed"),
    "window_not_allowed": ("不允许窗口函数", "window functions are not allowed"),
    "function_not_allowed": ("不允许使用该函数", "this function is not allowed"),
    "syntax_not_allowed": ("不允许使用该语法", "this SQL construct is not allowed"),
    "column_not_open": ("该列未向查询开放", "this column is not open to queries"),
    "aggregate_column_outside_aggregate": ("聚合列只能出现在聚合函数中（求和、平均、计数）",
                                           "an aggregate-only column may appear only inside SUM/AVG/COUNT"),
    "aggregate_argument": ("聚合函数的参数只能是聚合列的算术表达式",
                           "an aggregate's argument may only be arithmetic over aggregate columns"),
    "min_max_not_allowed": ("提供方不允许最大值/最小值（它们返回单条记录的值）",
                            "the provider does not allow MIN/MAX (they return one record's value)"),
    "row_level_not_allowed": ("只能返回聚合结果，不能逐行输出", "only aggregates may be returned, not rows"),
    "not_grouped": ("非聚合的输出列必须出现在 GROUP BY 中", "a non-aggregate output must be in GROUP BY"),
    "dp_shape": ("差分隐私模式只支持 COUNT、SUM、AVG 分组聚合", "DP mode supports only grouped COUNT, SUM and AVG"),
    "reserved_name": ("以 __ 开头的列名为系统保留", "output names starting with __ are reserved"),
    "no_policy": ("该产品尚未设置沙箱输出策略", "the product has no sandbox output policy yet"),
}


class QueryRefused(Exception):
    def __init__(self, rule: str, part: str = "") -> None:
        zh, en = RULES[rule]
        part = part[:200]
        super().__init__(f"{en}: {part}" if part else en)
        self.rule, self.part = rule, part
        self.zh = f"{zh}：{part}" if part else zh
        self.en = f"{en}: {part}" if part else en


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # what the engine runs (DuckDB dialect) over the table ``data``
    kind: Literal["aggregate", "rows"]
    dp: bool
    outputs: tuple[str, ...]  # the buyer's result columns, in order
    group_outputs: tuple[str, ...] = ()  # DP: the result columns holding group keys
    measures: tuple[Measure, ...] = ()  # DP: what the noise applies to
    order_by: tuple[tuple[str, bool], ...] = ()  # DP: (output, descending), applied after noise
    limit: int | None = None  # DP: applied after noise
    columns_read: tuple[str, ...] = field(default=())  # policy columns the query touches


# Expression nodes that carry no data access of their own.
_STRUCTURE = (exp.Select, exp.From, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit,
              exp.Offset, exp.Alias, exp.Identifier, exp.Column, exp.Table, exp.TableAlias, exp.Star,
              exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.DataType, exp.DataTypeParam, exp.Var,
              exp.Distinct, exp.Tuple)
_OPERATORS = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.IntDiv, exp.EQ, exp.NEQ, exp.GT, exp.GTE,
              exp.LT, exp.LTE, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Not, exp.And, exp.Or,
              exp.Case, exp.If, exp.Cast, exp.TryCast, exp.NullSafeEQ, exp.NullSafeNEQ)
_SCALAR_FUNCTIONS = (exp.Least, exp.Greatest, exp.Coalesce, exp.Round, exp.Floor, exp.Ceil, exp.Abs, exp.Year,
                     exp.Month, exp.Day, exp.Quarter, exp.DayOfWeek, exp.DateTrunc, exp.TimestampTrunc,
                     exp.Extract, exp.Lower, exp.Upper, exp.Substring, exp.Length, exp.Trim, exp.Concat,
                     exp.DPipe, exp.Nullif, exp.Sqrt, exp.Ln, exp.Log, exp.Pow, exp.Sign)
_AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Stddev, exp.StddevSamp, exp.StddevPop,
               exp.Variance, exp.VariancePop, exp.Median, exp.PercentileCont, exp.PercentileDisc)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.Paren, exp.Literal, exp.Cast, exp.DataType,
               exp.DataTypeParam, exp.Column, exp.Identifier, exp.Star, exp.Distinct)
_ALLOWED = _STRUCTURE + _OPERATORS + _SCALAR_FUNCTIONS + _AGGREGATES


def _describe(node: exp.Expression) -> str:
    try:
        return node.sql(dialect="duckdb")[:120]
    except Exception:  # noqa: BLE001 — only for the message
        return type(node).__name__


def _parse(sql: str) -> exp.Select:
    if len(sql) > MAX_SQL_LENGTH:
        raise QueryRefused("too_long", f"{len(sql)} > {MAX_SQL_LENGTH}")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryRefused("syntax", str(exc).splitlines()[0] if str(exc) else "") from None
    if len(statements) != 1:
        raise QueryRefused("one_select", f"{len(statements)} statements")
    (tree,) = statements
    if isinstance(tree, (exp.Union, exp.Intersect, exp.Except)):
        raise QueryRefused("subquery_not_allowed", "UNION/INTERSECT/EXCEPT")
    if not isinstance(tree, exp.Select):
        raise QueryRefused("one_select", type(tree).__name__.upper())
    return tree


def _check_shape(tree: exp.Select) -> None:
    if tree.args.get("with") or tree.args.get("with_"):
        raise QueryRefused("subquery_not_allowed", "WITH")
    for key in ("joins", "laterals", "pivots"):
        if tree.args.get(key):
            raise QueryRefused("join_not_allowed", _describe(tree.args[key][0]))
    for key in ("qualify", "windows", "into", "sample", "connect", "prewhere", "settings", "format", "kind",
                "locks", "match", "options", "operation_modifiers"):
        if tree.args.get(key):
            raise QueryRefused("syntax_not_allowed", key.upper())
    source = _from(tree)
    if source is None:
        raise QueryRefused("table_not_granted", "no FROM")
    table = source.this
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        if isinstance(table, (exp.Subquery, exp.Select)):
            raise QueryRefused("subquery_not_allowed", _describe(table))
        raise QueryRefused("table_not_granted", _describe(table))
    if table.args.get("db") or table.args.get("catalog") or table.name.lower() != TABLE:
        raise QueryRefused("table_not_granted", _describe(table))
    for key in ("joins", "laterals", "pivots", "sample", "version", "when", "changes", "hints", "partition"):
        if table.args.get(key):
            raise QueryRefused("syntax_not_allowed", _describe(table))
    group = tree.args.get("group")
    if group is not None and any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals", "all")):
        raise QueryRefused("syntax_not_allowed", "GROUPING SETS/CUBE/ROLLUP/ALL")
    distinct = tree.args.get("distinct")
    if distinct is not None and distinct.args.get("on"):
        raise QueryRefused("syntax_not_allowed", "DISTINCT ON")
    for key in ("limit", "offset"):
        clause = tree.args.get(key)
        if clause is not None:
            value = clause.expression if isinstance(clause, (exp.Limit, exp.Offset)) else clause
            if not (isinstance(value, exp.Literal) and value.is_int):
                raise QueryRefused("syntax_not_allowed", f"{key.upper()} must be a whole number")


def _from(tree: exp.Select) -> exp.From | None:
    return tree.args.get("from_") or tree.args.get("from")  # sqlglot 30 names it ``from_``


def _table_names(tree: exp.Select) -> set[str]:
    source = _from(tree)
    assert source is not None  # _check_shape has seen it
    table = source.this
    names = {TABLE}
    if table.alias:
        names.add(table.alias.lower())
    return names


def _inside_aggregate(node: exp.Expression) -> exp.Expression | None:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, _AGGREGATES):
            return parent
        parent = parent.parent
    return None


def _check_nodes(tree: exp.Select, policy: SandboxPolicy) -> set[str]:
    """Every node allowed; every column open and used as its rule says. The policy columns read."""
    tables = _table_names(tree)
    uses = {c.name.lower(): c for c in policy.columns}
    aliases = {e.alias.lower() for e in tree.expressions if isinstance(e, exp.Alias)}
    read: set[str] = set()
    for node in tree.walk():
        if node is tree:
            continue
        if isinstance(node, (exp.Select, exp.Subquery, exp.Union, exp.Intersect, exp.Except, exp.With)):
            raise QueryRefused("subquery_not_allowed", _describe(node))
        if isinstance(node, exp.Window):
            raise QueryRefused("window_not_allowed", _describe(node))
        if isinstance(node, (exp.Placeholder, exp.Parameter, exp.SessionParameter)):
            raise QueryRefused("syntax_not_allowed", _describe(node))
        if not isinstance(node, _ALLOWED):
            rule = "function_not_allowed" if isinstance(node, exp.Func) else "syntax_not_allowed"
            name = node.name if isinstance(node, exp.Anonymous) else _describe(node)
            raise QueryRefused(rule, name)
        if isinstance(node, (exp.Min, exp.Max)) and not policy.allow_min_max:
            raise QueryRefused("min_max_not_allowed", _describe(node))
        if isinstance(node, _AGGREGATES) and _inside_aggregate(node) is not None:
            raise QueryRefused("aggregate_argument", _describe(node))
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            raise QueryRefused("row_level_not_allowed" if not policy.allow_row_level else "syntax_not_allowed",
                               "SELECT *")
        if isinstance(node, exp.Column):
            if node.table and node.table.lower() not in tables:
                raise QueryRefused("table_not_granted", node.table)
            if isinstance(node.this, exp.Star):
                raise QueryRefused("syntax_not_allowed", _describe(node))
            name = node.name.lower()
            rule = uses.get(name)
            if rule is None:
                if name in aliases and not node.table and isinstance(
                        node.find_ancestor(exp.Order, exp.Having, exp.Group), (exp.Order, exp.Having, exp.Group)):
                    continue  # a reference to an output alias
                raise QueryRefused("column_not_open", node.name)
            read.add(rule.name)
            aggregate = _inside_aggregate(node)
            if rule.use == "aggregate":
                if aggregate is None:
                    raise QueryRefused("aggregate_column_outside_aggregate", node.name)
                for arg in aggregate.iter_expressions():
                    for inner in arg.walk():
                        if not isinstance(inner, _ARITHMETIC):
                            raise QueryRefused("aggregate_argument", _describe(aggregate))
    return read


def _is_aggregate(expression: exp.Expression) -> bool:
    return any(isinstance(node, _AGGREGATES) for node in expression.walk())


def _output_name(expression: exp.Expression) -> str:
    """The result column's name: the alias, a bare column's name, else the expression as written."""
    if isinstance(expression, exp.Alias):
        return expression.alias
    if isinstance(expression, exp.Column) and not isinstance(expression.this, exp.Star):
        return expression.name
    return expression.sql(dialect="duckdb")


def _named_outputs(tree: exp.Select) -> exp.Select:
    """Every output aliased with its name (so the engine's result columns are the names the buyer
    sees, on any engine), and positional GROUP BY keys replaced by the expressions they point at
    (the DP rewrite changes the select list's positions)."""
    items = list(tree.expressions)
    group = tree.args.get("group")
    if group is not None:
        keys = []
        for key in group.expressions:
            if isinstance(key, exp.Literal) and key.is_int:
                position = int(key.name)
                if not 1 <= position <= len(items):
                    raise QueryRefused("not_grouped", f"GROUP BY {position}")
                item = items[position - 1]
                keys.append((item.this if isinstance(item, exp.Alias) else item).copy())
            else:
                keys.append(key)
        group.set("expressions", keys)
    tree.set("expressions", [item if isinstance(item, exp.Alias) else exp.alias_(item, _output_name(item), quoted=True)
                             for item in items])
    return tree


def _check_outputs(tree: exp.Select, policy: SandboxPolicy) -> Literal["aggregate", "rows"]:
    group = tree.args.get("group")
    group_keys = [g for g in group.expressions] if group is not None else []
    aggregates = [e for e in tree.expressions if _is_aggregate(e)]
    for expression in tree.expressions:
        name = expression.alias if isinstance(expression, exp.Alias) else ""
        if name.startswith("__"):
            raise QueryRefused("reserved_name", name)
    if not group_keys and not aggregates:
        if not policy.allow_row_level:
            raise QueryRefused("row_level_not_allowed", _describe(tree.expressions[0]))
        if tree.args.get("having"):
            raise QueryRefused("syntax_not_allowed", "HAVING")
        return "rows"
    key_sql = {g.sql(dialect="duckdb") for g in group_keys}
    aliases_of_keys = {g.name.lower() for g in group_keys if isinstance(g, exp.Column) and not g.table}
    for expression in tree.expressions:
        if _is_aggregate(expression):
            continue
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if isinstance(inner, exp.Literal):
            continue
        if inner.sql(dialect="duckdb") in key_sql:
            continue
        if isinstance(expression, exp.Alias) and expression.alias.lower() in aliases_of_keys:
            continue
        raise QueryRefused("not_grouped", _describe(expression))
    return "aggregate"


def _suppressed(tree: exp.Select, k: int) -> exp.Select:
    at_least_k = exp.GTE(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(k))
    having = tree.args.get("having")
    condition = exp.and_(exp.Paren(this=having.this), at_least_k) if having is not None else at_least_k
    return tree.having(condition, append=False, copy=False)


def _dp_plan(tree: exp.Select, policy: SandboxPolicy, read: set[str]) -> CheckedQuery:
    """The engine query and the measures of a DP release (COUNT/SUM/AVG per group only)."""
    if tree.args.get("having") or tree.args.get("distinct") or tree.args.get("offset"):
        raise QueryRefused("dp_shape", "HAVING/DISTINCT/OFFSET")
    group = tree.args.get("group")
    group_keys = list(group.expressions) if group is not None else []
    key_sql = {g.sql(dialect="duckdb"): g for g in group_keys}
    select: list[exp.Expression] = []
    outputs: list[str] = []
    group_outputs: list[str] = []
    measures: list[Measure] = []
    for position, expression in enumerate(tree.expressions):
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        name = _output_name(expression)
        if name in outputs:
            raise QueryRefused("dp_shape", f"duplicate output {name}")
        outputs.append(name)
        if not _is_aggregate(inner):
            group_outputs.append(name)
            select.append(exp.alias_(inner.copy(), name, quoted=True))
            continue
        if isinstance(inner, exp.Count) and isinstance(inner.this, exp.Star):
            measures.append(Measure(output=name, kind="count", count_column=COUNT_COLUMN))
            continue
        argument = inner.this
        if not isinstance(inner, (exp.Count, exp.Sum, exp.Avg)) or not isinstance(argument, exp.Column):
            raise QueryRefused("dp_shape", _describe(expression))
        rule = policy.rule(next(c.name for c in policy.columns if c.name.lower() == argument.name.lower()))
        assert rule is not None  # _check_nodes has seen it
        count_column, sum_column = f"__c{position}", f"__s{position}"
        select.append(exp.alias_(exp.Count(this=argument.copy()), count_column, quoted=True))
        if isinstance(inner, exp.Count):
            measures.append(Measure(output=name, kind="count", count_column=count_column))
            continue
        if rule.use != "aggregate" or rule.lower is None or rule.upper is None:
            raise QueryRefused("dp_shape", _describe(expression))
        # The DP copy stores the column clamped into [lower, upper] as DOUBLE (execution.prepare_copy).
        select.append(exp.alias_(exp.Sum(this=argument.copy()), sum_column, quoted=True))
        measures.append(Measure(output=name, kind="sum" if isinstance(inner, exp.Sum) else "avg",
                                count_column=count_column, sum_column=sum_column, lower=rule.lower,
                                upper=rule.upper))
    if not measures:
        raise QueryRefused("dp_shape", "no COUNT/SUM/AVG")
    for output in group_outputs:
        expression = next(e for e in tree.expressions if _output_name(e) == output)
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if inner.sql(dialect="duckdb") not in key_sql and not (
                isinstance(inner, exp.Column) and any(isinstance(g, exp.Column) and g.name.lower() == output.lower()
                                                      for g in group_keys)):
            raise QueryRefused("not_grouped", _describe(expression))
    select.append(exp.alias_(exp.Count(this=exp.Star()), COUNT_COLUMN, quoted=True))
    source = _from(tree)
    assert source is not None
    engine_query = exp.select(*select).from_(source.this.copy())
    where = tree.args.get("where")
    if where is not None:
        engine_query = engine_query.where(where.this.copy())
    if group_keys:
        engine_query = engine_query.group_by(*[g.copy() for g in group_keys])
    order: list[tuple[str, bool]] = []
    order_clause = tree.args.get("order")
    for ordered in (order_clause.expressions if order_clause is not None else []):
        key = ordered.this
        if isinstance(key, exp.Literal) and key.is_int and 1 <= int(key.name) <= len(outputs):
            order.append((outputs[int(key.name) - 1], bool(ordered.args.get("desc"))))
        elif isinstance(key, exp.Column) and not key.table and key.name in outputs:
            order.append((key.name, bool(ordered.args.get("desc"))))
        else:
            raise QueryRefused("dp_shape", f"ORDER BY {_describe(key)}: order by an output name")
    limit_clause = tree.args.get("limit")
    limit = int(limit_clause.expression.name) if limit_clause is not None else None
    return CheckedQuery(sql=engine_query.sql(dialect="duckdb"), kind="aggregate", dp=True, outputs=tuple(outputs),
                        group_outputs=tuple(group_outputs), measures=tuple(measures), order_by=tuple(order),
                        limit=limit, columns_read=tuple(sorted(read)))


def check(sql: str, policy: SandboxPolicy) -> CheckedQuery:
    """The query as the engine will run it, or :class:`QueryRefused` naming the rule it breaks."""
    tree = _parse(sql)
    _check_shape(tree)
    tree = _named_outputs(tree)
    read = _check_nodes(tree, policy)
    kind = _check_outputs(tree, policy)
    if policy.dp is not None:
        if kind == "rows":
            raise QueryRefused("row_level_not_allowed", _describe(tree.expressions[0]))
        return _dp_plan(tree, policy, read)
    checked = _suppressed(tree.copy(), policy.min_group_size) if kind == "aggregate" else tree.copy()
    return CheckedQuery(sql=checked.sql(dialect="duckdb"), kind=kind, dp=False,
                        outputs=tuple(_output_name(e) for e in tree.expressions), columns_read=tuple(sorted(read)))
