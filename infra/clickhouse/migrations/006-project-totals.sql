-- All-time totals per named project. The all-time leaderboard then reads about one row per
-- project instead of one per project and active day (2.25 s at 10M workflows through
-- `leaderboard`, BENCHMARKS.md). Signed deltas from workflow_changes, as every rollup.
CREATE TABLE IF NOT EXISTS ${db}.rollup_project
(
    project_name String,
    is_test UInt8,
    workflows Int64,
    points Int64,
    apps Int64
)
ENGINE = SummingMergeTree((workflows, points, apps))
ORDER BY (project_name, is_test);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_project_mv TO ${db}.rollup_project AS
SELECT
    project_name,
    is_test,
    toInt64(sign) AS workflows,
    toInt64(sign) * toInt64(points) AS points,
    toInt64(sign) * toInt64(app_count) AS apps
FROM ${db}.workflow_changes
WHERE project_name != '';

-- History written before this migration. Migrations run before the aggregator starts (npm start,
-- the compose migrate job), so nothing is inserted meanwhile. The guard makes a second run a
-- no-op; a backfill that failed half way is repaired by `reprocess`, which rebuilds every rollup.
INSERT INTO ${db}.rollup_project
SELECT
    project_name,
    is_test,
    toInt64(sum(workflows)) AS workflows,
    toInt64(sum(points)) AS points,
    toInt64(sum(apps)) AS apps
FROM ${db}.rollup_daily_project
WHERE (SELECT count() FROM ${db}.rollup_project) = 0
GROUP BY project_name, is_test;

-- The all-time leaderboard of named projects, from the totals (first and last day of activity
-- are in `leaderboard`, which reads the daily rollup).
CREATE VIEW IF NOT EXISTS ${db}.leaderboard_all_time AS
SELECT
    project_name,
    sum(workflows) AS runs,
    sum(points) AS points,
    sum(apps) AS apps
FROM ${db}.rollup_project
WHERE is_test = 0
GROUP BY project_name
HAVING runs != 0;
