/**
 * ClickHouse's HTTP interface for bulk streams, with node:http rather than the client library:
 * a backup stores the gzip stream the server sends (`enable_http_compression`) byte for byte,
 * and a restore sends the stored file back as a gzip request body (`Content-Encoding: gzip`),
 * so neither side decompresses or recompresses. Both exist on 18.16 and current releases.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export interface ClickHouseHttp {
  url: string;
  user: string;
  password: string;
  /** ms a request may go without a byte either way, connecting included (DEFAULT_IDLE_TIMEOUT_MS) */
  idleTimeoutMs?: number;
}

/**
 * ms without a byte in either direction after which a request is abandoned. An idle limit, not a
 * deadline: a month's stream may take as long as it needs while bytes move, but a server that
 * died or a network that drops packets ends the command with an error instead of hanging it.
 * Two minutes is chosen well above the longest silence a healthy transfer should have (the
 * server writing one insert block, up to 1,048,576 rows, into a table and its views before it
 * reads on); it was not measured on a large restore, and CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS raises it.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/**
 * ClickHouse answered with an error. `code` is the server's exception code (digits, as the
 * client library's ClickHouseError has it): the X-ClickHouse-Exception-Code header, or on 18.16,
 * which sends no such header, the code its error body starts with (serverCode); absent when the
 * answer carries neither (a proxy's error page).
 */
export class ClickHouseHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ClickHouseHttpError';
  }
}

/** The request went idle for longer than its limit; `code` as node's own socket timeouts have it. */
export class IdleTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly idleMs: number) {
    super(`ClickHouse sent and took nothing for ${idleMs} ms`);
    this.name = 'IdleTimeoutError';
  }
}

/** gzip level of the server's output: 3 compresses Native nearly as well as 6 at about twice the speed. */
export const GZIP_LEVEL = 3;

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  const source: Readable = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
  for await (const c of source) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The first line of a ClickHouse error body, without the stack trace it may carry. */
export function serverMessage(body: string): string {
  const line = body.trim().split('\n')[0] ?? '';
  return line.replace(/, Stack trace:.*$/, '').slice(0, 500);
}

/**
 * The exception code an error body of ClickHouse 18.16 starts with ("Code: 60, e.displayText() =
 * DB::Exception: ..."): that release's only place for it. Anchored to the whole prefix, so that
 * no other text is taken for a code.
 */
export function serverCode(body: string): string | undefined {
  return /^Code: (\d+), e\.displayText\(\) = /.exec(body.trimStart())?.[1];
}

/** The server's exception code: its header (current releases), else its body's prefix (18.16). */
function exceptionCode(res: IncomingMessage, body: string): string | undefined {
  const h = res.headers['x-clickhouse-exception-code'];
  const v = Array.isArray(h) ? h[0] : h;
  return v !== undefined && /^\d+$/.test(v) ? v : serverCode(body);
}

function send(
  ch: ClickHouseHttp,
  params: Record<string, string>,
  headers: Record<string, string>,
  body: Readable | string,
): Promise<IncomingMessage> {
  const url = new URL(ch.url);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const idleMs = ch.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let response: IncomingMessage | undefined;
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(`${ch.user}:${ch.password}`).toString('base64')}`,
          ...headers,
        },
        // The socket's idle limit, from before it connects (a dropped SYN) to the response's last
        // byte (a server that stops mid-stream): it stays with the request until the response ends.
        timeout: idleMs,
      },
      (res) => {
        response = res;
        if (res.statusCode === 200) return resolve(res);
        readAll(res).then(
          (text) =>
            reject(
              new ClickHouseHttpError(
                `ClickHouse answered ${res.statusCode}: ${serverMessage(text)}`,
                res.statusCode ?? 0,
                exceptionCode(res, text),
              ),
            ),
          reject,
        );
      },
    );
    req.on('timeout', () => {
      const err = new IdleTimeoutError(idleMs);
      // The response first: destroying only the request would end its stream as "aborted".
      response?.destroy(err);
      req.destroy(err);
    });
    req.on('error', reject);
    if (typeof body === 'string') req.end(body);
    else pipeline(body, req).catch(reject);
  });
}

/** A query whose result is streamed back gzip-compressed by the server (the response's raw bytes). */
export function queryGzip(ch: ClickHouseHttp, sql: string): Promise<IncomingMessage> {
  return send(
    ch,
    { enable_http_compression: '1', http_zlib_compression_level: String(GZIP_LEVEL) },
    { 'Accept-Encoding': 'gzip' },
    sql,
  );
}

/** An INSERT whose data is a gzip-compressed stream in the format the statement names. */
export async function insertGzip(ch: ClickHouseHttp, insertSql: string, gzipBody: Readable): Promise<void> {
  const res = await send(ch, { query: insertSql }, { 'Content-Encoding': 'gzip' }, gzipBody);
  await readAll(res);
}
