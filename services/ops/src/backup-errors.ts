/**
 * What a failure of the backup or the restore is, read from its code, never from the words of its
 * message (ClickHouse's change between releases, node's between versions, ours with any edit):
 * - `clickhouse`: the server refused; `code` is its exception code (60 UNKNOWN_TABLE, 81
 *   UNKNOWN_DATABASE, 497 ACCESS_DENIED...), from the client library's ClickHouseError or from a
 *   raw request's ClickHouseHttpError (the X-ClickHouse-Exception-Code header; on 18.16 the code
 *   its error body starts with, which is also all the client library passes on from 18.16);
 * - `system`: node's code: the file system (ENOENT, EACCES, EEXIST), the network (ECONNREFUSED,
 *   ECONNRESET, ETIMEDOUT, which backup-http.ts's idle timeout also uses) or a stream
 *   (ERR_STREAM_PREMATURE_CLOSE);
 * - `unknown`: nothing carries a code (a bug, or a refusal of our own such as a damaged manifest).
 * A wrapped error is looked through (`cause`, a few levels): the first code found decides.
 */
import { ClickHouseError } from '@clickhouse/client';
import { ClickHouseHttpError, serverCode } from './backup-http.js';

export type FailureCode =
  { kind: 'clickhouse'; code: number } | { kind: 'system'; code: string } | { kind: 'unknown' };

/** node's error codes: `E` and capitals (ENOENT, ECONNRESET), or `ERR_...` */
const SYSTEM_CODE = /^E[A-Z0-9_]+$/;
const DIGITS = /^\d+$/;
/** how many causes deep to look */
const MAX_DEPTH = 4;

function codeOf(e: Error): FailureCode | null {
  const code = (e as { code?: unknown }).code;
  if (e instanceof ClickHouseError || e instanceof ClickHouseHttpError) {
    return typeof code === 'string' && DIGITS.test(code) ? { kind: 'clickhouse', code: Number(code) } : null;
  }
  if (typeof code === 'string' && SYSTEM_CODE.test(code)) return { kind: 'system', code };
  // The client library does not parse 18.16's errors: they reach us as a plain Error whose
  // message is the server's body, with the code in its fixed prefix.
  if (code === undefined && Object.getPrototypeOf(e) === Error.prototype) {
    const c = serverCode(e.message);
    if (c !== undefined) return { kind: 'clickhouse', code: Number(c) };
  }
  return null;
}

export function classifyFailure(err: unknown): FailureCode {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth <= MAX_DEPTH; depth++) {
    const found = codeOf(e);
    if (found !== null) return found;
    e = e.cause;
  }
  return { kind: 'unknown' };
}

/** Whether node's code for `err` (or a cause's) is `code` (ENOENT, EEXIST...). */
export function isSystemFailure(err: unknown, code: string): boolean {
  const f = classifyFailure(err);
  return f.kind === 'system' && f.code === code;
}
