"""Athena that runs the SQL: DuckDB over the Glue catalog and the sandbox's S3.

moto answers every query SUCCEEDED with no rows.  Here ``StartQueryExecution`` queues the
query (``QUEUED``); the pump runs it (``RUNNING``) before the API call returns, then
``SUCCEEDED`` or ``FAILED`` with a ``StateChangeReason`` and ``AthenaError``.  DDL goes
to the Glue catalog (:mod:`eventlab.sandbox.athena.ddl`); other statements run in DuckDB
over views of the tables they name (:mod:`eventlab.sandbox.athena.data`).  Results are
written as CSV (every value quoted, as Athena writes them) to
``<OutputLocation>/<QueryExecutionId>.csv`` and served by ``GetQueryResults`` in pages
(``MaxResults`` up to 1000, ``NextToken``), the header row first, with ``ColumnInfo``.

A few Presto/Trino functions DuckDB lacks are defined as macros (``from_unixtime``,
``to_unixtime``, ``approx_distinct``, ``json_extract_scalar``, ``regexp_like``,
``from_iso8601_timestamp``); anything else is DuckDB's SQL dialect.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.athena import data as athena_data
from eventlab.sandbox.athena import ddl as athena_ddl

PRESTO_MACROS = (
    "CREATE OR REPLACE MACRO from_unixtime(x) AS make_timestamp(CAST(round(x * 1000000) AS BIGINT))",
    "CREATE OR REPLACE MACRO to_unixtime(t) AS epoch(t)",
    "CREATE OR REPLACE MACRO approx_distinct(x) AS approx_count_distinct(x)",
    "CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)",
    "CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)",
    "CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
)

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox
ATHENA_TYPES = {"VARCHAR": "varchar", "BIGINT": "bigint", "HUGEINT": "bigint", "INTEGER": "integer",
                "SMALLINT": "smallint", "TINYINT": "tinyint", "DOUBLE": "double", "FLOAT": "float",
                "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp", "BLOB": "varbinary",
                "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "UUID": "varchar",
                "UBIGINT": "bigint", "UINTEGER": "bigint"}
PRECISION = {"varchar": 2147483647, "bigint": 19, "integer": 10, "smallint": 5, "tinyint": 3,
             "double": 17, "float": 7, "timestamp": 3, "date": 0, "boolean": 0}


@dataclass
class QueryRun:
    state: str = "QUEUED"
    reason: str | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    statement_type: str = "DML"
    submitted: float = 0.0
    completed: float | None = None
    engine_ms: int = 0
    scanned: int = 0


def athena_type(duck_type: str) -> tuple[str, int, int]:
    text = str(duck_type).upper()
    match = re.match(r"DECIMAL\((\d+),\s*(\d+)\)", text)
    if match:
        return "decimal", int(match.group(1)), int(match.group(2))
    if text.endswith("[]"):
        return "array", 0, 0
    if text.startswith("STRUCT"):
        return "row", 0, 0
    if text.startswith("MAP"):
        return "map", 0, 0
    name = ATHENA_TYPES.get(text, text.lower())
    return name, PRECISION.get(name, 0), 0


def render(value: Any) -> str | None:
    """A value as Athena prints it in results."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return text + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, (date, Decimal, int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(str(render(v)) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


class AthenaService:
    name = "athena"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.runs: dict[str, QueryRun] = {}
        self._pending: list[tuple[Any, Any]] = []
        self._lock = threading.Lock()
        self._con: Any = None
        self._files: athena_data.TableFiles | None = None

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        from moto.athena.models import AthenaBackend
        from moto.athena.responses import AthenaResponse

        service = self

        def make_start(original: Any) -> Any:
            def start_query_execution(backend: Any, query: str, context: Any, config: Any,
                                      workgroup: str, execution_parameters: Any) -> str:
                exec_id = original(backend, query, context, config, workgroup, execution_parameters)
                execution = backend.executions[exec_id]
                execution._transitions = []  # the state is ours, not moto's state manager's
                execution.status = "QUEUED"
                service.runs[exec_id] = QueryRun(submitted=service.sandbox.clock.time())
                with service._lock:
                    service._pending.append((backend, execution))
                service.sandbox.pump.mark_dirty()
                return exec_id
            return start_query_execution

        patches.wrap(AthenaBackend, "start_query_execution", make_start,
                     "Athena queries really run (DuckDB over Glue tables and S3 objects)")

        def get_query_execution(response: Any) -> Any:
            exec_id = response._get_param("QueryExecutionId")
            execution = response.athena_backend.executions.get(exec_id)
            run = service.runs.get(exec_id)
            if execution is None or run is None:
                return response.error(f"QueryExecution {exec_id} was not found", 400)
            return json.dumps({"QueryExecution": service.describe(execution, run)})

        patches.replace(AthenaResponse, "get_query_execution", get_query_execution,
                        "GetQueryExecution reports the real state, reason and statistics")

        def get_query_results(response: Any) -> Any:
            exec_id = response._get_param("QueryExecutionId")
            run = service.runs.get(exec_id)
            if run is None:
                return response.error(f"QueryExecution {exec_id} was not found", 400)
            if run.state != "SUCCEEDED":
                message = (f"Query did not finish successfully. Final query state: FAILED\n{run.reason}"
                           if run.state == "FAILED" else
                           f"Query has not yet finished. Current state: {run.state}")
                return response.error(message, 400)
            max_results = int(response._get_param("MaxResults") or 1000)
            if not 1 <= max_results <= 1000:
                return response.error("MaxResults must be between 1 and 1000", 400)
            return json.dumps(service.page(run, max_results, response._get_param("NextToken")))

        patches.replace(AthenaResponse, "get_query_results", get_query_results,
                        "GetQueryResults returns the query's rows, paged, with column metadata")

    # -- answers -------------------------------------------------------------------
    def describe(self, execution: Any, run: QueryRun) -> dict[str, Any]:
        status: dict[str, Any] = {"State": run.state, "SubmissionDateTime": run.submitted}
        if run.completed is not None:
            status["CompletionDateTime"] = run.completed
        if run.reason:
            status["StateChangeReason"] = run.reason
            status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1100, "Retryable": False,
                                     "ErrorMessage": run.reason}
        total = int(((run.completed or self.sandbox.clock.time()) - run.submitted) * 1000)
        return {
            "QueryExecutionId": execution.id, "Query": execution.query,
            "StatementType": run.statement_type,
            "ResultConfiguration": execution.config or {},
            "QueryExecutionContext": execution.context or {},
            "Status": status,
            "Statistics": {"EngineExecutionTimeInMillis": run.engine_ms, "DataScannedInBytes": run.scanned,
                           "TotalExecutionTimeInMillis": max(total, run.engine_ms),
                           "QueryQueueTimeInMillis": 0, "ServicePreProcessingTimeInMillis": 0,
                           "QueryPlanningTimeInMillis": 0, "ServiceProcessingTimeInMillis": 0,
                           "ResultReuseInformation": {"ReusedPreviousResult": False}},
            "WorkGroup": execution.workgroup.name if execution.workgroup else "primary",
            "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
        }

    def page(self, run: QueryRun, max_results: int, token: str | None) -> dict[str, Any]:
        rows: list[list[Any]] = ([[n for n, _ in run.columns]] if run.statement_type == "DML" else []) + run.rows
        start = int(token) if token and token.isdigit() else 0
        chunk = rows[start:start + max_results]
        info = []
        for name, duck_type in run.columns:
            kind, precision, scale = athena_type(duck_type)
            info.append({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name,
                         "Label": name, "Type": kind, "Precision": precision, "Scale": scale,
                         "Nullable": "UNKNOWN", "CaseSensitive": kind == "varchar"})
        answer: dict[str, Any] = {
            "ResultSet": {"Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                                   for row in chunk],
                          "ResultSetMetadata": {"ColumnInfo": info}},
            "UpdateCount": 0,
        }
        if start + max_results < len(rows):
            answer["NextToken"] = str(start + max_results)
        return answer

    # -- the pump ------------------------------------------------------------------
    def poll(self) -> bool:
        with self._lock:
            pending, self._pending = self._pending, []
        for backend, execution in pending:
            self._run(backend, execution)
        return bool(pending)

    def _connection(self) -> Any:
        if self._con is None:
            import duckdb

            self._con = duckdb.connect()
            for macro in PRESTO_MACROS:
                try:
                    self._con.execute(macro)
                except Exception:  # an older DuckDB without one of the functions
                    pass
            assert self.sandbox.workdir is not None
            self._files = athena_data.TableFiles(self.sandbox, self.sandbox.workdir / "athena")
        return self._con

    def _run(self, backend: Any, execution: Any) -> None:
        run = self.runs[execution.id]
        run.state = execution.status = "RUNNING"
        context = execution.context or {}
        database = (context.get("Database") or "default").lower()
        started = time.perf_counter()
        try:
            con = self._connection()
            ddl = athena_ddl.handle(self.sandbox, execution.query, database)
            if ddl is not None:
                run.statement_type = "DDL"
                run.columns, run.rows = ddl
            else:
                self._select(con, execution.query, database, run)
                self._write_csv(execution, run)
            run.state = "SUCCEEDED"
        except Exception as exc:  # the query failed: its reason is the learner's to read
            run.state, run.reason = "FAILED", _reason(exc, database)
        run.engine_ms = int((time.perf_counter() - started) * 1000)
        run.completed = self.sandbox.clock.time()
        execution.status = run.state
        execution.end_time = run.completed

    def _select(self, con: Any, query: str, database: str, run: QueryRun) -> None:
        assert self._files is not None
        glue = self.sandbox.backend("glue")
        sql = re.sub(r'\b"?awsdatacatalog"?\s*\.\s*', "", query.strip().rstrip(";"), flags=re.I)
        words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql)}
        self._files.scanned = 0
        for db_name, db in list(glue.databases.items()):
            for table_name, table in list(db.tables.items()):
                if table_name.lower() not in words:
                    continue
                described = table.as_dict()
                described["_partitions"] = [p.as_dict() for p in table.partitions.values()]
                view = athena_data.view_sql(self.sandbox, self._files, described, con)
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{db_name}"')
                con.execute(f'CREATE OR REPLACE VIEW "{db_name}"."{table_name}" AS {view}')
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
        con.execute(f"SET schema = '{database}'")
        cursor = con.execute(sql)
        if cursor.description is None:
            return
        run.columns = [(d[0], str(d[1])) for d in cursor.description]
        run.rows = [[render(v) for v in row] for row in cursor.fetchall()]
        run.scanned = self._files.scanned

    def _write_csv(self, execution: Any, run: QueryRun) -> None:
        location = (execution.config or {}).get("OutputLocation")
        if not location and execution.workgroup is not None:
            location = ((execution.workgroup.configuration or {}).get("ResultConfiguration") or {}).get("OutputLocation")
            if location:
                location = location.rstrip("/") + f"/{execution.id}.csv"
        if not location:
            return
        from moto.s3.models import s3_backends

        lines = []
        for row in [[n for n, _ in run.columns]] + run.rows:
            lines.append(",".join("" if v is None else '"' + str(v).replace('"', '""') + '"' for v in row))
        text = "".join(line + "\n" for line in lines)
        bucket, key = athena_data.split_s3(location)
        s3_backends[self.sandbox.account_id]["aws"].put_object(bucket, key, text.encode())


def _reason(exc: Exception, database: str = "default") -> str:
    import duckdb

    message = str(exc).strip()
    if isinstance(exc, athena_ddl.DDLError):
        return message
    if isinstance(exc, duckdb.ParserException):
        return f"SYNTAX_ERROR: {message}"
    if isinstance(exc, duckdb.CatalogException):
        return _catalog_reason(message, database)
    if isinstance(exc, duckdb.BinderException):
        return f"{'COLUMN_NOT_FOUND' if 'column' in message.lower() else 'SYNTAX_ERROR'}: {message}"
    if isinstance(exc, (duckdb.ConversionException, duckdb.InvalidInputException)):
        return f"INVALID_CAST_ARGUMENT: {message}"
    return f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {message}"


_MISSING_SCHEMA = re.compile(r'because schema "?([^"\s]+?)"? does not exist')
_MISSING_TABLE = re.compile(r'Table with name "?([^"!\s]+)"? does not exist')
_MISSING_FUNCTION = re.compile(r'Function with name "?([^"!\s]+)"? does not exist')


def _catalog_reason(message: str, database: str) -> str:
    """DuckDB's catalog errors in Athena's words (``TABLE_NOT_FOUND: line 1:15: Table
    'awsdatacatalog.default.nope' does not exist``), without DuckDB's guesses ("Did you
    mean "pg_sequences"?" names DuckDB's own system tables, which Athena does not have)."""
    where = _position(message)
    schema, table, function = (_MISSING_SCHEMA.search(message), _MISSING_TABLE.search(message),
                               _MISSING_FUNCTION.search(message))
    if schema:
        return f"SCHEMA_NOT_FOUND: {where}Schema '{schema.group(1).split('.')[-1]}' does not exist"
    if table:
        parts = table.group(1).split(".")
        qualified = ".".join(["awsdatacatalog", *([database] if len(parts) == 1 else []), *parts][-3:])
        return f"TABLE_NOT_FOUND: {where}Table '{qualified}' does not exist"
    if function:
        return f"FUNCTION_NOT_FOUND: {where}Function '{function.group(1)}' not registered"
    first = message.splitlines()[0].removeprefix("Catalog Error: ")
    return f"SYNTAX_ERROR: {where}{first}"


def _position(message: str) -> str:
    """``line L:C: `` from DuckDB's ``LINE L: text`` and the caret under it."""
    found = re.search(r"LINE (\d+): (.*)\n( *)\^", message)
    if found is None:
        return ""
    column = len(found.group(3)) - len(f"LINE {found.group(1)}: ") + 1
    return f"line {found.group(1)}:{max(column, 1)}: "
