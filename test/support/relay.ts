import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { sniff } from '@parsl-usage/schemas';
import { createApp } from '@parsl-usage/relay/internal/app';
import { loadConfig } from '@parsl-usage/relay/internal/config';
import { KafkaPublisher } from '@parsl-usage/relay/internal/publisher';
import { kafkaBrokers } from '../setup/env.js';

/**
 * A relay running in this process against the harness's Kafka, taking datagrams on loopback;
 * `env` adds to or overrides its configuration.
 */
export async function startRelay(
  topics: { raw: string; rejected: string },
  env: Record<string, string> = {},
): Promise<{
  send: (datagrams: readonly Buffer[]) => Promise<void>;
  stop: () => Promise<void>;
}> {
  const spoolDir = await mkdtemp(join(tmpdir(), 'relay-spool-'));
  const config = loadConfig({
    RELAY_UDP_PORT: '0',
    RELAY_HTTP_PORT: '0',
    KAFKA_BROKERS: kafkaBrokers().join(','),
    RELAY_RAW_TOPIC: topics.raw,
    RELAY_REJECTED_TOPIC: topics.rejected,
    RELAY_SPOOL_DIR: spoolDir,
    // The tests send every datagram from one socket: no per-source limit here.
    RELAY_RATE_PER_SOURCE: '100000',
    RELAY_BURST_PER_SOURCE: '100000',
    ...env,
  });
  const logger = pino({ level: 'silent' });
  const app = createApp({
    config,
    logger,
    publisher: new KafkaPublisher({
      brokers: config.kafka.brokers,
      clientId: 'test-relay',
      logger,
      pack: config.pack,
    }),
    sniff,
  });
  const { udpPort } = await app.start();
  return {
    async send(datagrams) {
      const sock = createSocket('udp4');
      for (const d of datagrams)
        await new Promise<void>((resolve, reject) =>
          sock.send(d, udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
        );
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
    async stop() {
      await app.stop();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}
