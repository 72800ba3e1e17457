import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { IdleTimeoutError, insertGzip, queryGzip, serverCode, type ClickHouseHttp } from './backup-http.js';

/**
 * The idle timeout of the raw requests, against network faults rather than a server: a peer that
 * accepts the connection and then says nothing, or stops in the middle of a response. (What
 * ClickHouse itself answers is tested on the real server, test/backup-http.test.ts.)
 */
const IDLE_MS = 300; // ms: short, so each case takes well under a second

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A TCP peer that does `behave` with each connection; resolves to its address as ClickHouseHttp. */
async function peer(behave: (socket: Socket) => void): Promise<ClickHouseHttp> {
  const sockets = new Set<Socket>();
  server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined); // the client ends connections abruptly on a timeout
    behave(s);
  });
  const srv = server;
  // close() waits for open connections: end them with the server.
  const close = srv.close.bind(srv);
  srv.close = (cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, user: 'u', password: 'p', idleTimeoutMs: IDLE_MS };
}

const chunk = (text: string): string => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
const HEAD =
  'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n';

async function drain(stream: Readable): Promise<string> {
  let out = '';
  for await (const c of stream) out += (c as Buffer).toString();
  return out;
}

describe('raw ClickHouse requests time out when idle', () => {
  it('a peer that never answers: the query fails after the idle limit', async () => {
    const ch = await peer(() => undefined);
    const t0 = performance.now();
    await expect(queryGzip(ch, 'SELECT 1')).rejects.toBeInstanceOf(IdleTimeoutError);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(IDLE_MS - 20); // ms: timers may fire a little early
    expect(ms).toBeLessThan(IDLE_MS + 5_000);
  });

  it('a peer that takes the insert and never answers: the insert fails', async () => {
    const ch = await peer((s) => s.resume());
    await expect(
      insertGzip(ch, 'INSERT INTO t FORMAT Native', Readable.from([Buffer.from('x')])),
    ).rejects.toThrow(IdleTimeoutError);
  });

  it('a response that stops in the middle: its stream fails with the timeout, not "aborted"', async () => {
    const ch = await peer((s) => s.write(HEAD + chunk('part of a month')));
    const res = await queryGzip(ch, 'SELECT * FROM t FORMAT Native');
    await expect(drain(res)).rejects.toThrow(IdleTimeoutError);
  });

  it('a slow response that never goes idle is not cut: a limit on silence, not on duration', async () => {
    const pieces = 8;
    const ch = await peer((s) => {
      s.write(HEAD);
      let n = 0;
      const t = setInterval(() => {
        if (s.destroyed) return clearInterval(t);
        if (++n <= pieces) s.write(chunk(`${n};`));
        else {
          clearInterval(t);
          s.end('0\r\n\r\n');
        }
      }, IDLE_MS / 3);
    });
    const t0 = performance.now();
    const body = await drain(await queryGzip(ch, 'SELECT 1'));
    expect(body).toBe('1;2;3;4;5;6;7;8;');
    expect(performance.now() - t0).toBeGreaterThan(IDLE_MS * 2);
  });
});

describe('serverCode', () => {
  it.each([
    ["Code: 60, e.displayText() = DB::Exception: Table x.y doesn't exist., e.what() = DB::Exception\n", '60'],
    ['  Code: 81, e.displayText() = DB::Exception: Database x does not exist', '81'],
    // current releases put the code in a header; their body reads differently
    ['Code: 60. DB::Exception: Table x.y does not exist. (UNKNOWN_TABLE) (version 24.8.4.13)', undefined],
    ['<html>502 Bad Gateway</html>', undefined],
    ['export failed: Code: 60, e.displayText() = DB::Exception', undefined],
  ])('%j -> %s', (body, code) => {
    expect(serverCode(body)).toBe(code);
  });
});
