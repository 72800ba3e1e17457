import { afterAll, describe, expect, it } from 'vitest';
import { eventually, freshName, freshTopics, kafka } from './setup/env.js';
import { v1Launch } from '@parsl-usage/kit/datagrams';
import { aggregatorEnv } from './support/pipeline.js';
import { freeTcpPort, spawnService, type ServiceProcess } from '@parsl-usage/kit/processes';

/**
 * Issue 12: no zombie. A consumer that can never work (here: its database has no tables, so
 * every statement fails with ClickHouse's UNKNOWN_TABLE, a fatal error) must end its process
 * with a non-zero code, for its supervisor to restart and count, instead of living on with
 * `/healthz` saying crashed and no partition consumed.
 */
describe('aggregator: a fatal consumer crash ends the process', () => {
  const procs: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  it('exits 1 after logging the crash', async () => {
    const topics = await freshTopics(1);
    const producer = kafka('fatal').producer();
    await producer.connect();
    await producer.send({ topic: topics.raw, messages: [{ key: 'f', value: v1Launch('f') }] });
    await producer.disconnect();
    const aggregator = spawnService(
      'aggregator',
      // a database that exists in no migration: every statement is refused as fatal
      aggregatorEnv({ httpPort: await freeTcpPort(), topics, database: freshName('missing') }),
    );
    procs.push(aggregator);
    const code = await eventually(() => aggregator.child.exitCode ?? undefined, {
      timeoutMs: 60_000,
      what: `the aggregator to exit (${aggregator.output().slice(-400)})`,
    });
    expect(code).toBe(1);
    expect(aggregator.output()).toContain('consumer crashed for good');
  }, 90_000);
});
