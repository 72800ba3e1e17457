/**
 * The dashboard's questions, each answered twice over the same data: through the rollups
 * (the analyst views of 003/004/006/007) and directly from the current workflows (`workflows`, which
 * reads workflow_versions FINAL). Time series cover the last 365 days; the leaderboard and
 * release adoption are all-time, as the dashboard shows them.
 */
export interface Question {
  name: string;
  rollup: string;
  raw: string;
}

const SINCE = 'today() - 365';

export function questions(db: string): Question[] {
  const w = `${db}.workflows`;
  return [
    {
      name: 'workflows per day',
      rollup: `SELECT day, workflows, completed, unfinished FROM ${db}.daily_workflows WHERE day >= ${SINCE} ORDER BY day`,
      raw: `SELECT day, count(), countIf(status = 'completed'), countIf(status = 'unfinished') FROM ${w} WHERE is_test = 0 AND day >= ${SINCE} GROUP BY day ORDER BY day`,
    },
    {
      name: 'python versions per day',
      rollup: `SELECT day, python_minor, workflows FROM ${db}.python_versions_daily WHERE day >= ${SINCE} ORDER BY day, python_minor`,
      raw: `SELECT day, python_minor, count() FROM ${w} WHERE is_test = 0 AND day >= ${SINCE} GROUP BY day, python_minor ORDER BY day, python_minor`,
    },
    {
      name: 'parsl versions per day',
      rollup: `SELECT day, parsl_version, workflows FROM ${db}.parsl_versions_daily WHERE day >= ${SINCE} ORDER BY day, parsl_version`,
      raw: `SELECT day, parsl_version, count() FROM ${w} WHERE is_test = 0 AND day >= ${SINCE} GROUP BY day, parsl_version ORDER BY day, parsl_version`,
    },
    {
      name: 'platforms per day',
      rollup: `SELECT day, platform, workflows FROM ${db}.platforms_daily WHERE day >= ${SINCE} ORDER BY day, platform`,
      raw: `SELECT day, platform, count() FROM ${w} WHERE is_test = 0 AND day >= ${SINCE} GROUP BY day, platform ORDER BY day, platform`,
    },
    {
      name: 'executors/providers/launchers per day',
      rollup: `SELECT day, kind, component, workflows FROM ${db}.components_daily WHERE day >= ${SINCE} ORDER BY day, kind, component`,
      raw: `SELECT day, kind, c, count() FROM ${w} ARRAY JOIN
              arrayConcat(arrayMap(x -> 'executor', arrayDistinct(executors)), arrayMap(x -> 'provider', arrayDistinct(providers)), arrayMap(x -> 'launcher', arrayDistinct(launchers))) AS kind,
              arrayConcat(arrayDistinct(executors), arrayDistinct(providers), arrayDistinct(launchers)) AS c
            WHERE is_test = 0 AND day >= ${SINCE} GROUP BY day, kind, c ORDER BY day, kind, c`,
    },
    {
      name: 'apps and failures per day',
      rollup: `SELECT day, apps, app_fails FROM ${db}.daily_workflows WHERE day >= ${SINCE} ORDER BY day`,
      raw: `SELECT day, sum(ifNull(app_count, 0)), sum(ifNull(app_fails, 0)) FROM ${w} WHERE is_test = 0 AND day >= ${SINCE} GROUP BY day ORDER BY day`,
    },
    {
      name: 'execution-time quantiles per day',
      rollup: `SELECT day, p50_s, p90_s, p99_s FROM ${db}.execution_time_quantiles WHERE day >= ${SINCE} ORDER BY day`,
      raw: `SELECT day, quantiles(0.5, 0.9, 0.99)(assumeNotNull(execution_time_s)) FROM ${w} WHERE is_test = 0 AND day >= ${SINCE} AND execution_time_s IS NOT NULL GROUP BY day ORDER BY day`,
    },
    {
      name: 'installation age (weeks)',
      rollup: `SELECT age_weeks, sum(workflows) AS n FROM ${db}.installation_age_daily WHERE day >= ${SINCE} GROUP BY age_weeks ORDER BY age_weeks`,
      raw: `SELECT toInt16(if(install_age_days < 0, -1, intDiv(least(install_age_days, 3650), 7))) AS age_weeks, count() FROM ${w} WHERE is_test = 0 AND day >= ${SINCE} GROUP BY age_weeks ORDER BY age_weeks`,
    },
    {
      name: 'release adoption (weeks to half)',
      rollup: `SELECT release, weeks_to_half FROM ${db}.release_half_adoption_weekly`,
      raw: `SELECT release, toInt32(if(countIf(share >= 0.5) = 0, -1, minIf(wk, share >= 0.5))) AS weeks_to_half FROM (
              SELECT release, release_date, toInt32(intDiv(day - release_date, 7)) AS wk, sum(runs) AS r, sum(newer) AS nw, nw / r AS share FROM (
                SELECT release, release_date, day, sum(version_runs) AS runs, sumIf(version_runs, vrd >= release_date) AS newer FROM (
                  SELECT 1 AS k, day, parsl_release_date AS vrd, count() AS version_runs FROM ${w} WHERE is_test = 0 GROUP BY day, vrd
                ) AS dv ALL INNER JOIN (
                  SELECT DISTINCT 1 AS k, parsl_version AS release, parsl_release_date AS release_date FROM ${w}
                  WHERE is_test = 0 AND parsl_release_date > toDate('1970-01-01')
                ) AS rel USING k
                WHERE day >= release_date GROUP BY release, release_date, day
              ) GROUP BY release, release_date, wk
            ) GROUP BY release, release_date ORDER BY release_date, release`,
    },
    {
      name: 'release adoption (calendar weeks to half)',
      rollup: `SELECT release, weeks_to_half FROM ${db}.release_weeks_to_half`,
      raw: `SELECT release, toInt32(if(countIf(share >= 0.5) = 0, -1, minIf(wk, share >= 0.5))) AS weeks_to_half FROM (
              SELECT release, release_date, toInt32(intDiv(week - toMonday(release_date), 7)) AS wk, runs, newer, newer / runs AS share FROM (
                SELECT release, release_date, week, sum(version_runs) AS runs, sumIf(version_runs, vrd >= release_date) AS newer FROM (
                  SELECT 1 AS k, toMonday(day) AS week, parsl_release_date AS vrd, count() AS version_runs FROM ${w} WHERE is_test = 0 GROUP BY week, vrd
                ) AS wv ALL INNER JOIN (
                  SELECT DISTINCT 1 AS k, parsl_version AS release, parsl_release_date AS release_date FROM ${w}
                  WHERE is_test = 0 AND parsl_release_date > toDate('1970-01-01')
                ) AS rel USING k
                WHERE week >= toMonday(release_date) GROUP BY release, release_date, week
              )
            ) GROUP BY release, release_date ORDER BY release_date, release`,
    },
    {
      name: 'leaderboard (all time, top 20)',
      rollup: `SELECT project_name, runs, points FROM ${db}.leaderboard LIMIT 20`,
      raw: `SELECT project_name, count() AS runs, sum(points) AS p FROM ${w} WHERE is_test = 0 AND project_name != '' GROUP BY project_name ORDER BY p DESC, runs DESC, project_name LIMIT 20`,
    },
    {
      name: 'leaderboard (all time, top 20, from project totals)',
      rollup: `SELECT project_name, runs, points FROM ${db}.leaderboard_all_time ORDER BY points DESC, runs DESC, project_name LIMIT 20`,
      raw: `SELECT project_name, count() AS runs, sum(points) AS p FROM ${w} WHERE is_test = 0 AND project_name != '' GROUP BY project_name ORDER BY p DESC, runs DESC, project_name LIMIT 20`,
    },
  ];
}

/** The p-th percentile (0..100) of samples, nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
