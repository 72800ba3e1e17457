import { createSocket } from 'node:dgram';
import { freeTcpPort } from '@parsl-usage/kit/processes';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { openRecord, sniff } from '@parsl-usage/schemas';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, type RelayApp } from '../services/relay/src/app.js';
import { loadConfig } from '../services/relay/src/config.js';
import { KafkaPublisher } from '../services/relay/src/publisher.js';
import { v1Launch } from '@parsl-usage/kit/datagrams';
import { eventually, freshName, freshTopics, kafka, kafkaBrokers } from './setup/env.js';
import { datagramMessages } from './support/datagram-messages.js';

const logger = pino({ level: 'silent' });

async function send(port: number, datagrams: readonly Buffer[]): Promise<void> {
  const sock = createSocket('udp4');
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) =>
      sock.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  }
  await new Promise<void>((resolve) => sock.close(() => resolve()));
}

/** A loopback TCP port with nothing listening on it: a Kafka that is down. */
const closedPort = freeTcpPort;

async function consume(topic: string, n: number): Promise<KafkaMessage[]> {
  const consumer = kafka('relay-spool-it').consumer({ groupId: freshName('relay-spool-it') });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        seen.push(...datagramMessages(message));
        return Promise.resolve();
      },
    });
    await eventually(() => Promise.resolve(seen.length >= n ? seen : undefined), {
      what: `${n} messages on ${topic}`,
    });
    // Linger briefly so a duplicate or stray message would be seen too.
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

function relay(brokers: string, topics: { raw: string; rejected: string }, spoolDir: string): RelayApp {
  const config = loadConfig({
    RELAY_UDP_PORT: '0',
    RELAY_HTTP_PORT: '0',
    KAFKA_BROKERS: brokers,
    RELAY_RAW_TOPIC: topics.raw,
    RELAY_REJECTED_TOPIC: topics.rejected,
    RELAY_SPOOL_DIR: spoolDir,
    RELAY_INSTANCE_ID: 'relay-spool-it',
    // Small batches, so the outage spans several spooled batches and segments' worth of order.
    RELAY_BATCH_MAX_MESSAGES: '7',
  });
  const publisher = new KafkaPublisher({ brokers: config.kafka.brokers, clientId: 'relay-spool-it', logger });
  return createApp({ config, logger, publisher, sniff });
}

describe('relay spool across a Kafka outage and a restart', () => {
  let spoolDir: string | undefined;
  const apps: RelayApp[] = [];
  afterAll(async () => {
    for (const a of apps) await a.stop();
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  });

  it('spools while Kafka is down, then replays in order after restart, before new datagrams', async () => {
    // One partition, so Kafka's order is one total order the test can compare.
    const topics = await freshTopics(1);
    spoolDir = await mkdtemp(join(tmpdir(), 'relay-spool-it-'));
    const N = 50;
    const spooled = Array.from({ length: N }, (_, i) => v1Launch(`wf-${String(i).padStart(3, '0')}`));

    // 1. Kafka unreachable: a closed port on loopback.
    const down = relay(`127.0.0.1:${await closedPort()}`, topics, spoolDir);
    apps.push(down);
    const { udpPort: port1, httpPort } = await down.start();
    await send(port1, spooled);
    await eventually(() => Promise.resolve(down.metrics.spooled.get() >= N ? true : undefined), {
      what: 'all datagrams spooled',
    });
    expect(down.metrics.published.get({ topic: topics.raw })).toBe(0);
    expect((await down.metrics.dropped.render()).join('\n')).not.toMatch(/reason=/);
    // Kafka down but spool writable: still healthy, and says why.
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ checks: { kafkaConnected: false, spoolWritable: true } });
    await down.stop();
    const files = (await readdir(spoolDir)).filter((f) => f.endsWith('.seg'));
    expect(files.length).toBeGreaterThan(0);

    // 2. Restart against the real Kafka: the spool is replayed, then new datagrams follow it.
    const up = relay(kafkaBrokers().join(','), topics, spoolDir);
    apps.push(up);
    const { udpPort: port2 } = await up.start();
    const fresh = [v1Launch('wf-new-1'), v1Launch('wf-new-2')];
    await send(port2, fresh);

    const got = await consume(topics.raw, N + fresh.length);
    const opened = got.map((m) => openRecord(m.value ?? Buffer.alloc(0)));
    expect(opened.map((o) => o.datagram)).toEqual([...spooled, ...fresh]);
    expect(opened.every((o) => o.kind === 'envelope' && o.fields.relayId === 'relay-spool-it')).toBe(true);
    await eventually(() => Promise.resolve(up.health().checks.spoolBytes === 0 ? true : undefined), {
      what: 'spool empty',
    });
    await up.stop();
    expect((await readdir(spoolDir)).filter((f) => f.endsWith('.seg'))).toEqual([]);
  });
});
