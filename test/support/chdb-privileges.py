"""The users of infra/clickhouse on current ClickHouse, in process (chDB): grants and constraints.

Used by test/privilege-matrix.test.ts with the venv of ensure_chdb_venv (infra/scripts/setup-host.sh).
chDB is clickhouse-local: it always logs in as `default` and reads ./config.xml at import. So each
role runs in a process of its own, in a directory whose users.d holds the repository's
users.d/parsl-usage.xml and current/zz-current-only.xml (as docker-compose mounts them) plus one
file that makes `default` that role: its profile, its quota and its grants, copied from
zz-current-only.xml. What this proves is how the role's profile (with its constraints) and its
grants behave on current ClickHouse; not the login itself (password, networks), which chDB has not.

  python chdb-privileges.py --role admin|ingest|analyst|dashboard --work DIR --repo REPO

`admin` applies the migrations into DIR/data (database parsl_usage) and creates other_db.secret;
the other roles run every probe and print {"probe": {"ok": bool, "text": str}} as JSON.
"""

import argparse
import importlib.util
import json
import os
import re
import sys

PROBES = {
    "insert": "INSERT INTO parsl_usage.workflow_changes (workflow_id, sign, version, kafka_partition, kafka_offset) VALUES ('chdb-probe', 1, 1, 0, 1)",
    "insert-events": "INSERT INTO parsl_usage.events (kafka_partition, kafka_offset) VALUES (0, 1)",
    "insert-rollup": "INSERT INTO parsl_usage.rollup_daily (day) VALUES ('2026-01-01')",
    "select": "SELECT count() FROM parsl_usage.workflow_changes",
    "select-versions": "SELECT count() FROM parsl_usage.workflow_versions FINAL",
    "select-view": "SELECT count() FROM parsl_usage.workflows",
    "select-rollup": "SELECT count() FROM parsl_usage.rollup_daily",
    "select-replicas": "SELECT count() FROM system.replicas WHERE queue_size > 0",
    "create": "CREATE TABLE parsl_usage.evil (x UInt8) ENGINE = Memory",
    "alter": "ALTER TABLE parsl_usage.workflow_changes ADD COLUMN evil UInt8",
    "alter-delete": "ALTER TABLE parsl_usage.workflow_changes DELETE WHERE 1",
    "drop": "DROP TABLE parsl_usage.rollup_daily",
    "truncate": "TRUNCATE TABLE parsl_usage.workflow_changes",
    "optimize": "OPTIMIZE TABLE parsl_usage.workflow_changes FINAL",
    "rename": "RENAME TABLE parsl_usage.rollup_daily TO parsl_usage.renamed",
    "system": "SYSTEM DROP MARK CACHE",
    "set-limit": "SET max_memory_usage = 100000000000",
    "set-limit-zero": "SET max_memory_usage = 0",
    "set-allow-ddl": "SET allow_ddl = 1",
    "settings-clause": "SELECT 1 SETTINGS max_execution_time = 0",
    "fn-url": "SELECT * FROM url('http://127.0.0.1:1/', 'TSV', 's String')",
    "fn-file": "SELECT * FROM file('/etc/passwd', 'TSV', 's String')",
    "fn-remote": "SELECT * FROM remote('127.0.0.2', system.one, 'default', '')",
    "other-db": "SELECT count() FROM other_db.secret",
    "create-user": "CREATE USER chdb_probe_user",
}

BASE_USERS = """<clickhouse>
  <profiles><default/></profiles>
  <users><default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</clickhouse>"""


def prepare(role: str, work: str, repo: str) -> str:
    """The directory the role's process runs in, with config.xml, users.xml and users.d."""
    d = os.path.join(work, role)
    os.makedirs(os.path.join(d, "users.d"), exist_ok=True)
    users = os.path.join(d, "users.xml")
    with open(os.path.join(d, "config.xml"), "w") as f:
        f.write(
            f"<clickhouse><users_config>{users}</users_config><user_directories><users_xml>"
            f"<path>{users}</path></users_xml></user_directories></clickhouse>"
        )
    with open(users, "w") as f:
        f.write(BASE_USERS)
    current = open(os.path.join(repo, "infra/clickhouse/current/zz-current-only.xml")).read()
    for src, name in [
        ("infra/clickhouse/users.d/parsl-usage.xml", "parsl-usage.xml"),
        ("infra/clickhouse/current/zz-current-only.xml", "zz-current-only.xml"),
    ]:
        with open(os.path.join(repo, src)) as i, open(os.path.join(d, "users.d", name), "w") as o:
            o.write(i.read())
    grants = ""
    if role != "admin":
        m = re.search(rf"<{role}>\s*<allow_databases remove=\"remove\"/>.*?(<grants>.*?</grants>)", current, re.S)
        if not m:
            raise SystemExit(f"no grants for {role} in zz-current-only.xml")
        grants = m.group(1)
    with open(os.path.join(d, "users.d", "zzz-default-is-the-role.xml"), "w") as f:
        f.write(
            "<clickhouse><users><default>"
            '<password_sha256_hex remove="remove"/><password></password>'
            '<networks replace="replace"><ip>::/0</ip></networks>'
            f'<profile>{role}</profile><quota>{role}</quota><allow_databases remove="remove"/>{grants}'
            "</default></users></clickhouse>"
        )
    return d


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--role", required=True, choices=["admin", "ingest", "analyst", "dashboard"])
    p.add_argument("--work", required=True)
    p.add_argument("--repo", required=True)
    a = p.parse_args()
    d = prepare(a.role, a.work, a.repo)
    # what infra/clickhouse/entrypoint.sh exports; the values do not matter here (chDB logs in as default)
    for u in ["ADMIN", "INGEST", "ANALYST", "DASHBOARD", "DEFAULT"]:
        os.environ[f"CLICKHOUSE_{u}_PASSWORD_SHA256"] = "0" * 64
        os.environ[f"CLICKHOUSE_{u}_NETWORK"] = "::/0"
    os.chdir(d)  # clickhouse-local reads ./config.xml
    from chdb import session

    s = session.Session(os.path.join(a.work, "data"))

    def q(sql: str) -> dict:
        try:
            r = s.query(sql, "TabSeparated")
            err = getattr(r, "error_message", None)
            err = err() if callable(err) else err
            if err:
                return {"ok": False, "text": str(err)}
            data = r.bytes() if hasattr(r, "bytes") else bytes(r)
            return {"ok": True, "text": data.decode("utf8").strip()}
        except Exception as e:  # chdb raises on some errors and reports others in the result
            return {"ok": False, "text": str(e)}

    if a.role == "admin":
        spec = importlib.util.spec_from_file_location("chdb_run", os.path.join(a.repo, "test/support/chdb-run.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mig = os.path.join(a.repo, "infra/clickhouse/migrations")
        failures = []
        for f in sorted(x for x in os.listdir(mig) if x.endswith(".sql")):
            for st in mod.split_statements(open(os.path.join(mig, f)).read().replace("${db}", "parsl_usage")):
                r = q(st)
                if not r["ok"]:
                    failures.append(f"{f}: {r['text'][:200]}")
        for st in ["CREATE DATABASE IF NOT EXISTS other_db", "CREATE TABLE IF NOT EXISTS other_db.secret (s String) ENGINE = Memory"]:
            r = q(st)
            if not r["ok"]:
                failures.append(r["text"][:200])
        print(json.dumps({"user": q("SELECT currentUser()"), "failures": failures}))
        return
    print(json.dumps({"user": q("SELECT currentUser()"), "probes": {k: q(v) for k, v in PROBES.items()}}))


if __name__ == "__main__":
    sys.exit(main())
