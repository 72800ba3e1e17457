import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { openRecord, sniff } from '@parsl-usage/schemas';

/** The JSON body of a v1 datagram inside a raw-topic record (envelope or not). */
const body = (v: Buffer | null) =>
  JSON.parse(openRecord(v!).datagram.subarray(1).toString('utf8')) as { seq: number; correlator: string };
import { ensureTopics, pipelineTopics } from '@parsl-usage/aggregator/internal/provision/topics';
import { pino } from 'pino';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type RelayApp } from '../services/relay/src/app.js';
import { loadConfig } from '../services/relay/src/config.js';
import { KafkaPublisher } from '../services/relay/src/publisher.js';
import { v1Launch } from '@parsl-usage/kit/datagrams';
import { freeTcpPort } from '@parsl-usage/kit/processes';
import { eventually, freshName } from './setup/env.js';
import { datagramMessages } from './support/datagram-messages.js';

/*
 * A real broker outage under load. The shared harness broker must stay up for the other
 * tests, so this file starts its own Kafka container and stops/starts it with podman: a
 * restarted container keeps its id, its data and its fixed host port, so the address the
 * broker advertises stays valid.
 */
const KAFKA_IMAGE = process.env.KAFKA_IMAGE ?? 'localhost/parsl-usage/kafka:3.9.1';
const OUTAGE_MS = 30_000;
const RATE_PER_S = 200;
const TICK_MS = 50;
const KEYS = 8;
const BEFORE_MS = 3_000; // load with Kafka up, before the outage
const AFTER_MS = 3_000; // load with Kafka back, after `podman start` returned
const MAX_DATAGRAMS = 20_000; // hard bound on the load loop

const run = promisify(execFile);
const podman = (...args: string[]) => run('podman', args, { timeout: 60_000 });
const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Steady load on loopback: RATE_PER_S datagrams/s round-robin over KEYS workflow ids. */
class Load {
  readonly sent: { key: string; seq: number }[] = [];
  private readonly sock: Socket = createSocket('udp4');
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly port: number) {}

  start(): void {
    this.loop = (async () => {
      const perTick = (RATE_PER_S * TICK_MS) / 1000;
      while (this.running && this.sent.length < MAX_DATAGRAMS) {
        const t0 = Date.now();
        for (let i = 0; i < perTick; i++) {
          const seq = this.sent.length;
          const key = `outage-wf-${seq % KEYS}`;
          await new Promise<void>((resolve, reject) =>
            this.sock.send(v1Launch(key, { seq }), this.port, '127.0.0.1', (err) =>
              err ? reject(err) : resolve(),
            ),
          );
          this.sent.push({ key, seq });
        }
        await sleep(Math.max(0, TICK_MS - (Date.now() - t0)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}

describe('relay across a 30 s Kafka outage under steady load', () => {
  let container: StartedTestContainer | undefined;
  let broker: string;
  let app: RelayApp | undefined;
  let spoolDir: string | undefined;
  let frozenApp: RelayApp | undefined;
  let frozenSpoolDir: string | undefined;
  const topics = { raw: freshName('raw_outage'), rejected: freshName('rejected_outage') };

  beforeAll(async () => {
    process.env.DOCKER_HOST ??= 'unix:///run/podman/podman.sock';
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
    const { GenericContainer, Wait } = await import('testcontainers');
    const port = await freeTcpPort();
    container = await new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: port, host: port })
      .withEnvironment({
        KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
        KAFKA_NUM_PARTITIONS: '3',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(120_000)
      .start();
    broker = `127.0.0.1:${port}`;
    await createTopics(broker, topics);
  });

  afterAll(async () => {
    await app?.stop();
    await frozenApp?.stop();
    for (const dir of [spoolDir, frozenSpoolDir]) if (dir) await rm(dir, { recursive: true, force: true });
    // The container may be stopped by podman already; remove it either way.
    if (container) await podman('rm', '-f', container.getId()).catch(() => undefined);
  });

  it('publishes every accepted datagram, in per-key order, and empties the spool', async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'relay-outage-'));
    const config = relayConfig(broker, topics, spoolDir, 'relay-outage-it');
    const publisher = new KafkaPublisher({ brokers: [broker], clientId: 'relay-outage-it', logger });
    const relay = (app = createApp({ config, logger, publisher, sniff }));
    const { udpPort } = await relay.start();
    const id = container!.getId();

    const t0 = Date.now();
    const phases: Record<string, number> = {}; // ms since the load started, for the log below
    const mark = (name: string) => (phases[name] = Date.now() - t0);
    const load = new Load(udpPort);
    load.start();
    try {
      await eventually(() => (relay.metrics.published.get({ topic: topics.raw }) > 0 ? true : undefined), {
        what: 'first publish before the outage',
      });
      await sleep(BEFORE_MS);
      mark('stopRequested');
      // A clean stop (SIGTERM, 5 s grace) is the tested scenario. RELAY_OUTAGE_KILL=true
      // SIGKILLs the broker instead, to study in-flight loss (see services/relay/README.md).
      if (process.env.RELAY_OUTAGE_KILL === 'true') await podman('kill', id);
      else await podman('stop', '-t', '5', id);
      mark('stopped');
      const stoppedAt = Date.now();
      await eventually(() => (relay.metrics.spooled.get() > 0 ? true : undefined), {
        timeoutMs: OUTAGE_MS,
        what: 'the relay spooling while Kafka is down',
      });
      expect(relay.isHealthy()).toBe(true);
      // The outage itself is the scenario's length, not a wait for a condition.
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
      await podman('start', id);
      mark('started');
      await sleep(AFTER_MS);
    } finally {
      await load.stop();
    }

    mark('loadStopped');
    const sent = load.sent;
    expect(sent.length).toBeGreaterThan((RATE_PER_S * OUTAGE_MS) / 1000);
    // Loopback at 200/s loses nothing; if it ever did, the relay's own count says so.
    await eventually(() => (relay.metrics.received.get() === sent.length ? true : undefined), {
      what: 'every datagram received',
    });
    expect(relay.metrics.accepted.get()).toBe(sent.length);
    await eventually(
      () => {
        const a = relay.accounting();
        return a.published === sent.length && a.spoolMessages === 0 && a.inFlight === 0 ? a : undefined;
      },
      { timeoutMs: 90_000, what: 'spool replayed and everything published' },
    );
    mark('drained');
    await eventually(() => (relay.health().checks.spoolBytes === 0 ? true : undefined), {
      what: 'spool bytes zero',
    });

    const got = await consumeAll(broker, topics.raw, sent.length);
    const seqs = got.map((m) => {
      const key = m.key?.toString() ?? '';
      const b = body(m.value);
      expect(b.correlator).toBe(key);
      return { key, seq: b.seq, offset: m.offset };
    });
    const counts = new Map<number, number>();
    for (const s of seqs) counts.set(s.seq, (counts.get(s.seq) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1);
    mark('consumed');
    // Logged before asserting, so that a failing run says where its time and messages went.
    console.info('relay-outage', {
      phases,
      sent: sent.length,
      spooled: relay.metrics.spooled.get(),
      publishErrors: relay.metrics.publishErrors.total(),
      alreadyInKafka: relay.metrics.spoolAlreadyPublished.get(),
      inTopic: got.length,
      duplicates: duplicates.length,
      missing: sent.filter((x) => !counts.has(x.seq)).length,
      missingFirst: sent
        .filter((x) => !counts.has(x.seq))
        .slice(0, 10)
        .map((x) => x.seq),
      duplicateOffsets: duplicates
        .slice(0, 10)
        .map(([seq]) => [seq, seqs.filter((x) => x.seq === seq).map((x) => x.offset)]),
      kill: process.env.RELAY_OUTAGE_KILL === 'true',
    });
    // No loss: every datagram sent is in the topic.
    expect(counts.size).toBe(sent.length);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(sent.map((s) => s.seq));
    // Per-key order: each key's messages, first occurrences, in the order they were sent.
    for (let k = 0; k < KEYS; k++) {
      const key = `outage-wf-${k}`;
      const firsts = [...new Set(seqs.filter((s) => s.key === key).map((s) => s.seq))];
      expect(firsts, `order of ${key}`).toEqual(sent.filter((s) => s.key === key).map((s) => s.seq));
    }
    // Exactly once: the publishes that failed as the broker went away were looked up in the
    // topic before the spool replayed them (services/relay/README.md, "Exactly once").
    expect(duplicates, 'duplicates').toEqual([]);
    expect(got.length).toBe(sent.length);
    expect(relay.metrics.spooled.get()).toBeGreaterThan(0);
    expect((await relay.metrics.dropped.render()).join('\n')).not.toMatch(/reason=/);

    await relay.stop();
    expect((await readdir(spoolDir)).filter((f) => f.endsWith('.seg'))).toEqual([]);
    // ~85 s alone on 2 cores (30 s of it the outage); margin for a loaded CI machine.
  }, 150_000);

  it('a publish that timed out on a frozen broker, yet landed, reaches the topic once', async () => {
    // `podman pause` freezes the broker: the kernel still takes the produce request into the
    // socket, the relay gives up after its request timeout and spools the batch, and the broker
    // appends it on thaw. The spool's read-back must find it there and not send it again.
    const frozenTopics = { raw: freshName('raw_frozen'), rejected: freshName('rejected_frozen') };
    await createTopics(broker, frozenTopics);
    frozenSpoolDir = await mkdtemp(join(tmpdir(), 'relay-frozen-'));
    const config = relayConfig(broker, frozenTopics, frozenSpoolDir, 'relay-frozen-it', {
      // The production default: on a loaded CI machine a thawed broker can take seconds to work
      // through what it held (one run with 3 s re-sent the frozen batch).
      RELAY_READBACK_SETTLE_MS: '10000',
    });
    const publisher = new KafkaPublisher({
      brokers: [broker],
      clientId: 'relay-frozen-it',
      logger,
      requestTimeoutMs: 2_000,
    });
    const relay = (frozenApp = createApp({ config, logger, publisher, sniff }));
    const { udpPort } = await relay.start();
    const id = container!.getId();
    const load = new Load(udpPort);
    load.start();
    try {
      await eventually(
        () => (relay.metrics.published.get({ topic: frozenTopics.raw }) > 0 ? true : undefined),
        { what: 'first publish before the freeze' },
      );
      await sleep(1_000);
      await podman('pause', id);
      try {
        await eventually(() => (relay.metrics.spooled.get() > 0 ? true : undefined), {
          timeoutMs: 20_000,
          what: 'the relay spooling after its request timed out',
        });
        await sleep(2_000);
      } finally {
        await podman('unpause', id);
      }
      await sleep(2_000);
    } finally {
      await load.stop();
    }
    const sent = load.sent;
    await eventually(
      () => {
        const a = relay.accounting();
        return a.published === sent.length && a.spoolMessages === 0 && a.inFlight === 0 ? a : undefined;
      },
      { timeoutMs: 90_000, what: 'spool replayed and everything published' },
    );
    const got = await consumeAll(broker, frozenTopics.raw, sent.length);
    const seqs = got.map((m) => body(m.value).seq);
    console.info('relay-frozen', {
      sent: sent.length,
      spooled: relay.metrics.spooled.get(),
      alreadyInKafka: relay.metrics.spoolAlreadyPublished.get(),
      inTopic: got.length,
    });
    expect(relay.metrics.readbacks.get({ outcome: 'ok' })).toBeGreaterThan(0);
    expect(seqs.length - new Set(seqs).size, 'duplicates').toBe(0);
    expect(new Set(seqs)).toEqual(new Set(sent.map((x) => x.seq)));
    await relay.stop();
  }, 150_000);
});

/** A relay on ephemeral ports; all load comes from 127.0.0.1, so the per-source limit is raised. */
function relayConfig(
  broker: string,
  topics: { raw: string; rejected: string },
  spoolDir: string,
  id: string,
  extra: Record<string, string> = {},
) {
  return loadConfig({
    RELAY_UDP_PORT: '0',
    RELAY_HTTP_PORT: '0',
    KAFKA_BROKERS: broker,
    RELAY_RAW_TOPIC: topics.raw,
    RELAY_REJECTED_TOPIC: topics.rejected,
    RELAY_SPOOL_DIR: spoolDir,
    RELAY_INSTANCE_ID: id,
    RELAY_RATE_PER_SOURCE: '100000',
    RELAY_BURST_PER_SOURCE: '100000',
    ...extra,
  });
}

async function createTopics(broker: string, topics: { raw: string; rejected: string }): Promise<void> {
  const admin = new Kafka({
    clientId: 'outage-admin',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, pipelineTopics(topics, 3));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every message of `topic`, partition by partition in offset order (a key lives in one
 * partition, so per-key order is offset order). Reads until `n` are in, then lingers one
 * second so that a duplicate past the n-th message would be seen too.
 */
async function consumeAll(broker: string, topic: string, n: number): Promise<KafkaMessage[]> {
  const kafka = new Kafka({ clientId: 'outage-consumer', brokers: [broker], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: freshName('outage') });
  const byPartition = new Map<number, KafkaMessage[]>();
  let total = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        let list = byPartition.get(partition);
        if (list === undefined) byPartition.set(partition, (list = []));
        // One message per datagram, in the pack's order: a pack (record format 3) holds several.
        for (const m of datagramMessages(message)) {
          list.push(m);
          total++;
        }
        return Promise.resolve();
      },
    });
    // Until n are in, or nothing new arrived for 15 s: a shortfall is then reported by the
    // assertions (with the diagnostics log) rather than as a bare timeout.
    let last = -1;
    let lastChange = Date.now();
    await eventually(
      () => {
        if (total !== last) [last, lastChange] = [total, Date.now()];
        return total >= n || Date.now() - lastChange > 15_000 ? true : undefined;
      },
      { timeoutMs: 90_000, what: `${n} messages` },
    );
    await sleep(1_000);
  } finally {
    await consumer.disconnect();
  }
  // A stable sort: the entries of one pack share its offset and keep their order.
  return [...byPartition.values()].flatMap((list) =>
    list.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset))),
  );
}
