-- Release adoption by whole weeks since the release (issue 5). Daily shares swing on quiet
-- days; a week pools seven days of runs, so "weeks until half" is the steadier answer.
-- Built on release_adoption (003); runs on 18.16 and 24.8+.

-- weeks_since_release = intDiv(days since release, 7): week 0 is the release day and the six
-- days after it. share = newer_runs / runs over the week's days.
CREATE VIEW IF NOT EXISTS ${db}.release_adoption_weekly AS
SELECT
    release,
    release_date,
    weeks_since_release,
    runs,
    newer_runs,
    newer_runs / runs AS share
FROM
(
    SELECT
        release,
        release_date,
        toInt32(intDiv(days_since_release, 7)) AS weeks_since_release,
        sum(runs) AS runs,
        sum(newer_runs) AS newer_runs
    FROM ${db}.release_adoption
    GROUP BY release, release_date, weeks_since_release
);

-- Per release: the first week in which it and newer releases carried at least half of the
-- runs; -1 = not yet.
CREATE VIEW IF NOT EXISTS ${db}.release_half_adoption_weekly AS
SELECT
    release,
    release_date,
    toInt32(if(countIf(share >= 0.5) = 0, -1, minIf(weeks_since_release, share >= 0.5))) AS weeks_to_half,
    max(share) AS max_share
FROM ${db}.release_adoption_weekly
GROUP BY release, release_date
ORDER BY release_date ASC, release ASC;
