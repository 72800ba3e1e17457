/**
 * Days after which a level-3 run still without its closure counts as `unfinished`. The one
 * source of this rule is the SQL: migrations 003 (daily_workflows) and 005 (workflows) compare
 * `day < today() - 7`, and every analyst view reads those. The dashboard's own queries use this
 * constant, and unfinished.test.ts fails if it ever differs from the number in the migrations.
 * It is not a setting: a setting beside hard-coded SQL could only make the two disagree.
 */
export const UNFINISHED_AFTER_DAYS = 7;
