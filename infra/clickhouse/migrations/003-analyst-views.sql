-- Analyst views (issue 5): readable names over the rollups of 002-rollups.sql, with the
-- sum() ... GROUP BY finalisation done, so a view row is exact whatever the merge state.
-- Every view leaves out Parsl's own test runs (is_test = 1); the rollup tables keep them.
-- 'unfinished' is derived here, never stored: a 'running' run (level-3 launch, no closure
-- yet) is 'unfinished' once its day is older than today - 7, i.e. its launch is more than
-- the aggregator's 7-day join window old. Day granularity keeps all views consistent with
-- each other (a run may show as 'running' for up to 8 days).
-- Runs on 18.16 and 24.8+: no window functions, joins are ALL INNER JOIN ... USING, and
-- joined subqueries have aliases (current releases require them).

-- Workflows per day by status, Parsl leaderboard points, apps and app failures.
CREATE VIEW IF NOT EXISTS ${db}.daily_workflows AS
SELECT
    day,
    workflows,
    launched,
    if(day < today() - 7, toInt64(0), running_or_unfinished) AS running,
    if(day < today() - 7, running_or_unfinished, toInt64(0)) AS unfinished,
    completed,
    closure_only,
    points,
    apps,
    app_fails
FROM
(
    SELECT
        day,
        sum(workflows) AS workflows,
        sum(launched) AS launched,
        sum(running) AS running_or_unfinished,
        sum(completed) AS completed,
        sum(closure_only) AS closure_only,
        sum(points) AS points,
        sum(apps) AS apps,
        sum(app_fails) AS app_fails
    FROM ${db}.rollup_daily
    WHERE is_test = 0
    GROUP BY day
    HAVING workflows != 0
);

-- All single-valued dimensions at once: dimension is one of 'python_minor', 'parsl_version',
-- 'platform', 'tracking_level', 'protocol'. The views below are this one, filtered.
CREATE VIEW IF NOT EXISTS ${db}.dimensions_daily AS
SELECT
    dimension,
    value,
    day,
    sum(workflows) AS workflows,
    sum(apps) AS apps,
    sum(app_fails) AS app_fails
FROM ${db}.rollup_daily_dimension
WHERE is_test = 0
GROUP BY dimension, value, day
HAVING workflows != 0;

CREATE VIEW IF NOT EXISTS ${db}.python_versions_daily AS
SELECT day, value AS python_minor, sum(workflows) AS workflows, sum(apps) AS apps, sum(app_fails) AS app_fails
FROM ${db}.rollup_daily_dimension
WHERE dimension = 'python_minor' AND is_test = 0
GROUP BY day, python_minor
HAVING workflows != 0;

-- release_date is 1970-01-01 (shown as 0000-00-00 by 18.16) when the version is not a date.
CREATE VIEW IF NOT EXISTS ${db}.parsl_versions_daily AS
SELECT
    day,
    value AS parsl_version,
    release_date,
    sum(workflows) AS workflows,
    sum(apps) AS apps,
    sum(app_fails) AS app_fails
FROM ${db}.rollup_daily_dimension
WHERE dimension = 'parsl_version' AND is_test = 0
GROUP BY day, parsl_version, release_date
HAVING workflows != 0;

CREATE VIEW IF NOT EXISTS ${db}.platforms_daily AS
SELECT day, value AS platform, sum(workflows) AS workflows, sum(apps) AS apps, sum(app_fails) AS app_fails
FROM ${db}.rollup_daily_dimension
WHERE dimension = 'platform' AND is_test = 0
GROUP BY day, platform
HAVING workflows != 0;

-- tracking_level as text: '0' (not sent), '1', '2', '3'.
CREATE VIEW IF NOT EXISTS ${db}.tracking_levels_daily AS
SELECT day, value AS tracking_level, sum(workflows) AS workflows, sum(apps) AS apps, sum(app_fails) AS app_fails
FROM ${db}.rollup_daily_dimension
WHERE dimension = 'tracking_level' AND is_test = 0
GROUP BY day, tracking_level
HAVING workflows != 0;

CREATE VIEW IF NOT EXISTS ${db}.protocols_daily AS
SELECT day, value AS protocol, sum(workflows) AS workflows, sum(apps) AS apps, sum(app_fails) AS app_fails
FROM ${db}.rollup_daily_dimension
WHERE dimension = 'protocol' AND is_test = 0
GROUP BY day, protocol
HAVING workflows != 0;

-- kind is 'executor', 'provider' or 'launcher'; a run counts once per distinct component, and
-- only runs that report components (level 2 and 3) appear.
CREATE VIEW IF NOT EXISTS ${db}.components_daily AS
SELECT
    day,
    kind,
    component,
    sum(workflows) AS workflows,
    sum(apps) AS apps,
    sum(app_fails) AS app_fails
FROM ${db}.rollup_daily_component
WHERE is_test = 0
GROUP BY day, kind, component
HAVING workflows != 0;

-- Named projects per day; the base of period leaderboards.
CREATE VIEW IF NOT EXISTS ${db}.leaderboard_daily AS
SELECT project_name, day, sum(workflows) AS runs, sum(points) AS points, sum(apps) AS apps
FROM ${db}.rollup_daily_project
WHERE is_test = 0
GROUP BY project_name, day
HAVING runs != 0;

-- All-time leaderboard of named projects. first_day and last_day come from the days with
-- runs left after retractions, so they stay right when a run moves to another day.
CREATE VIEW IF NOT EXISTS ${db}.leaderboard AS
SELECT
    project_name,
    sum(runs) AS runs,
    sum(points) AS points,
    sum(apps) AS apps,
    min(day) AS first_day,
    max(day) AS last_day,
    count() AS active_days
FROM
(
    SELECT project_name, day, sum(workflows) AS runs, sum(points) AS points, sum(apps) AS apps
    FROM ${db}.rollup_daily_project
    WHERE is_test = 0
    GROUP BY project_name, day
    HAVING runs != 0
)
GROUP BY project_name
ORDER BY points DESC, runs DESC, project_name ASC;

-- Runs per day by installation age: age_days = run day - release day of the installed Parsl
-- (exact days, capped at 3650; -1 = unknown), age_weeks = whole weeks (-1 = unknown).
CREATE VIEW IF NOT EXISTS ${db}.installation_age_daily AS
SELECT
    day,
    age_days,
    toInt16(if(age_days < 0, -1, intDiv(age_days, 7))) AS age_weeks,
    sum(workflows) AS workflows
FROM ${db}.rollup_daily_install_age
WHERE is_test = 0
GROUP BY day, age_days
HAVING workflows != 0;

-- For every date-versioned release and every day from its release on: the runs that day
-- (all non-test runs, whatever their version) and the runs on that release or a newer one
-- (release_date >= this release's date). Versions without a date (old semantic versions, dev
-- builds) count as older. share = newer_runs / runs.
CREATE VIEW IF NOT EXISTS ${db}.release_adoption AS
SELECT
    release,
    release_date,
    day,
    toInt32(day - release_date) AS days_since_release,
    runs,
    newer_runs,
    newer_runs / runs AS share
FROM
(
    SELECT
        release,
        release_date,
        day,
        sum(version_runs) AS runs,
        sumIf(version_runs, version_release_date >= release_date) AS newer_runs
    FROM
    (
        SELECT 1 AS k, day, release_date AS version_release_date, sum(workflows) AS version_runs
        FROM ${db}.rollup_daily_dimension
        WHERE dimension = 'parsl_version' AND is_test = 0
        GROUP BY day, version_release_date
        HAVING version_runs != 0
    ) AS day_versions
    ALL INNER JOIN
    (
        SELECT 1 AS k, value AS release, release_date
        FROM ${db}.rollup_daily_dimension
        WHERE dimension = 'parsl_version' AND is_test = 0 AND release_date > toDate('1970-01-01')
        GROUP BY release, release_date
        HAVING sum(workflows) != 0
    ) AS releases USING k
    WHERE day >= release_date
    GROUP BY release, release_date, day
);

-- Per release: the first day (counted from the release day) on which it and newer releases
-- carried at least half of the day's runs; -1 = not yet.
CREATE VIEW IF NOT EXISTS ${db}.release_half_adoption AS
SELECT
    release,
    release_date,
    toInt32(if(countIf(share >= 0.5) = 0, -1, minIf(days_since_release, share >= 0.5))) AS days_to_half,
    max(share) AS max_share
FROM ${db}.release_adoption
GROUP BY release, release_date
ORDER BY release_date ASC, release ASC;

-- Execution-time histogram per day (runs with a closure that reported an execution time).
-- Bucket k covers [lower_s, upper_s): k = 0 is [0, 1 s), k >= 1 is [2^((k-1)/4), 2^(k/4)) s.
CREATE VIEW IF NOT EXISTS ${db}.execution_time_histogram AS
SELECT
    day,
    bucket,
    if(bucket = 0, 0, exp2((bucket - 1) / 4)) AS lower_s,
    exp2(bucket / 4) AS upper_s,
    sum(workflows) AS workflows
FROM ${db}.rollup_exec_time
WHERE is_test = 0
GROUP BY day, bucket
HAVING workflows != 0;

-- Daily execution-time quantiles read from the histogram: the quantile's bucket, reported at
-- its geometric middle 2^((k-0.5)/4) s (0.5 s for bucket 0), so within +-9.5 % (one bucket
-- is a factor 2^(1/4)). For other periods, see docs/COOKBOOK.md.
CREATE VIEW IF NOT EXISTS ${db}.execution_time_quantiles AS
SELECT
    day,
    runs,
    if(b50 = 0, 0.5, exp2((b50 - 0.5) / 4)) AS p50_s,
    if(b90 = 0, 0.5, exp2((b90 - 0.5) / 4)) AS p90_s,
    if(b99 = 0, 0.5, exp2((b99 - 0.5) / 4)) AS p99_s
FROM
(
    SELECT
        day,
        sum(n) AS runs,
        arraySort(groupArray((bucket, n))) AS hist,
        arrayCumSum(arrayMap(t -> tupleElement(t, 2), hist)) AS cum,
        tupleElement(hist[arrayFirstIndex(c -> c >= 0.5 * runs, cum)], 1) AS b50,
        tupleElement(hist[arrayFirstIndex(c -> c >= 0.9 * runs, cum)], 1) AS b90,
        tupleElement(hist[arrayFirstIndex(c -> c >= 0.99 * runs, cum)], 1) AS b99
    FROM
    (
        SELECT day, bucket, sum(workflows) AS n
        FROM ${db}.rollup_exec_time
        WHERE is_test = 0
        GROUP BY day, bucket
        HAVING n > 0
    )
    GROUP BY day
);

-- The current version of every workflow (tests included: filter is_test = 0), read with FINAL
-- so each workflow_id appears once. status is the derived status ('unfinished' as above);
-- stored_status is the column as stored.
CREATE VIEW IF NOT EXISTS ${db}.workflows_current AS
SELECT
    workflow_id,
    if(stored_status = 'running' AND day < today() - 7, 'unfinished', toString(stored_status)) AS status,
    stored_status,
    version,
    protocol,
    tracking_level,
    parsl_version,
    parsl_release_date,
    install_age_days,
    python_version,
    python_minor,
    platform,
    os_release,
    project_name,
    is_test,
    executors,
    providers,
    launchers,
    other_components,
    executors_len,
    dependency_resolver,
    mpi,
    app_count,
    app_fails,
    has_launch,
    has_closure,
    day,
    launch_received_at,
    closure_received_at,
    start_time,
    end_time,
    execution_time,
    points
FROM
(
    SELECT
        workflow_id, status AS stored_status, version, protocol, tracking_level, parsl_version,
        parsl_release_date, install_age_days, python_version, python_minor, platform, os_release,
        project_name, is_test, executors, providers, launchers, other_components, executors_len,
        dependency_resolver, mpi, app_count, app_fails, has_launch, has_closure, day,
        launch_received_at, closure_received_at, start_time, end_time, execution_time, points
    FROM ${db}.workflow_versions FINAL
);
