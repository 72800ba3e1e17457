/**
 * Bounds on every number a datagram carries. A value outside its bounds is rejected as
 * bad_field naming the field, never clamped: a clamped 1e300 would still be counted, and one
 * datagram could then inflate a public total ("apps run") by 2^53.
 *
 * Each bound is far beyond anything a real Parsl run reports, so no honest datagram meets it.
 */

/** app_count, app_fails (protocol 1) and t_apps, failed (legacy): tasks in one run. */
export const MAX_TASK_COUNT = 1_000_000_000;
/** executors_len (protocol 1) and sites (legacy): executors in one Parsl config. */
export const MAX_EXECUTORS = 1_000;
/** execution_time, seconds: ten Julian years. A negative value (a clock stepped back) is kept as unknown. */
export const MAX_EXECUTION_SECONDS = 315_576_000;
/** start and end, unix seconds: 2018-01-01, before the first Parsl release with usage tracking. */
export const MIN_CLIENT_SECONDS = 1_514_764_800;
/** start and end may run ahead of the relay's time of receipt by at most this (client clock skew), seconds. */
export const MAX_CLOCK_AHEAD_SECONDS = 86_400;

export type BoundCheck = { kind: 'ok' } | { kind: 'out_of_bounds'; detail: string };

const OK: BoundCheck = { kind: 'ok' };

/** A count or an executor total: an integer in [0, max] (type and sign are checked by the schema). */
export function checkAtMost(field: string, value: number | null | undefined, max: number): BoundCheck {
  if (value === null || value === undefined || value <= max) return OK;
  return { kind: 'out_of_bounds', detail: `${field}: ${value} is above the bound ${max}` };
}

/** A client timestamp against the relay's time of receipt. */
export function checkClientTime(
  field: string,
  seconds: number | null | undefined,
  receivedAtMs: number,
): BoundCheck {
  if (seconds === null || seconds === undefined) return OK;
  if (seconds < MIN_CLIENT_SECONDS) {
    return {
      kind: 'out_of_bounds',
      detail: `${field}: ${seconds} is before 2018-01-01 (${MIN_CLIENT_SECONDS})`,
    };
  }
  const latest = Math.floor(receivedAtMs / 1000) + MAX_CLOCK_AHEAD_SECONDS;
  if (seconds > latest) {
    return {
      kind: 'out_of_bounds',
      detail: `${field}: ${seconds} is more than ${MAX_CLOCK_AHEAD_SECONDS} s after the time of receipt`,
    };
  }
  return OK;
}

/** execution_time: |value| <= MAX_EXECUTION_SECONDS. */
export function checkExecutionTime(value: number | null | undefined): BoundCheck {
  if (value === null || value === undefined || Math.abs(value) <= MAX_EXECUTION_SECONDS) return OK;
  return {
    kind: 'out_of_bounds',
    detail: `execution_time: ${value} is beyond the bound of ${MAX_EXECUTION_SECONDS} s`,
  };
}

/** The first failed check, or ok. */
export function firstOutOfBounds(checks: readonly BoundCheck[]): BoundCheck {
  return checks.find((c) => c.kind === 'out_of_bounds') ?? OK;
}
