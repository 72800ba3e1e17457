import { FatalError, RefusedError, TransientError, isRetriable } from '../errors.js';

/**
 * What a ClickHouse failure means for the pipeline, decided by ClickHouse's numeric error code
 * (never by message text, which changes between releases):
 * - `refused`: the server parsed the statement and refused the DATA (a row it cannot store).
 *   Retrying the same rows can never succeed; the offending messages are isolated instead.
 * - `transient`: the server is overloaded, timing out or between states; retry with backoff.
 * - `fatal`: the statement itself is wrong here (unknown table or column, access denied, bad
 *   configuration); no message is to blame, and retrying will not help.
 * Codes: src/Common/ErrorCodes.cpp, the same numbers on 18.16 and current releases.
 */
export type ClickHouseFailure = 'refused' | 'transient' | 'fatal';

const REFUSED_CODES: ReadonlyMap<number, string> = new Map([
  [6, 'CANNOT_PARSE_TEXT'],
  [25, 'CANNOT_PARSE_ESCAPE_SEQUENCE'],
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [32, 'ATTEMPT_TO_READ_AFTER_EOF'],
  [33, 'CANNOT_READ_ALL_DATA'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [53, 'TYPE_MISMATCH'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'],
  [117, 'INCORRECT_DATA'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  [349, 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN'],
]);

const TRANSIENT_CODES: ReadonlyMap<number, string> = new Map([
  [159, 'TIMEOUT_EXCEEDED'],
  [160, 'TOO_SLOW'],
  [201, 'QUOTA_EXPIRED'],
  [202, 'TOO_MANY_SIMULTANEOUS_QUERIES'],
  [203, 'NO_FREE_CONNECTION'],
  [209, 'SOCKET_TIMEOUT'],
  [210, 'NETWORK_ERROR'],
  [225, 'NO_ZOOKEEPER'],
  [236, 'ABORTED'],
  [241, 'MEMORY_LIMIT_EXCEEDED'],
  [242, 'TABLE_IS_READ_ONLY'],
  // The connection to ZooKeeper broke while an insert committed its part: the part is rolled
  // back (or, if the commit reached ZooKeeper, kept); insertChangesOnce looks before it retries.
  [244, 'UNEXPECTED_ZOOKEEPER_ERROR'],
  [252, 'TOO_MANY_PARTS'],
  [319, 'UNKNOWN_STATUS_OF_INSERT'],
  [394, 'QUERY_WAS_CANCELLED'],
  [425, 'SYSTEM_ERROR'],
  [439, 'CANNOT_SCHEDULE_TASK'],
  [999, 'KEEPER_EXCEPTION'],
]);

/**
 * The codes with which a Replicated* table refuses writes because its server has no working
 * coordination session (ZooKeeper or Keeper lost, or its quorum): the data is not at fault and
 * the server is up, so the insert waits (all are transient above) and health says why
 * (coordination-health.ts). Thrown on 18.16 by StorageReplicatedMergeTree and
 * ReplicatedMergeTreeBlockOutputStream: 242 "Table is in readonly mode" (no session at start, or
 * since it expired), 225 "ZooKeeper session has been expired" / "No ZooKeeper session", 999 a
 * ZooKeeper operation that failed (connection loss, operation timeout), 244 "Unrecoverable
 * network error while adding block".
 */
const COORDINATION_CODES: ReadonlySet<number> = new Set([225, 242, 244, 999]);

/** True for a code that means the server lost its coordination service (not the data, not the server). */
export function isCoordinationCode(code: number | null): boolean {
  return code !== null && COORDINATION_CODES.has(code);
}

/**
 * The ClickHouse code of an error or of any error it wraps (`cause`): classify() wraps the
 * client's error in a TransientError whose own message names the code only in words.
 */
export function clickHouseErrorCodeDeep(err: unknown): number | null {
  for (let e: unknown = err, depth = 0; e !== null && e !== undefined && depth < 5; depth++) {
    const code = clickHouseErrorCode(e);
    if (code !== null) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** The server's error code: @clickhouse/client's `code`, else "Code: N" in the text (18.16's format). */
export function clickHouseErrorCode(err: unknown): number | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const msg = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const m = /\bCode: (\d+)\b/.exec(msg);
  return m ? Number(m[1]) : null;
}

/** null: not an answer from the server (a connection failure, classified by the caller). */
export function classifyClickHouseCode(code: number | null): ClickHouseFailure | null {
  if (code === null) return null;
  if (REFUSED_CODES.has(code)) return 'refused';
  if (TRANSIENT_CODES.has(code)) return 'transient';
  return 'fatal';
}

/** "25 CANNOT_PARSE_ESCAPE_SEQUENCE" for logs and reject headers. */
export function describeClickHouseCode(code: number): string {
  const name = REFUSED_CODES.get(code) ?? TRANSIENT_CODES.get(code);
  return name === undefined ? String(code) : `${code} ${name}`;
}

/** A ClickHouse failure as the retry policy sees it: refused, transient or fatal. */
export function classify(err: unknown, what: string): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const code = clickHouseErrorCode(err);
  // The server's own answer decides (clickhouse-errors.ts); only failures without one
  // (connections, sockets, timeouts on our side) fall back to node's error codes and text.
  switch (classifyClickHouseCode(code)) {
    case 'refused':
      return new RefusedError(`ClickHouse ${what} refused the data: ${msg}`, code ?? 0, err);
    case 'transient':
      return new TransientError(
        `ClickHouse ${what} failed (${describeClickHouseCode(code ?? 0)}): ${msg}`,
        err,
      );
    case 'fatal':
      return new FatalError(`ClickHouse ${what} failed: ${msg}`, err);
    case null:
      break;
  }
  if (isRetriable(err) || /timeout|socket hang up|ECONN|EPIPE|EHOSTUNREACH|ENETUNREACH/i.test(msg)) {
    return new TransientError(`ClickHouse ${what} failed: ${msg}`, err);
  }
  return new FatalError(`ClickHouse ${what} failed: ${msg}`, err);
}
