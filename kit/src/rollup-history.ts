/**
 * Server-side generator of a realistic change log: one INSERT ... SELECT FROM system.numbers
 * per chunk of workflows, straight into workflow_changes, so every materialized view
 * (workflow_versions and the rollups) is fed exactly as the aggregator feeds it.
 *
 * Shape, all deterministic functions of the workflow number n (intHash64 of n with salts):
 * - days: 5 years (1826 days) ending yesterday, density growing over time (day offset
 *   1826 * (1 - sqrt(u)), so the last year holds ~36 % of the runs);
 * - Parsl: weekly date releases (Mondays), installation age ~ exponential with a 60-day mean,
 *   5 % old semantic versions ('1.2.0', no release date);
 * - Python minor drifting from 3.6 to 3.13 over the 5 years, with +-1 spread;
 * - platform 90 % Linux, 8 % Darwin, 2 % Windows; 3 % Parsl CI runs (is_test);
 * - tracking level 0/1/2/3 with protocol 'legacy' before 2024-10 for level 0;
 * - projects: 30 % named, Zipf-like long tail over 5,000 names ('proj-0' is the biggest);
 * - executors/providers/launchers for levels 2 and 3;
 * - level 3: 80 % get a closure (retraction of the launch, then 'completed'); 5 % of those
 *   arrive closure-first on the next day and move to the launch day when the launch comes.
 */

/** One chunk of `count` workflows, numbers [first, first + count). */
export function generateChunkSql(db: string, first: number, count: number): string {
  // u(k): a uniform [0, 1) per workflow and salt k.
  const u = (k: number): string => `(intHash64(n * 16 + ${k}) % 1000000) / 1000000`;
  return `
INSERT INTO ${db}.workflow_changes
SELECT
    workflow_id,
    toInt8(if(variant = 2, -1, 1)) AS sign,
    toUInt64(if(variant = 3, n * 4 + 3, n * 4 + 1)) AS version,
    if(variant = 3, 'completed', first_status) AS status,
    protocol, tracking_level, parsl_version, parsl_release_date,
    toInt32(if(parsl_release_date = toDate('1970-01-01'), -1, if(variant = 3, launch_day, first_day) - parsl_release_date)) AS install_age_days,
    python_version, python_minor, platform, '' AS os_release, project_name, is_test,
    executors, providers, launchers, emptyArrayString() AS other_components, toUInt16(length(executors)) AS executors_len,
    toUInt8(0) AS dependency_resolver, toUInt8(0) AS mpi,
    toUInt64(if(variant = 3 OR first_status = 'closure_only', apps, 0)) AS app_count,
    toUInt64(if(variant = 3 OR first_status = 'closure_only', fails, 0)) AS app_fails,
    toUInt8(variant = 3 OR first_status != 'closure_only') AS has_launch,
    toUInt8(variant = 3 OR first_status = 'closure_only') AS has_closure,
    if(variant = 3, launch_day, first_day) AS day,
    toDateTime(launch_day) + 43200 AS launch_received_at,
    if(variant = 3 OR first_status = 'closure_only', toDateTime(launch_day) + 43200 + toUInt32(exec_s), toDateTime(0)) AS closure_received_at,
    toDateTime(0) AS start_time, toDateTime(0) AS end_time,
    if(variant = 3 OR first_status = 'closure_only', exec_s, -1.) AS execution_time,
    toUInt8(if(tracking_level = 3, 2, 1)) AS points,
    toUInt16(n % 6) AS kafka_partition,
    toUInt64(if(variant = 1, n * 4 + 1, n * 4 + 3)) AS kafka_offset,
    toUInt16(if(variant = 3, 1, 0)) AS seq,
    now() AS inserted_at
FROM
(
    SELECT
        n,
        concat('bench-', toString(n)) AS workflow_id,
        today() - 1 - toUInt32(floor(1825 * (1 - sqrt(${u(1)})))) AS launch_day,
        toUInt32(floor(-60 * log(1 - ${u(2)} * 0.999))) AS age,
        ${u(3)} < 0.05 AS semver,
        if(semver, toDate('1970-01-01'), toMonday(launch_day - age)) AS parsl_release_date,
        if(semver, '1.2.0', replaceAll(toString(parsl_release_date), '-', '.')) AS parsl_version,
        toUInt8(greatest(6, least(13, 6 + intDiv(toUInt32(launch_day - (today() - 1826)), 250) + toInt32(floor(${u(4)} * 3)) - 1))) AS minor,
        concat('3.', toString(minor)) AS python_minor,
        concat(python_minor, '.', toString(intHash64(n) % 10)) AS python_version,
        multiIf(${u(5)} < 0.9, 'Linux', ${u(5)} < 0.98, 'Darwin', 'Windows') AS platform,
        toUInt8(${u(6)} < 0.03) AS is_test,
        multiIf(${u(7)} < 0.15, 0, ${u(7)} < 0.55, 1, ${u(7)} < 0.7, 2, 3) AS level,
        toUInt8(level) AS tracking_level,
        if(level = 0 AND launch_day < toDate('2024-10-01'), 'legacy', 'v1') AS protocol,
        if(${u(8)} < 0.3, concat('proj-', toString(toUInt32(floor(pow(${u(9)}, 3) * 5000)))), '') AS project_name,
        if(level >= 2, arrayDistinct(arraySort([
            ['HighThroughputExecutor', 'ThreadPoolExecutor', 'WorkQueueExecutor', 'MPIExecutor', 'TaskVineExecutor'][1 + intHash64(n * 16 + 10) % 5],
            ['HighThroughputExecutor', 'HighThroughputExecutor', 'ThreadPoolExecutor'][1 + intHash64(n * 16 + 11) % 3]])), emptyArrayString()) AS executors,
        if(level >= 2, [['LocalProvider', 'SlurmProvider', 'PBSProProvider', 'KubernetesProvider', 'CondorProvider'][1 + intHash64(n * 16 + 12) % 5]], emptyArrayString()) AS providers,
        if(level >= 2 AND ${u(13)} < 0.6, [['SrunLauncher', 'SingleNodeLauncher', 'MpiExecLauncher'][1 + intHash64(n * 16 + 14) % 3]], emptyArrayString()) AS launchers,
        level = 3 AND ${u(15)} < 0.8 AS closes,
        closes AND ${u(0)} < 0.05 AS closure_first,
        if(closure_first, 'closure_only', if(level = 3, 'running', 'launched')) AS first_status,
        if(closure_first, launch_day + 1, launch_day) AS first_day,
        toUInt64(floor(exp(${u(2)} * 10))) AS apps,
        toUInt64(intHash64(n * 16 + 9) % 3 = 0 ? intHash64(n) % 5 : 0) AS fails,
        exp(${u(4)} * 14) - 1 AS exec_s
    FROM (SELECT number + ${first} AS n FROM system.numbers LIMIT ${count})
)
ARRAY JOIN if(closes, [1, 2, 3], [1]) AS variant`;
}
