/**
 * /data/: the open-data directory, read-only. Only names the export writes are served
 * (manifest.json and <rollup>/<YYYY-MM-DD>.csv|.parquet), so no request reaches another file,
 * whatever its dots, slashes or percent-escapes: a path with an escaped or literal dot segment,
 * slash or backslash is a 400, any other unknown name a 404. A closed day's file only changes
 * by a withdrawal (manifest.ts), so it is cached as immutable; the manifest is revalidated.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { send, sendJson } from '../responses.js';
import { ROLLUP_FILES } from './rollup-files.js';
import { sha256 } from './encode.js';
import { MANIFEST_NAME } from './manifest.js';

export const DATA_PREFIX = '/data/';

const ROLLUPS = ROLLUP_FILES.map((f) => f.name).join('|');
const DATA_FILE = new RegExp(`^(?:${ROLLUPS})/\\d{4}-\\d{2}-\\d{2}\\.(csv|parquet)$`);
/** escaped dot, slash, backslash or NUL, a literal backslash, or a dot segment */
const HOSTILE = /%2e|%2f|%5c|%00|\\|(^|\/)\.\.?(\/|$)/i;

const TYPES = {
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
  json: 'application/json; charset=utf-8',
} as const;

export type DataTarget =
  | { kind: 'file'; name: string; type: string; immutable: boolean }
  | { kind: 'bad'; status: 400 | 404; reason: string };

/**
 * What a request target names (as the client sent it, before any dot segment is resolved, still
 * percent-encoded; the query is ignored); pure.
 */
export function dataTarget(rawTarget: string): DataTarget {
  const rawPath = rawTarget.split('?', 1)[0] ?? '';
  const rest = rawPath.startsWith(DATA_PREFIX) ? rawPath.slice(DATA_PREFIX.length) : null;
  if (rest === null) return { kind: 'bad', status: 404, reason: 'not under /data/' };
  if (HOSTILE.test(rest)) return { kind: 'bad', status: 400, reason: 'path segments must be plain names' };
  if (rest === MANIFEST_NAME) return { kind: 'file', name: rest, type: TYPES.json, immutable: false };
  const m = DATA_FILE.exec(rest);
  if (!m) return { kind: 'bad', status: 404, reason: 'no such file' };
  return { kind: 'file', name: rest, type: TYPES[m[1] as 'csv' | 'parquet'], immutable: true };
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, max-age=0, must-revalidate';

/**
 * Answers GET/HEAD of a /data/ request target (req.url, raw) from `dir` (undefined: no export
 * configured, 404); resolves to the status sent. A symbolic link or anything but a regular file
 * is not served.
 */
export async function serveData(
  res: ServerResponse,
  dir: string | undefined,
  rawTarget: string,
  ifNoneMatch?: string,
): Promise<number> {
  const t = dataTarget(rawTarget);
  if (t.kind === 'bad' || dir === undefined) {
    const status = t.kind === 'bad' ? t.status : 404;
    sendJson(res, status, { error: t.kind === 'bad' ? t.reason : 'no open-data directory is configured' });
    return status;
  }
  const path = join(dir, t.name);
  const st = await lstat(path).catch(() => null);
  if (!st?.isFile()) {
    sendJson(res, 404, { error: 'no such file' });
    return 404;
  }
  const body = await readFile(path);
  const etag = `"${sha256(body)}"`;
  const headers = {
    etag,
    'cache-control': t.immutable ? IMMUTABLE : REVALIDATE,
    'access-control-allow-origin': '*',
  };
  if (ifNoneMatch === etag) {
    res.writeHead(304, headers);
    res.end();
    return 304;
  }
  send(res, 200, t.type, body, headers);
  return 200;
}
