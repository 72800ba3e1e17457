-- Rollups for analysts and the dashboard (issue 5). Each rollup is a SummingMergeTree fed by a
-- materialized view FROM workflow_changes, summing sign-weighted values: the aggregator inserts
-- every change exactly once (retraction of the old version, sign = -1, and the new one,
-- sign = +1, in one insert), so the sums equal the same figures over the current workflows,
-- whatever order the updates came in and even when a change moves a run to another day.
-- Sums are Int64 because retractions are negative. A row whose sums all net to 0 may vanish
-- on merge: that is the right answer (nothing left). Reading always needs sum() ... GROUP BY,
-- because parts merge in the background; the views in 003-analyst-views.sql do that.
-- is_test is a key column everywhere so test runs (Parsl's own CI) can be filtered out.
-- Runs on 18.16 and 24.8+; no LowCardinality, no query parameters.

-- Per day: workflows by status, apps and failures. `running` stays `running` here: whether it
-- is 'unfinished' depends on today's date, so the views derive it at query time.
CREATE TABLE IF NOT EXISTS ${db}.rollup_daily
(
    day Date,
    is_test UInt8,
    workflows Int64,
    launched Int64,
    running Int64,
    completed Int64,
    closure_only Int64,
    points Int64,
    apps Int64,
    app_fails Int64
)
ENGINE = SummingMergeTree((workflows, launched, running, completed, closure_only, points, apps, app_fails))
PARTITION BY toYYYYMM(day)
ORDER BY (day, is_test);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_daily_mv TO ${db}.rollup_daily AS
SELECT
    day,
    is_test,
    toInt64(sign) AS workflows,
    toInt64(sign) * toInt64(status = 'launched') AS launched,
    toInt64(sign) * toInt64(status = 'running') AS running,
    toInt64(sign) * toInt64(status = 'completed') AS completed,
    toInt64(sign) * toInt64(status = 'closure_only') AS closure_only,
    toInt64(sign) * toInt64(points) AS points,
    toInt64(sign) * toInt64(app_count) AS apps,
    toInt64(sign) * toInt64(app_fails) AS app_fails
FROM ${db}.workflow_changes;

-- Execution-time histogram of runs that reported one (level 3 closures; -1 = unknown is left
-- out). Log-spaced buckets, 4 per doubling: bucket 0 is [0 s, 1 s), bucket k >= 1 is
-- [2^((k-1)/4) s, 2^(k/4) s), capped at k = 160 (2^40 s). A bucket spans a factor 2^(1/4)
-- (+18.9 %), so a quantile read at the bucket's geometric middle is within +-9.5 % of the
-- exact value. The 1e12 s cap keeps inf in range: a materialized view that throws would fail
-- the aggregator's whole insert.
CREATE TABLE IF NOT EXISTS ${db}.rollup_exec_time
(
    day Date,
    is_test UInt8,
    bucket UInt8,
    workflows Int64
)
ENGINE = SummingMergeTree((workflows))
PARTITION BY toYYYYMM(day)
ORDER BY (day, is_test, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_exec_time_mv TO ${db}.rollup_exec_time AS
SELECT
    day,
    is_test,
    toUInt8(if(execution_time < 1, 0, least(160, 1 + toUInt32(floor(4 * log2(least(execution_time, 1e12))))))) AS bucket,
    toInt64(sign) AS workflows
FROM ${db}.workflow_changes
WHERE has_closure = 1 AND execution_time >= 0;

-- Per day and dimension: one table for the five single-valued dimensions, so that a new
-- dimension is a new value of `dimension` rather than a new table. release_date is the
-- version's release date for dimension 'parsl_version' (1970-01-01 when not a date version)
-- and 1970-01-01 for the others; it is what release adoption is computed from.
CREATE TABLE IF NOT EXISTS ${db}.rollup_daily_dimension
(
    dimension String,
    value String,
    release_date Date,
    day Date,
    is_test UInt8,
    workflows Int64,
    apps Int64,
    app_fails Int64
)
ENGINE = SummingMergeTree((workflows, apps, app_fails))
PARTITION BY toYYYYMM(day)
ORDER BY (dimension, day, is_test, value, release_date);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_daily_dimension_mv TO ${db}.rollup_daily_dimension AS
SELECT
    dimension,
    value,
    if(dimension = 'parsl_version', parsl_release_date, toDate('1970-01-01')) AS release_date,
    day,
    is_test,
    toInt64(sign) AS workflows,
    toInt64(sign) * toInt64(app_count) AS apps,
    toInt64(sign) * toInt64(app_fails) AS app_fails
FROM ${db}.workflow_changes
ARRAY JOIN
    ['python_minor', 'parsl_version', 'platform', 'tracking_level', 'protocol'] AS dimension,
    [python_minor, parsl_version, platform, toString(tracking_level), toString(protocol)] AS value;

-- Per day and component (kind: 'executor', 'provider' or 'launcher'): a workflow counts once per distinct class it uses (arrayDistinct,
-- so a config with two HighThroughputExecutors counts one run). Runs that report no
-- components (level 1) produce no rows here.
CREATE TABLE IF NOT EXISTS ${db}.rollup_daily_component
(
    kind String,
    component String,
    day Date,
    is_test UInt8,
    workflows Int64,
    apps Int64,
    app_fails Int64
)
ENGINE = SummingMergeTree((workflows, apps, app_fails))
PARTITION BY toYYYYMM(day)
ORDER BY (kind, day, is_test, component);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_daily_component_mv TO ${db}.rollup_daily_component AS
SELECT
    tupleElement(kc, 1) AS kind,
    tupleElement(kc, 2) AS component,
    day,
    is_test,
    toInt64(sign) AS workflows,
    toInt64(sign) * toInt64(app_count) AS apps,
    toInt64(sign) * toInt64(app_fails) AS app_fails
FROM ${db}.workflow_changes
ARRAY JOIN arrayConcat(
    arrayMap(c -> ('executor', c), arrayDistinct(executors)),
    arrayMap(c -> ('provider', c), arrayDistinct(providers)),
    arrayMap(c -> ('launcher', c), arrayDistinct(launchers))) AS kc;

-- Per named project and day: runs and Parsl's leaderboard points. min/max of a day cannot be
-- retracted, so first/last day are read from the days whose net runs are > 0 (views).
CREATE TABLE IF NOT EXISTS ${db}.rollup_daily_project
(
    project_name String,
    day Date,
    is_test UInt8,
    workflows Int64,
    points Int64,
    apps Int64
)
ENGINE = SummingMergeTree((workflows, points, apps))
PARTITION BY toYYYYMM(day)
ORDER BY (project_name, day, is_test);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_daily_project_mv TO ${db}.rollup_daily_project AS
SELECT
    project_name,
    day,
    is_test,
    toInt64(sign) AS workflows,
    toInt64(sign) * toInt64(points) AS points,
    toInt64(sign) * toInt64(app_count) AS apps
FROM ${db}.workflow_changes
WHERE project_name != '';

-- Installation age: runs per day by age in exact days (run day minus the release day of the
-- installed Parsl), ages above 3650 days counted at 3650, -1 = unknown (no date version, or a
-- negative age from a misdated version). Weekly or monthly bins are a GROUP BY in the views.
CREATE TABLE IF NOT EXISTS ${db}.rollup_daily_install_age
(
    day Date,
    is_test UInt8,
    age_days Int16,
    workflows Int64
)
ENGINE = SummingMergeTree((workflows))
PARTITION BY toYYYYMM(day)
ORDER BY (day, is_test, age_days);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_daily_install_age_mv TO ${db}.rollup_daily_install_age AS
SELECT
    day,
    is_test,
    toInt16(if(install_age_days < 0, -1, least(install_age_days, 3650))) AS age_days,
    toInt64(sign) AS workflows
FROM ${db}.workflow_changes;
