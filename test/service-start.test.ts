import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freeTcpPort } from '@parsl-usage/kit/processes';
import { REPO_ROOT, eventually } from './setup/env.js';

/**
 * How the aggregator and the dashboard start, as built processes (issue 23): a start that fails
 * is one log line and exit 1, for the supervisor; a SIGTERM while the aggregator still waits for
 * its servers to provision them is a clean stop (exit 0), since the signal handlers go in first.
 * Nothing listens on the Kafka and ClickHouse ports given here: none of this needs a server.
 */
interface Started {
  code: Promise<number | null>;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

function start(service: 'aggregator' | 'dashboard', env: Record<string, string>): Started {
  const child = spawn(process.execPath, [`services/${service}/dist/main.js`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  started.push(child);
  return {
    code: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    output: () => out,
    kill: (signal) => child.kill(signal),
  };
}
const started: ReturnType<typeof spawn>[] = [];

/** A port something else holds. */
async function takenPort(): Promise<number> {
  const srv: Server = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  held.push(srv);
  return (srv.address() as AddressInfo).port;
}
const held: Server[] = [];

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of held) s.close();
});

/** The process's own log lines (pino's JSON; the ClickHouse client logs its retries as text). */
function logLines(out: string): Array<{ level: number; msg: string }> {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{"level":'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}
/** What node prints after an error nobody caught (an unhandled rejection of the top-level await). */
const UNCAUGHT = /^Node\.js v\d+/m;
const FATAL = 60; // pino's level number

async function nowhere(): Promise<Record<string, string>> {
  return {
    KAFKA_BROKERS: `127.0.0.1:${await freeTcpPort()}`,
    CLICKHOUSE_URL: `http://127.0.0.1:${await freeTcpPort()}`,
  };
}

describe('service start', () => {
  it.each<
    [string, () => Promise<{ service: 'aggregator' | 'dashboard'; env: Record<string, string> }>, string]
  >([
    [
      'aggregator: provisioning gives up on servers that never answer',
      async () => ({
        service: 'aggregator',
        env: { ...(await nowhere()), AGG_MIGRATE_ON_START: 'true', PROVISION_WAIT_MS: '0' },
      }),
      'aggregator failed to start',
    ],
    [
      'aggregator: its HTTP port is taken',
      async () => ({
        service: 'aggregator',
        env: { ...(await nowhere()), AGG_HTTP_PORT: String(await takenPort()) },
      }),
      'aggregator failed to start',
    ],
    [
      'dashboard: its HTTP port is taken',
      async () => ({
        service: 'dashboard',
        env: {
          DASH_CLICKHOUSE_URL: (await nowhere()).CLICKHOUSE_URL ?? '',
          DASH_HTTP_PORT: String(await takenPort()),
        },
      }),
      'dashboard failed to start',
    ],
  ])(
    '%s: one fatal line, exit 1',
    async (_name, setup, message) => {
      const { service, env } = await setup();
      const p = start(service, env);
      expect(await p.code).toBe(1);
      expect(p.output()).not.toMatch(UNCAUGHT);
      const lines = logLines(p.output());
      expect(lines.filter((l) => l.level === FATAL).map((l) => l.msg)).toEqual([message]);
    },
    60_000,
  );

  it('aggregator: SIGTERM while provisioning waits for its servers stops it cleanly (exit 0)', async () => {
    const p = start('aggregator', {
      ...(await nowhere()),
      AGG_MIGRATE_ON_START: 'true',
      PROVISION_WAIT_MS: '600000', // ms: it would wait ten minutes
    });
    await eventually(() => (p.output().includes('waiting for ClickHouse') ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the aggregator to wait for ClickHouse',
    });
    p.kill('SIGTERM');
    expect(await p.code).toBe(0);
    expect(p.output()).not.toMatch(UNCAUGHT);
    const lines = logLines(p.output());
    expect(lines.some((l) => l.msg === 'shutting down')).toBe(true);
    expect(lines.filter((l) => l.level === FATAL)).toEqual([]);
  }, 60_000);
});
