"""The migrations, a change log and every view on current ClickHouse, in process (chDB).

Used by test/clickhouse-current.test.ts with the venv of ensure_chdb_venv
(infra/scripts/setup-host.sh). The test writes a history on its ClickHouse 18.16, exports
workflow_changes, and compares what this script prints with the same queries on 18.16.

In a fresh chDB data directory, this script:
  1. applies every migration file of --migrations in name order, statement by statement, split
     as services/aggregator/src/provision/migrate.ts splitStatements does (`${db}` replaced; a statement
     ends with a line ending in `;`; lines starting with `--` are left out);
  2. inserts the exported rows into <db>.workflow_changes, so that every materialized view
     (workflow_versions and the rollups) is fed as the aggregator feeds it;
  3. applies every migration a second time, which must neither fail nor change any table
     (same tables and definitions, same row count and content hash per table);
  4. writes, as JSON to --out: the rows of every view, of every SummingMergeTree rollup summed
     by its sorting key (groups whose sums are all zero left out), of every ReplacingMergeTree
     read with FINAL, of every plain MergeTree and the row count of any other table, each as
     TabSeparated lines, sorted, with the query that produced them.

Failed statements are reported in the JSON ("failures"), not raised, so the test can show them
all; anything else (no chDB, unreadable input) exits non-zero with a traceback.
"""

import argparse
import json
import os
import re
import shutil
import sys
import time


def split_statements(sql: str) -> list[str]:
    """Port of splitStatements in services/aggregator/src/provision/migrate.ts."""
    out: list[str] = []
    current: list[str] = []
    for line in sql.split("\n"):
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip()
            if stmt.endswith(";"):
                stmt = stmt[:-1]
            stmt = stmt.strip()
            if stmt:
                out.append(stmt)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        out.append(rest)
    return out


class QueryError(Exception):
    pass


class ChDB:
    def __init__(self, path: str):
        from chdb import session

        self.session = session.Session(path)

    def query(self, sql: str, fmt: str = "TabSeparated") -> str:
        try:
            res = self.session.query(sql, fmt)
        except Exception as e:  # chdb raises on some errors and reports others in the result
            raise QueryError(str(e)) from None
        err = getattr(res, "error_message", None)
        if callable(err):
            err = err()
        if err:
            raise QueryError(str(err))
        data = res.bytes() if hasattr(res, "bytes") else bytes(res)
        return data.decode("utf8")

    def lines(self, sql: str) -> list[str]:
        text = self.query(sql)
        return [] if text == "" else text.rstrip("\n").split("\n")

    def close(self) -> None:
        close = getattr(self.session, "close", None)
        if callable(close):
            close()


def sql_string(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


ADD_COLUMN = re.compile(r"^ALTER TABLE \S+\.([A-Za-z0-9_]+)\s+ADD COLUMN\s+([A-Za-z_][A-Za-z0-9_]*)\s")


def apply_migrations(ch: ChDB, files: list[str], db: str, failures: list[dict], run: int) -> list[dict]:
    applied = []
    for path in files:
        with open(path, encoding="utf8") as f:
            statements = split_statements(f.read().replace("${db}", db))
        ok = 0
        for i, stmt in enumerate(statements):
            try:
                # As the runner (migrate.ts, addedColumn): an ADD COLUMN whose column exists is
                # skipped, since 18.16 has no ADD COLUMN IF NOT EXISTS.
                added = ADD_COLUMN.match(stmt.strip())
                if added and ch.lines(
                    f"SELECT name FROM system.columns WHERE database = {sql_string(db)} "
                    f"AND table = {sql_string(added.group(1))} AND name = {sql_string(added.group(2))}"
                ):
                    ok += 1
                    continue
                ch.query(stmt)
                ok += 1
            except QueryError as e:
                failures.append(
                    {"run": run, "file": os.path.basename(path), "index": i, "statement": stmt, "error": str(e)}
                )
        applied.append({"file": os.path.basename(path), "statements": len(statements), "ok": ok})
    return applied


def objects(ch: ChDB, db: str) -> list[dict]:
    rows = ch.lines(
        f"SELECT name, engine, create_table_query FROM system.tables WHERE database = {sql_string(db)} ORDER BY name"
    )
    out = []
    for line in rows:
        name, engine, create = line.split("\t", 2)
        out.append({"name": name, "engine": engine, "create": create})
    return out


def columns(ch: ChDB, db: str, table: str) -> list[tuple[str, str, bool]]:
    """(name, type, in sorting key) in table order."""
    rows = ch.lines(
        f"SELECT name, type, is_in_sorting_key FROM system.columns "
        f"WHERE database = {sql_string(db)} AND table = {sql_string(table)}"
    )
    return [(n, t, k == "1") for n, t, k in (r.split("\t") for r in rows)]


def logical_query(ch: ChDB, db: str, name: str, engine: str) -> str | None:
    """The rows of a table or view whatever its merge state; None for a materialized view."""
    if engine == "View":
        return f"SELECT * FROM {db}.{name}"
    if engine == "MaterializedView":
        return None
    if engine == "SummingMergeTree":
        return rollup_query(db, name, columns(ch, db, name))
    if engine == "ReplacingMergeTree":
        return f"SELECT * FROM {db}.{name} FINAL"
    if engine == "MergeTree":
        return f"SELECT * FROM {db}.{name}"
    return f"SELECT count() FROM {db}.{name}"


def fingerprint(ch: ChDB, db: str) -> dict:
    """Definition of every object, and row count + content hash of every table's logical rows
    (merges that run meanwhile change no fingerprint)."""
    out = {}
    for o in objects(ch, db):
        entry = {"engine": o["engine"], "create": o["create"]}
        q = logical_query(ch, db, o["name"], o["engine"])
        if q is not None and o["engine"] != "View":
            entry["rows"] = ch.query(f"SELECT count(), sum(cityHash64(*)) FROM ({q})").strip()
        out[o["name"]] = entry
    return out


def rollup_query(db: str, table: str, cols: list[tuple[str, str, bool]]) -> str:
    """A SummingMergeTree summed by its sorting key, as the test builds it from 18.16's columns."""
    keys = [n for n, _, k in cols if k]
    sums = [n for n, _, k in cols if not k]
    return (
        f"SELECT {', '.join(keys)}, {', '.join(f'sum({s}) AS {s}' for s in sums)} FROM {db}.{table} "
        f"GROUP BY {', '.join(keys)} HAVING NOT ({' AND '.join(f'{s} = 0' for s in sums)})"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--migrations", required=True, help="directory of NNN-name.sql files")
    p.add_argument("--database", required=True)
    p.add_argument("--rows", required=True, help="workflow_changes rows exported from 18.16")
    p.add_argument("--format", default="RowBinary", help="format of --rows")
    p.add_argument("--structure", required=True, help="file holding the rows' structure: 'name Type, ...'")
    p.add_argument("--data-dir", required=True, help="chDB data directory (created; removed first)")
    p.add_argument("--out", required=True, help="where to write the JSON result")
    p.add_argument("--extra", help="JSON {name: SELECT}: more queries whose rows are compared, read after the tables")
    p.add_argument("--statements", help="JSON [statement]: run last, in order; their errors are reported")
    a = p.parse_args()

    db = a.database
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", db):
        raise SystemExit(f"database name {db!r} is not an identifier")
    files = sorted(
        os.path.join(a.migrations, f) for f in os.listdir(a.migrations) if f.endswith(".sql")
    )
    with open(a.structure, encoding="utf8") as f:
        structure = f.read().strip()
    rows_path = os.path.abspath(a.rows)

    import chdb

    shutil.rmtree(a.data_dir, ignore_errors=True)
    ch = ChDB(a.data_dir)
    t0 = time.monotonic()
    timings = {}
    failures: list[dict] = []
    result: dict = {
        "chdb_version": chdb.__version__,
        "server_version": ch.query("SELECT version()").strip(),
        "timezone": ch.query("SELECT timezone()").strip(),
        "today": ch.query("SELECT today()").strip(),
        "migration_files": [os.path.basename(f) for f in files],
        "failures": failures,
    }

    result["first_run"] = apply_migrations(ch, files, db, failures, 1)
    timings["migrate"] = time.monotonic() - t0

    t = time.monotonic()
    ch.query(
        f"INSERT INTO {db}.workflow_changes "
        f"SELECT * FROM file({sql_string(rows_path)}, {sql_string(a.format)}, {sql_string(structure)})"
    )
    result["workflow_changes_rows"] = int(ch.query(f"SELECT count() FROM {db}.workflow_changes").strip())
    timings["load"] = time.monotonic() - t

    t = time.monotonic()
    before = fingerprint(ch, db)
    result["second_run"] = apply_migrations(ch, files, db, failures, 2)
    after = fingerprint(ch, db)
    result["second_run_changes"] = [
        {"object": name, "before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    timings["second_run"] = time.monotonic() - t

    t = time.monotonic()
    views, rollups, tables, errors = {}, {}, {}, []

    def collect(into: dict, name: str, query: str) -> None:
        try:
            into[name] = {"query": query, "rows": sorted(ch.lines(query))}
        except QueryError as e:
            errors.append({"object": name, "query": query, "error": str(e)})

    for o in objects(ch, db):
        name, engine = o["name"], o["engine"]
        q = logical_query(ch, db, name, engine)
        if q is not None:
            collect(views if engine == "View" else rollups if engine == "SummingMergeTree" else tables, name, q)
    extra: dict = {}
    if a.extra:
        with open(a.extra, encoding="utf8") as f:
            for name, query in json.load(f).items():
                collect(extra, name, query)
    statement_errors: list[dict] = []
    if a.statements:
        with open(a.statements, encoding="utf8") as f:
            for stmt in json.load(f):
                try:
                    ch.query(stmt)
                except QueryError as e:
                    statement_errors.append({"statement": stmt, "error": str(e)})
    result.update(
        extra=extra,
        statement_errors=statement_errors,
        views=views,
        rollups=rollups,
        tables=tables,
        materialized_views=sorted(o["name"] for o in objects(ch, db) if o["engine"] == "MaterializedView"),
        query_errors=errors,
    )
    timings["read"] = time.monotonic() - t
    result["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    ch.close()

    with open(a.out, "w", encoding="utf8") as f:
        json.dump(result, f)
    print(
        f"chdb {result['chdb_version']} (ClickHouse {result['server_version']}): "
        f"{len(files)} migration files, {result['workflow_changes_rows']} rows, {len(views)} views, "
        f"{len(rollups)} rollups, {len(failures)} failed statements, timings {result['timings_s']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
