import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clickhouse, eventually, freshDatabase, freshTopics } from './setup/env.js';
import { aggregatorEnv, relayEnv } from './support/pipeline.js';
import {
  freeTcpPort,
  freeUdpPort,
  sendUdp,
  spawnService,
  type ServiceProcess,
} from '@parsl-usage/kit/processes';

const fixture = (name: string) => readFileSync(new URL(`../schemas/fixtures/${name}`, import.meta.url));

describe('walking skeleton: UDP -> relay -> Kafka -> aggregator -> ClickHouse', () => {
  const admin = clickhouse('admin');
  const procs: ServiceProcess[] = [];
  const spoolDir = mkdtempSync(join(tmpdir(), 'e2e-spool-'));
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await admin.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it("a real Parsl 2025.03.17 run's launch and closure become one completed workflow", async () => {
    const database = await freshDatabase('e2e');
    const topics = await freshTopics(3);
    const udpPort = await freeUdpPort();
    const relay = spawnService(
      'relay',
      relayEnv({ udpPort, httpPort: await freeTcpPort(), topics, spoolDir }),
    );
    const aggregator = spawnService(
      'aggregator',
      aggregatorEnv({ httpPort: await freeTcpPort(), topics, database }),
    );
    procs.push(relay, aggregator);

    // The relay may still be binding: resend until the launch is visible (duplicates are idempotent).
    const launch = fixture('parsl-2025.03.17/level3-launch.bin');
    const closure = fixture('parsl-2025.03.17/level3-closure.bin');
    const legacy = [fixture('legacy/2023.04.17-launch.bin'), fixture('legacy/2023.04.17-closure.bin')];
    const query = `SELECT workflow_id, status, protocol, parsl_version, python_minor, tracking_level, executors
                   FROM ${database}.workflows ORDER BY protocol`;
    type Row = {
      workflow_id: string;
      status: string;
      protocol: string;
      parsl_version: string;
      python_minor: string;
      tracking_level: number;
      executors: string[];
    };
    const rows = await eventually(
      async () => {
        await sendUdp(udpPort, [launch, closure, ...legacy]);
        const r = await (await admin.query({ query, format: 'JSONEachRow' })).json<Row>();
        return r.length === 2 && r.every((x) => x.status === 'completed') ? r : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 1_000,
        what: `both runs completed (relay: ${relay.output().slice(-500)})`,
      },
    );
    expect(rows[0]).toMatchObject({
      status: 'completed',
      protocol: 'v1',
      parsl_version: '2025.03.17',
      tracking_level: 3,
    });
    expect(rows[1]).toMatchObject({ status: 'completed', protocol: 'legacy', parsl_version: '2023.04.17' });

    // Every resend was a duplicate: each run is counted exactly once.
    const [sum] = await (
      await admin.query({
        query: `SELECT sum(sign) AS n FROM ${database}.workflow_changes`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    expect(Number(sum?.n)).toBe(2);

    // Graceful shutdown flushes and exits 0.
    expect(await relay.stop()).toBe(0);
    expect(await aggregator.stop()).toBe(0);
  });
});
