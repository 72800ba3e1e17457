/**
 * The fair peer of the aggregator (issue 17): ClickHouse's own Kafka engine feeding the SAME
 * rollup tables (002-rollups.sql, 006, 007) through materialized views, written the way a
 * ClickHouse user would write them without a join: every message is parsed on its own, a
 * launch counts the run and its dimensions, a closure adds what it carries (completed, apps,
 * failures, execution time) and turns one `running` into one `completed`. Nothing remembers
 * which messages were already seen, so duplicates and replays count again, and facts that need
 * both halves (a closure-only run, the closure's apps per dimension, legacy execution times,
 * the run's day from the first receipt) are out of reach.
 *
 * The peer's database is migrated like the aggregator's (same rollup tables, same views); the
 * peer never writes `workflow_changes`, so the migrations' own views stay idle and only the
 * views below write. Pipeline: Kafka table -> parse view (into a Null table) -> one view per
 * rollup. The rollup views read FROM the parse view, not FROM its Null target: 18.16 pushes a
 * block on to the views of a view, but not to the views of a view's TO table.
 * Runs on ClickHouse 18.16 (Kafka engine arguments positional: broker list, topic, group,
 * format, row delimiter; no headers, no message timestamp: the day is the day of ingestion).
 */

export type Ch = (query: string) => Promise<string>;

/** Columns every rollup view reads; one row per message. */
const PARSED_COLUMNS = `
    workflow_id String, is_closure UInt8, protocol String, tracking_level UInt8,
    parsl_version String, python_minor String, platform String, project_name String,
    is_test UInt8, executors Array(String), providers Array(String), launchers Array(String),
    app_count Int64, app_fails Int64, execution_time Float64, release_date Date, day Date`;

/**
 * One message -> one parsed row, by regex (Parsl's json.dumps puts a space after ':', which
 * visitParamExtract* does not accept). No backslashes: [.] and [0-9] keep the SQL literal plain.
 */
export function parseSelect(db: string, queue: string): string {
  return `SELECT
      extract(raw, '"(?:correlator|uuid)": *"([^"]*)"') AS workflow_id,
      toUInt8(position(raw, '"end":') > 0) AS is_closure,
      if(substring(raw, 1, 1) = '1', 'v1', 'legacy') AS protocol,
      toUInt8OrZero(extract(raw, '"tracking_level": *([0-9]+)')) AS tracking_level,
      extract(raw, '"parsl_v": *"([^"]*)"') AS parsl_version,
      extract(extract(raw, '"python_v": *"([^"]*)"'), '^([0-9]+[.][0-9]+)') AS python_minor,
      extract(raw, '"(?:platform[.]system|os)": *"([^"]*)"') AS platform,
      extract(raw, '"project_name": *"([^"]*)"') AS project_name,
      toUInt8(position(raw, '"test": true') > 0) AS is_test,
      extractAll(raw, '"(parsl[.]executors[.][^"]*)"') AS executors,
      extractAll(raw, '"(parsl[.]providers[.][^"]*)"') AS providers,
      extractAll(raw, '"(parsl[.]launchers[.][^"]*)"') AS launchers,
      toInt64OrZero(extract(raw, '"(?:app_count|t_apps)": *([0-9]+)')) AS app_count,
      toInt64OrZero(extract(raw, '"(?:app_fails|failed)": *([0-9]+)')) AS app_fails,
      if(position(raw, '"execution_time":') > 0,
         toFloat64OrZero(extract(raw, '"execution_time": *([0-9.]+)')), -1.) AS execution_time,
      toDate(if(match(parsl_version, '^[0-9]{4}[.][0-9]{2}[.][0-9]{2}$'),
                replaceAll(parsl_version, '.', '-'), '1970-01-01')) AS release_date,
      today() AS day
    FROM ${db}.${queue}`;
}

/** The rollup views over the parsed rows: launch and closure aggregated separately. */
export function rollupViews(db: string, suffix: string): [string, string][] {
  const launch = 'is_closure = 0';
  return [
    [
      'rollup_daily',
      `SELECT day, is_test,
         toInt64(1 - is_closure) AS workflows,
         toInt64(is_closure = 0 AND tracking_level IN (1, 2)) AS launched,
         toInt64(is_closure = 0 AND tracking_level IN (0, 3)) - toInt64(is_closure) AS running,
         toInt64(is_closure) AS completed,
         toInt64(0) AS closure_only,
         toInt64(is_closure = 0) * if(tracking_level = 3, 2, 1) AS points,
         toInt64(is_closure) * app_count AS apps,
         toInt64(is_closure) * app_fails AS app_fails
       FROM ${db}.peer_parse_mv${suffix}`,
    ],
    [
      'rollup_exec_time',
      `SELECT day, is_test,
         toUInt8(if(execution_time < 1, 0, least(160, 1 + toUInt32(floor(4 * log2(least(execution_time, 1e12))))))) AS bucket,
         toInt64(1) AS workflows
       FROM ${db}.peer_parse_mv${suffix} WHERE is_closure = 1 AND execution_time >= 0`,
    ],
    [
      'rollup_daily_dimension',
      `SELECT dimension, value,
         if(dimension = 'parsl_version', release_date, toDate('1970-01-01')) AS release_date,
         day, is_test, toInt64(1) AS workflows, toInt64(0) AS apps, toInt64(0) AS app_fails
       FROM ${db}.peer_parse_mv${suffix}
       ARRAY JOIN
         ['python_minor', 'parsl_version', 'platform', 'tracking_level', 'protocol'] AS dimension,
         [python_minor, parsl_version, platform, toString(tracking_level), protocol] AS value
       WHERE ${launch}`,
    ],
    [
      'rollup_daily_component',
      `SELECT tupleElement(kc, 1) AS kind, tupleElement(kc, 2) AS component, day, is_test,
         toInt64(1) AS workflows, toInt64(0) AS apps, toInt64(0) AS app_fails
       FROM ${db}.peer_parse_mv${suffix}
       ARRAY JOIN arrayConcat(
         arrayMap(c -> ('executor', c), arrayDistinct(executors)),
         arrayMap(c -> ('provider', c), arrayDistinct(providers)),
         arrayMap(c -> ('launcher', c), arrayDistinct(launchers))) AS kc
       WHERE ${launch}`,
    ],
    [
      'rollup_daily_project',
      `SELECT project_name, day, is_test, toInt64(1) AS workflows,
         toInt64(if(tracking_level = 3, 2, 1)) AS points, toInt64(0) AS apps
       FROM ${db}.peer_parse_mv${suffix} WHERE ${launch} AND project_name != ''`,
    ],
    [
      'rollup_project',
      `SELECT project_name, is_test, toInt64(1) AS workflows,
         toInt64(if(tracking_level = 3, 2, 1)) AS points, toInt64(0) AS apps
       FROM ${db}.peer_parse_mv${suffix} WHERE ${launch} AND project_name != ''`,
    ],
    [
      'rollup_daily_install_age',
      `SELECT day, is_test,
         toInt16(if(release_date = toDate('1970-01-01'), -1, least(3650, greatest(0, toInt32(day) - toInt32(release_date))))) AS age_days,
         toInt64(1) AS workflows
       FROM ${db}.peer_parse_mv${suffix} WHERE ${launch}`,
    ],
    [
      'rollup_weekly_release',
      `SELECT toMonday(day) AS week, parsl_version, release_date, is_test, toInt64(1) AS workflows
       FROM ${db}.peer_parse_mv${suffix} WHERE ${launch}`,
    ],
  ];
}

/** The rollup tables compared, with their key and value columns. */
export const ROLLUPS: { table: string; keys: string[]; values: string[] }[] = [
  {
    table: 'rollup_daily',
    keys: ['day', 'is_test'],
    values: ['workflows', 'launched', 'running', 'completed', 'closure_only', 'points', 'apps', 'app_fails'],
  },
  { table: 'rollup_exec_time', keys: ['day', 'is_test', 'bucket'], values: ['workflows'] },
  {
    table: 'rollup_daily_dimension',
    keys: ['dimension', 'value', 'release_date', 'day', 'is_test'],
    values: ['workflows', 'apps', 'app_fails'],
  },
  {
    table: 'rollup_daily_component',
    keys: ['kind', 'component', 'day', 'is_test'],
    values: ['workflows', 'apps', 'app_fails'],
  },
  {
    table: 'rollup_daily_project',
    keys: ['project_name', 'day', 'is_test'],
    values: ['workflows', 'points', 'apps'],
  },
  { table: 'rollup_project', keys: ['project_name', 'is_test'], values: ['workflows', 'points', 'apps'] },
  { table: 'rollup_daily_install_age', keys: ['day', 'is_test', 'age_days'], values: ['workflows'] },
  {
    table: 'rollup_weekly_release',
    keys: ['week', 'parsl_version', 'release_date', 'is_test'],
    values: ['workflows'],
  },
];

/**
 * Creates the peer in `db` (already migrated): the parsed Null table once, and per call a Kafka
 * table `peer_queue<suffix>` on `topic` for `group` with its parse view and rollup views. A
 * second call with another suffix and group is a replay into the same rollups. The caller commits
 * offset 0 for the group first (librdkafka starts a new group at the partition end).
 */
export async function createRollupPeer(
  ch: Ch,
  opts: { db: string; broker: string; topic: string; group: string; suffix: string },
): Promise<void> {
  const { db, broker, topic, group, suffix } = opts;
  await ch(`CREATE TABLE IF NOT EXISTS ${db}.peer_parsed (${PARSED_COLUMNS}) ENGINE = Null`);
  // The engine streams as soon as one view reads its table, and a block read before the rollup
  // views exist would be lost to them. So the views are built on a Null stand-in of the queue,
  // which is then replaced by the Kafka table of the same name (18.16 keeps a view's
  // dependency on a table name across DROP and CREATE).
  const queue = `${db}.peer_queue${suffix}`;
  await ch(`CREATE TABLE ${queue} (raw String) ENGINE = Null`);
  await ch(
    `CREATE MATERIALIZED VIEW ${db}.peer_parse_mv${suffix} TO ${db}.peer_parsed AS ${parseSelect(db, `peer_queue${suffix}`)}`,
  );
  for (const [table, select] of rollupViews(db, suffix))
    await ch(`CREATE MATERIALIZED VIEW ${db}.peer_${table}_mv${suffix} TO ${db}.${table} AS ${select}`);
  await ch(`DROP TABLE ${queue}`);
  await ch(`CREATE TABLE ${queue} (raw String)
    ENGINE = Kafka('${broker}', '${topic}', '${group}', 'TabSeparated', '\\n')`);
}

/** Runs and completed runs the peer has counted so far (its own idea of "done"). */
export async function peerProgress(ch: Ch, db: string): Promise<{ workflows: number; completed: number }> {
  const [w, c] = (await ch(`SELECT sum(workflows), sum(completed) FROM ${db}.rollup_daily FORMAT TSV`))
    .trim()
    .split('\t')
    .map(Number);
  return { workflows: w ?? 0, completed: c ?? 0 };
}

/** Every rollup's sums in one string: equal on two reads means the views have caught up. */
async function rollupChecksum(ch: Ch, db: string): Promise<string> {
  const parts: string[] = [];
  for (const { table, values } of ROLLUPS)
    parts.push(
      await ch(`SELECT ${values.map((v) => `sum(${v})`).join(', ')} FROM ${db}.${table} FORMAT TSV`),
    );
  return parts.join('|');
}

/**
 * Waits until the peer has counted `launches` launch and `closures` closure messages in
 * rollup_daily and every rollup's sums are unchanged over 2 s (the engine commits offsets
 * before its views have all written, so "group caught up" is not enough). Bounded by timeoutMs.
 */
export async function peerSettled(
  ch: Ch,
  db: string,
  launches: number,
  closures: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const p = await peerProgress(ch, db);
    const sum = await rollupChecksum(ch, db);
    if (p.workflows >= launches && p.completed >= closures && sum === last) return;
    if (Date.now() > deadline) throw new Error(`peer ${db}: not settled within ${timeoutMs} ms`);
    last = sum;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/**
 * Per rollup table: the rows (keys with any non-zero sum) in the exact database and in the
 * peer's, and how many of them differ (present in one only, or any sum different). Sums are
 * compared after GROUP BY, so unmerged parts do not matter.
 */
export async function compareRollups(
  ch: Ch,
  exactDb: string,
  peerDb: string,
): Promise<Record<string, { exactRows: number; peerRows: number; wrongRows: number }>> {
  const out: Record<string, { exactRows: number; peerRows: number; wrongRows: number }> = {};
  for (const { table, keys, values } of ROLLUPS) {
    const k = keys.join(', ');
    const sums = (sign: string) => values.map((v) => `${sign}sum(${v}) AS s_${v}`).join(', ');
    const nonZero = values.map((v) => `s_${v} != 0`).join(' OR ');
    const side = (db: string, sign: string, tag: number) =>
      `SELECT ${k}, ${sums(sign)}, toInt8(${tag}) AS side FROM ${db}.${table} GROUP BY ${k} HAVING ${nonZero}`;
    const diff = values.map((v) => `sum(s_${v}) != 0`).join(' OR ');
    const [exactRows, peerRows, wrongRows] = (
      await ch(`SELECT
          (SELECT count() FROM (${side(exactDb, '', 1)})),
          (SELECT count() FROM (${side(peerDb, '', 2)})),
          (SELECT count() FROM (
             SELECT ${k} FROM (${side(exactDb, '', 1)} UNION ALL ${side(peerDb, '-', 2)})
             GROUP BY ${k} HAVING ${diff}))
        FORMAT TSV`)
    )
      .trim()
      .split('\t')
      .map(Number);
    out[table] = { exactRows: exactRows ?? 0, peerRows: peerRows ?? 0, wrongRows: wrongRows ?? 0 };
  }
  return out;
}
