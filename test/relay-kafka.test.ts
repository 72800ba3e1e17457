import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { openRecord, sniff, type EnvelopeFields } from '@parsl-usage/schemas';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type RelayApp } from '../services/relay/src/app.js';
import { loadConfig } from '../services/relay/src/config.js';
import { KafkaPublisher } from '../services/relay/src/publisher.js';
import { legacyClosure, legacyLaunch, v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';
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

/** Reads `topic` from the beginning until `n` messages have arrived. */
async function consume(topic: string, n: number): Promise<KafkaMessage[]> {
  const consumer = kafka('relay-it').consumer({ groupId: freshName('relay-it') });
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
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

const header = (m: KafkaMessage, name: string): string | undefined => m.headers?.[name]?.toString();

describe('relay -> real Kafka', () => {
  let app: RelayApp;
  let udpPort: number;
  let httpPort: number;
  let topics: { raw: string; rejected: string };
  let spoolDir: string;
  const before = Date.now();

  beforeAll(async () => {
    topics = await freshTopics(3);
    spoolDir = await mkdtemp(join(tmpdir(), 'relay-it-'));
    const config = loadConfig({
      RELAY_UDP_PORT: '0',
      RELAY_HTTP_PORT: '0',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      RELAY_RAW_TOPIC: topics.raw,
      RELAY_REJECTED_TOPIC: topics.rejected,
      RELAY_REJECTED_MAX_BYTES: '16',
      RELAY_SPOOL_DIR: spoolDir,
      RELAY_INSTANCE_ID: 'relay-it-1',
    });
    const publisher = new KafkaPublisher({ brokers: config.kafka.brokers, clientId: 'relay-it', logger });
    app = createApp({ config, logger, publisher, sniff });
    ({ udpPort, httpPort } = await app.start());
  });

  afterAll(async () => {
    await app?.stop();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('publishes both protocols with the exact bytes, the id as key, and the metadata in the envelope', async () => {
    const sent = [
      { bytes: v1Launch('v1-wf-1'), id: 'v1-wf-1', protocol: 'v1' },
      { bytes: v1Closure('v1-wf-1'), id: 'v1-wf-1', protocol: 'v1' },
      { bytes: legacyLaunch('legacy-wf-2'), id: 'legacy-wf-2', protocol: 'legacy' },
      { bytes: legacyClosure('legacy-wf-2'), id: 'legacy-wf-2', protocol: 'legacy' },
    ];
    await send(
      udpPort,
      sent.map((s) => s.bytes),
    );
    const got = (await consume(topics.raw, sent.length)).map((m) => {
      const opened = openRecord(m.value ?? Buffer.alloc(0));
      expect(opened.kind).toBe('envelope');
      return { m, datagram: opened.datagram, fields: opened.kind === 'envelope' ? opened.fields : undefined };
    });
    expect(got).toHaveLength(sent.length);
    for (const s of sent) {
      const g = got.find((x) => x.datagram.equals(s.bytes));
      expect(g, `message for ${s.id} ${s.protocol}`).toBeDefined();
      expect(g!.m.key?.toString()).toBe(s.id);
      // Format 2: no headers, the four values in the envelope (schemas/src/envelope.ts).
      expect(g!.m.headers ?? {}).toEqual({});
      const f = g!.fields as EnvelopeFields;
      expect(f.protocol).toBe(s.protocol);
      expect(f.relayId).toBe('relay-it-1');
      expect(f.relaySeq).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
      expect(f.receivedAtMs).toBeGreaterThanOrEqual(before);
      expect(f.receivedAtMs).toBeLessThanOrEqual(Date.now());
      expect(JSON.stringify(f)).not.toMatch(/127\.0\./);
    }
    // Launch and closure of one workflow share a key, hence a partition, in send order.
    const v1 = got.filter((g) => g.m.key?.toString() === 'v1-wf-1');
    expect(v1.map((g) => g.datagram)).toEqual([sent[0]!.bytes, sent[1]!.bytes]);
  });

  it('sends garbage to the rejected topic with its reason, truncated bytes and no key', async () => {
    const garbage = [
      { bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), reason: 'bad_prefix' },
      { bytes: Buffer.from('1{"correlator": '), reason: 'bad_json' },
      { bytes: Buffer.from('{"test": false}'), reason: 'no_id' },
      { bytes: Buffer.alloc(9000, 0x7b), reason: 'too_large' },
    ];
    await send(
      udpPort,
      garbage.map((g) => g.bytes),
    );
    const got = await consume(topics.rejected, garbage.length);
    expect(got.map((m) => header(m, 'reason')).sort()).toEqual(garbage.map((g) => g.reason).sort());
    for (const g of garbage) {
      const m = got.find((x) => header(x, 'reason') === g.reason)!;
      expect(m.key).toBeNull();
      expect(m.value).toEqual(g.bytes.subarray(0, 16));
      // Privacy: no header carries the sender's address or any prefix of it.
      expect(Object.keys(m.headers ?? {}).sort()).toEqual([
        'detail',
        'reason',
        'received_at_ms',
        'relay_id',
        'relay_seq',
      ]);
      for (const v of Object.values(m.headers ?? {})) expect(String(v)).not.toMatch(/127\.0\./);
      expect(header(m, 'relay_id')).toBe('relay-it-1');
      expect(header(m, 'detail')?.length).toBeGreaterThan(0);
      expect(Number(header(m, 'received_at_ms'))).toBeGreaterThanOrEqual(before);
    }
  });

  it('reports health and metrics over HTTP', async () => {
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      healthy: true,
      checks: { udpBound: true, kafkaConnected: true },
    });
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain('relay_received_total 8');
    expect(metrics).toContain('relay_accepted_total 4');
    expect(metrics).toContain('relay_rejected_total{reason="too_large"} 1');
    expect(metrics).toContain(`relay_published_total{topic="${topics.raw}"} 4`);
    expect(metrics).toContain(`relay_published_total{topic="${topics.rejected}"} 4`);
    expect(metrics).toMatch(/relay_batch_latency_seconds_count [1-8]\n/);
  });
});
