-- Release adoption fast enough for a dashboard (issue 5). release_adoption (003) joined every
-- (day, version) row of the rollup with every release before grouping: 10.8 s p95 at 10M
-- workflows, and its cost grows with days x releases x versions (BENCHMARKS.md). Three changes:
--  1. release_adoption keeps its columns and rows but folds each day's versions into one array
--     first, so the join with the releases replicates one row per day, not one per version;
--  2. a weekly rollup per version (one row per calendar week and version in use), and a curve
--     view over it that builds each week's "runs on release date >= R" in one array pass;
--  3. release_weeks_to_half, the dashboard's question, from each week's half-way version date.
-- Runs on 18.16 and 24.8+: no window functions, no WITH scalars inside subqueries.

CREATE TABLE IF NOT EXISTS ${db}.rollup_weekly_release
(
    week Date,
    parsl_version String,
    release_date Date,
    is_test UInt8,
    workflows Int64
)
ENGINE = SummingMergeTree((workflows))
PARTITION BY toYear(week)
ORDER BY (is_test, week, release_date, parsl_version);

-- week = the Monday of the run's day. release_date as in rollup_daily_dimension: the version's
-- release date, 1970-01-01 when the version is not a date.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_weekly_release_mv TO ${db}.rollup_weekly_release AS
SELECT
    toMonday(day) AS week,
    parsl_version,
    parsl_release_date AS release_date,
    is_test,
    toInt64(sign) AS workflows
FROM ${db}.workflow_changes;

-- History written before this migration (see 006 for why this is safe and runs once).
INSERT INTO ${db}.rollup_weekly_release
SELECT
    toMonday(day) AS week,
    value AS parsl_version,
    release_date,
    is_test,
    toInt64(sum(workflows)) AS workflows
FROM ${db}.rollup_daily_dimension
WHERE dimension = 'parsl_version' AND (SELECT count() FROM ${db}.rollup_weekly_release) = 0
GROUP BY week, parsl_version, release_date, is_test
HAVING workflows != 0;

-- Same definition and rows as in 003; only the plan differs. DROP TABLE also drops a view on
-- 18.16 and 24.8+ (DROP VIEW does not exist on 18.16).
DROP TABLE IF EXISTS ${db}.release_adoption;

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
        arraySum(version_runs) AS runs,
        arraySum(arrayFilter((n, d) -> d >= release_date, version_runs, version_dates)) AS newer_runs
    FROM
    (
        SELECT 1 AS k, day, groupArray(version_release_date) AS version_dates, groupArray(runs_on_version) AS version_runs
        FROM
        (
            SELECT day, release_date AS version_release_date, sum(workflows) AS runs_on_version
            FROM ${db}.rollup_daily_dimension
            WHERE dimension = 'parsl_version' AND is_test = 0
            GROUP BY day, version_release_date
            HAVING runs_on_version != 0
        )
        GROUP BY day
    ) AS days
    ALL INNER JOIN
    (
        SELECT 1 AS k, value AS release, release_date
        FROM ${db}.rollup_daily_dimension
        WHERE dimension = 'parsl_version' AND is_test = 0 AND release_date > toDate('1970-01-01')
        GROUP BY release, release_date
        HAVING sum(workflows) != 0
    ) AS releases USING k
    WHERE day >= release_date
);

-- Adoption by calendar week (Monday to Sunday): for each date-versioned release and each week
-- from the one holding its release day, the week's runs and the runs on that release or a newer
-- one. weeks_since_release = 0 is the release's own calendar week. Parsl releases are dated on
-- Mondays, and for a Monday release this equals release_adoption_weekly (7-day windows from the
-- release day) row for row; for a release on another weekday, week 0 also holds the days of that
-- week before the release.
--
-- How: each week's runs per version release date go into one array indexed by days since the
-- oldest release date (slot 0 = versions without a date, slot 1 = the oldest date); the reversed
-- cumulative sum of that array is "runs on release date >= d" for every d at once, so no
-- (release, week) pair scans the week's versions. assumeNotNull: current releases type a scalar
-- subquery as Nullable (18.16 does not), and arrayResize and greatest refuse a Nullable size
-- (found by running 001-007 on ClickHouse 26.9 through chDB, docs/ANALYTICS.md).
CREATE VIEW IF NOT EXISTS ${db}.release_adoption_calendar_weekly AS
SELECT
    release,
    release_date,
    toInt32(intDiv(week - toMonday(release_date), 7)) AS weeks_since_release,
    runs,
    newer_runs,
    newer_runs / runs AS share
FROM
(
    SELECT
        week,
        runs,
        toDate(assumeNotNull((SELECT min(release_date) FROM ${db}.rollup_weekly_release WHERE release_date > toDate('1970-01-01'))) + (position - 2)) AS release_date,
        newer_runs
    FROM
    (
        SELECT
            week,
            groupArrayInsertAt(runs_on_date, slot) AS runs_by_slot,
            -- up to the slot of the week's Sunday, so that a release with no run on it or a newer
            -- one that week still gets its row (newer_runs 0); never shorter than the data
            arrayReverse(arrayCumSum(arrayReverse(arrayResize(runs_by_slot, toUInt64(greatest(
                length(runs_by_slot),
                toInt64(week) + 8 - toInt64(assumeNotNull((SELECT min(release_date) FROM ${db}.rollup_weekly_release WHERE release_date > toDate('1970-01-01'))))
            )))))) AS newer_by_slot,
            newer_by_slot[1] AS runs
        FROM
        (
            SELECT
                week,
                if(release_date = toDate('1970-01-01'), toUInt32(0),
                   toUInt32(release_date - assumeNotNull((SELECT min(release_date) FROM ${db}.rollup_weekly_release WHERE release_date > toDate('1970-01-01')))) + 1) AS slot,
                sum(workflows) AS runs_on_date
            FROM ${db}.rollup_weekly_release
            WHERE is_test = 0
            GROUP BY week, slot
        )
        GROUP BY week
    )
    ARRAY JOIN
        newer_by_slot AS newer_runs,
        arrayEnumerate(newer_by_slot) AS position
    WHERE position >= 2 AND runs != 0 AND week >= toMonday(release_date)
) AS weekly
ALL INNER JOIN
(
    SELECT parsl_version AS release, release_date
    FROM ${db}.rollup_weekly_release
    WHERE is_test = 0 AND release_date > toDate('1970-01-01')
    GROUP BY release, release_date
    HAVING sum(workflows) != 0
) AS releases USING release_date;

-- Per release: the first calendar week (0 = the release's own) in which it and newer releases
-- carried at least half of the runs; -1 = not yet. The same answer as the first week with
-- share >= 0.5 in release_adoption_calendar_weekly, without building that curve: release R has
-- half of week w's runs exactly when R <= half_date(w), the oldest version release date d of the
-- week such that the runs on versions dated <= d are more than half of the week's runs
-- (versions without a date sort first, as 1970-01-01). One sorted array per week, then one
-- comparison per (release, week).
CREATE VIEW IF NOT EXISTS ${db}.release_weeks_to_half AS
SELECT
    release,
    release_date,
    toInt32(if(countIf(half_date >= release_date) = 0, -1, minIf(weeks_since_release, half_date >= release_date))) AS weeks_to_half
FROM
(
    SELECT release, release_date, toInt32(intDiv(week - toMonday(release_date), 7)) AS weeks_since_release, half_date
    FROM
    (
        SELECT 1 AS k, week, half_date
        FROM
        (
            SELECT
                week,
                arraySort(groupArray(version_release_date)) AS dates,
                arrayCumSum(arraySort((n, d) -> d, groupArray(runs_on_date), groupArray(version_release_date))) AS cumulative,
                cumulative[-1] AS runs,
                dates[arrayFirstIndex(c -> c * 2 > runs, cumulative)] AS half_date
            FROM
            (
                SELECT week, release_date AS version_release_date, sum(workflows) AS runs_on_date
                FROM ${db}.rollup_weekly_release
                WHERE is_test = 0
                GROUP BY week, version_release_date
                HAVING runs_on_date != 0
            )
            GROUP BY week
        )
    ) AS weeks
    ALL INNER JOIN
    (
        SELECT 1 AS k, parsl_version AS release, release_date
        FROM ${db}.rollup_weekly_release
        WHERE is_test = 0 AND release_date > toDate('1970-01-01')
        GROUP BY release, release_date
        HAVING sum(workflows) != 0
    ) AS releases USING k
    WHERE week >= toMonday(release_date)
)
GROUP BY release, release_date
ORDER BY release_date ASC, release ASC;
