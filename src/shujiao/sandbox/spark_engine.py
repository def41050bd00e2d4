"""The sandbox engine on Apache Spark, for products whose data is beyond one machine.

The SQL arrives checked, in DuckDB's dialect (see :mod:`shujiao.sandbox.engines`); it is translated
to Spark SQL with sqlglot and runs in a fresh ``SparkSession`` scope that sees only the product's
Parquet tables as temporary views. Spark is locked down as far as it goes: no queries on file paths
(``spark.sql.runSQLOnFiles=false``), no Hive metastore, one query statement, and no functions that
call into the JVM (``reflect``/``java_method``). As with DuckDB, this is defence in depth behind the
checker.

One ``SparkSession`` is started per process, lazily, and reused: starting the JVM takes seconds,
a fresh session scope per run takes milliseconds. The master URL comes from
``SHUJIAO_SPARK_MASTER`` (default ``local[<threads>]``); the thread count and driver memory of the
first run's ``Limits`` fix the local session for the life of the process.

The result has the names and, where a lossless cast exists, the Arrow types DuckDB gives the same
query: the query is bound by DuckDB against empty tables of the same schemas (no data read), and
Spark's columns are renamed and cast to that schema. A CAST of a DOUBLE or DECIMAL to an integer
type is rewritten to round first (BROUND/ROUND) as DuckDB does, where Spark would truncate; for that
the query is qualified by sqlglot against the tables' column types. Differences that remain:

* division by zero fails the query (ANSI mode) where DuckDB returns ``inf``/``NULL``; ANSI mode is on
  because without it Spark turns overflows and bad casts into ``NULL`` silently, where DuckDB fails;
* ``AVG`` of a DECIMAL is computed exactly by Spark (scale + 4) and by DuckDB in double precision:
  both are returned as float64 but may differ in the last digits; ``STDDEV_SAMP``/``VAR_SAMP``/
  ``MEDIAN`` of doubles may differ in the last bits (a different summation order);
* the integer-cast rounding follows sqlglot's type inference, which is not DuckDB's everywhere
  (``CAST(int_col * 1.5 AS INT)`` is typed DOUBLE, DuckDB computes a DECIMAL): only exact .5 ties
  can then round the other way;
* a value Spark computes that does not fit DuckDB's type (e.g. a Spark ``BIGINT`` beyond
  ``INTEGER``) keeps Spark's type rather than fail (logged);
* if the tables' schemas cannot be read on the driver (a remote path), the result keeps Spark's own
  names (``count(1)`` for an unaliased ``COUNT(*)``) and types (``sum(int)`` is int64 where DuckDB
  gives decimal128(38, 0)).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from shujiao.sandbox.engines import _LOCKDOWN, EngineFailed, Limits, _quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

MASTER_ENV = "SHUJIAO_SPARK_MASTER"

# Spark SQL functions that call arbitrary static Java methods: no checked query needs them, and a
# checker bug that let one through would run code in the driver/executors.
_JVM_FUNCTIONS = frozenset({"reflect", "java_method", "try_reflect"})

# Set on the shared session and again on every fresh scope, in case the process's session was
# created elsewhere with other settings (SQL settings are per session scope in Spark 4).
_SESSION_SQL_SETTINGS = {
    "spark.sql.runSQLOnFiles": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
}

# The JVM's own logging: errors only, and not once per failed task of a buyer's query (the failure
# reaches the caller as EngineFailed, whose detail the caller logs once).
_LOG4J2_PROPERTIES = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = fatal
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = fatal
"""

_session_lock = threading.Lock()
_session: SparkSession | None = None


def spark_session(limits: Limits) -> SparkSession:
    """The process's SparkSession, started on first use with ``limits``' threads and memory."""
    global _session
    with _session_lock:
        if _session is None:
            _session = _start_session(limits)
        return _session


def _start_session(limits: Limits) -> SparkSession:
    from pyspark.sql import SparkSession

    # PySpark logs every failed query's message (which can quote the provider's values) with its
    # stack trace; the detail goes to our caller in EngineFailed instead.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    master = os.environ.get(MASTER_ENV) or f"local[{limits.threads}]"
    scratch = Path(tempfile.mkdtemp(prefix="shujiao-spark-"))
    log4j = scratch / "log4j2.properties"
    log4j.write_text(_LOG4J2_PROPERTIES)
    builder = (
        SparkSession.builder.master(master)
        .appName("shujiao-sandbox")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.catalogImplementation", "in-memory")  # no Hive metastore, no tables but ours
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))  # not ./spark-warehouse
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log4j.as_uri()}")
    )
    if master.startswith("local"):
        # The default 200 shuffle partitions are 200 tiny tasks per aggregate on one machine.
        builder = builder.config("spark.sql.shuffle.partitions", str(max(2, limits.threads * 2)))
        builder = builder.config("spark.driver.memory", f"{limits.memory_limit_mb}m")
    for key, value in _SESSION_SQL_SETTINGS.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


ColumnTypes = dict[str, dict[str, str]]  # table -> column -> DuckDB type, as sqlglot takes a schema


def to_spark_sql(sql: str, column_types: ColumnTypes | None = None) -> str:
    """``sql`` (one DuckDB SELECT) in Spark's dialect; refuses anything else (``EngineFailed``).

    With the tables' ``column_types`` the query is also qualified and typed, so that a CAST to an
    integer type rounds as DuckDB's does (Spark truncates)."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        raise EngineFailed("error", f"cannot parse: {exc}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise EngineFailed("error", "not a single query")
    (query,) = statements
    for function in query.find_all(exp.Anonymous):  # sqlglot knows none of them: they parse as Anonymous
        if function.name.lower() in _JVM_FUNCTIONS:
            raise EngineFailed("error", f"function {function.name} is not allowed")
    if column_types is not None:
        query = _with_duckdb_integer_casts(query, column_types)
    # Quote every identifier: Spark accepts only ASCII letters, digits and _ unquoted, and the
    # providers' columns are often Chinese (金额, 区县).
    return query.sql(dialect="spark", identify=True)


_INTEGER_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
                  exp.DataType.Type.BIGINT}
_FLOAT_TYPES = {exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE}


def _with_duckdb_integer_casts(query: exp.Query, column_types: ColumnTypes) -> exp.Query:
    """``query`` with each CAST of a fractional value to an integer type rounding first: DuckDB
    rounds a DOUBLE half to even and a DECIMAL half away from zero, Spark truncates both."""
    try:
        typed = annotate_types(qualify(query.copy(), schema=column_types, dialect="duckdb",
                                       validate_qualify_columns=False),
                               schema=column_types, dialect="duckdb")
    except (sqlglot.errors.SqlglotError, ValueError, KeyError) as exc:
        log.warning("spark engine: query not typed, integer casts truncate as in Spark: %s", exc)
        return query
    for cast in list(typed.find_all(exp.Cast)):
        if cast.to.this not in _INTEGER_TYPES or cast.this.type is None:
            continue
        if cast.this.type.this in _FLOAT_TYPES:
            cast.this.replace(exp.Anonymous(this="BROUND", expressions=[cast.this.copy(), exp.Literal.number(0)]))
        elif cast.this.type.this == exp.DataType.Type.DECIMAL:
            cast.this.replace(exp.Round(this=cast.this.copy(), decimals=exp.Literal.number(0)))
    return typed


def table_column_types(tables: Mapping[str, Path]) -> dict[str, pa.Schema] | None:
    """Each table's Arrow schema, from its Parquet footers (file or directory); ``None`` if unreadable
    on the driver (the result then keeps Spark's own names and types)."""
    try:
        return {name: ds.dataset(str(path), format="parquet", partitioning="hive").schema
                for name, path in tables.items()}
    except (OSError, pa.ArrowException) as exc:
        log.warning("spark engine: table schemas unreadable on the driver, Spark's own result types: %s", exc)
        return None


def duckdb_reference(sql: str, schemas: Mapping[str, pa.Schema]) -> tuple[ColumnTypes | None, pa.Schema | None]:
    """The tables' DuckDB column types, and the Arrow schema DuckDB gives ``sql`` bound against
    empty tables of ``schemas`` (no data is read); ``None`` for what DuckDB cannot give."""
    connection = duckdb.connect(config={"threads": 1, "memory_limit": "256MB", "temp_directory": ""})
    try:
        column_types: ColumnTypes = {}
        for name, schema in schemas.items():
            connection.register("__shujiao_empty", schema.empty_table())
            connection.execute(f"CREATE TABLE {_quoted(name)} AS SELECT * FROM __shujiao_empty")
            connection.unregister("__shujiao_empty")
            relation = connection.table(_quoted(name))
            column_types[name] = {column: str(dtype) for column, dtype in zip(relation.columns, relation.dtypes,
                                                                              strict=True)}
        # The buyer's SQL runs here too (on no rows): the same lockdown as DuckDBEngine.
        connection.execute("SET allowed_paths = []")
        for statement in _LOCKDOWN:
            connection.execute(statement)
    except (duckdb.Error, pa.ArrowException) as exc:
        connection.close()
        log.warning("spark engine: no DuckDB copy of the tables' schemas, Spark's own result types: %s", exc)
        return None, None
    try:
        try:
            return column_types, connection.sql(sql).to_arrow_reader().schema
        except (duckdb.Error, pa.ArrowException) as exc:
            log.warning("spark engine: DuckDB cannot bind the query, Spark's own result types: %s", exc)
            return column_types, None
    finally:
        connection.close()


def align_to(result: pa.Table, reference: pa.Schema | None) -> pa.Table:
    """``result`` with ``reference``'s column names, and its types where the values cast losslessly."""
    if reference is None:
        return result.replace_schema_metadata(None)
    if len(reference) != result.num_columns:
        log.warning("spark engine: %d columns where DuckDB has %d, Spark's names and types kept",
                    result.num_columns, len(reference))
        return result.replace_schema_metadata(None)
    columns, fields = [], []
    for column, target in zip(result.columns, reference, strict=True):
        if column.type != target.type:
            try:
                column = pc.cast(column, target.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                log.warning("spark engine: column %s kept as %s, not %s: %s", target.name, column.type,
                            target.type, exc)
        columns.append(column)
        fields.append(pa.field(target.name, column.type))  # no Spark field metadata, nullable as DuckDB
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _failure(exc: BaseException, timed_out: bool) -> EngineFailed:
    message = str(exc)
    if timed_out:
        return EngineFailed("timeout", message)
    if "OutOfMemoryError" in message or "SparkOutOfMemoryError" in message:
        return EngineFailed("memory", message)
    return EngineFailed("error", message)


class SparkEngine:
    name = "spark"

    def run(self, sql: str, *, tables: Mapping[str, Path], limits: Limits) -> pa.Table:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        schemas = table_column_types(tables)
        column_types, reference = duckdb_reference(sql, schemas) if schemas is not None else (None, None)
        spark_sql = to_spark_sql(sql, column_types)
        shared = spark_session(limits)
        context = shared.sparkContext
        job_group = f"shujiao-sandbox-{uuid.uuid4().hex}"
        timed_out = threading.Event()

        def cancel() -> None:
            timed_out.set()
            context.cancelJobGroup(job_group)

        # Job groups are per thread (PySpark pins each Python thread to a JVM thread), so concurrent
        # runs cancel only their own jobs. Interrupting task threads is safe here: tasks only read
        # Parquet, and without it a long task would run on until it next checks for cancellation.
        context.setJobGroup(job_group, "shujiao sandbox query", interruptOnCancel=True)
        timer = threading.Timer(limits.time_limit_seconds, cancel)
        timer.daemon = True
        timer.start()
        session = shared.newSession()  # temporary views of this run are invisible to every other
        try:
            for key, value in _SESSION_SQL_SETTINGS.items():
                session.conf.set(key, value)
            for name, path in tables.items():
                session.read.parquet(str(path)).createOrReplaceTempView(_backquoted(name))
            frame: DataFrame = session.sql(spark_sql)
            # One row more than allowed tells "too many" without fetching the whole result.
            result = frame.limit(limits.max_result_rows + 1).toArrow()
        except (PySparkException, Py4JError) as exc:
            raise _failure(exc, timed_out.is_set()) from exc
        finally:
            timer.cancel()
            context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
            context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
            _drop_views(session, tables)
        if result.num_rows > limits.max_result_rows:
            raise EngineFailed("too_many_rows", f"more than {limits.max_result_rows} rows")
        return align_to(result, reference)


def _backquoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _drop_views(session: SparkSession, tables: Mapping[str, Path]) -> None:
    # The scope is dropped with the Python object anyway; dropping the views frees their plans now.
    for name in tables:
        try:
            session.catalog.dropTempView(_backquoted(name))
        except Exception:  # noqa: BLE001 -- cleanup must not hide the run's own result or failure
            log.debug("spark engine: could not drop view %s", name, exc_info=True)
