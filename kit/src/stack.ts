/**
 * Kafka and ClickHouse for a soak: podman containers from the project's local images, on
 * non-default loopback ports so that a dev stack on 9092/8123 is left alone. With
 * KAFKA_BROKERS and CLICKHOUSE_URL set, those are used instead (and container faults are
 * only possible when SOAK_KAFKA_CONTAINER / SOAK_CLICKHOUSE_CONTAINER name their containers).
 */
import { podman, sleep } from './proc.js';

export interface Stack {
  brokers: string[];
  clickhouseUrl: string;
  containers: { kafka?: string; clickhouse?: string };
  stop: () => Promise<void>;
}

export async function waitKafka(name: string, timeoutMs = 120_000, since?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const logs = await podman('logs', ...(since ? ['--since', since] : []), name).catch(() => '');
    if (logs.includes('Kafka Server started')) return;
    await sleep(500);
  }
  throw new Error(`Kafka in ${name} did not start within ${timeoutMs} ms`);
}

export async function waitClickHouse(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not yet
    }
    await sleep(500);
  }
  throw new Error(`ClickHouse at ${url} did not answer /ping within ${timeoutMs} ms`);
}

export async function startStack(opts: {
  kafkaPort: number;
  clickhousePort: number;
  prefix: string;
}): Promise<Stack> {
  if (process.env.KAFKA_BROKERS && process.env.CLICKHOUSE_URL) {
    return {
      brokers: process.env.KAFKA_BROKERS.split(','),
      clickhouseUrl: process.env.CLICKHOUSE_URL,
      containers: {
        ...(process.env.SOAK_KAFKA_CONTAINER ? { kafka: process.env.SOAK_KAFKA_CONTAINER } : {}),
        ...(process.env.SOAK_CLICKHOUSE_CONTAINER
          ? { clickhouse: process.env.SOAK_CLICKHOUSE_CONTAINER }
          : {}),
      },
      stop: async () => {},
    };
  }
  const kafka = `${opts.prefix}-kafka`;
  const clickhouse = `${opts.prefix}-clickhouse`;
  // One name per call: podman stops at the first name it does not know.
  for (const c of [kafka, clickhouse]) await podman('rm', '-f', c).catch(() => '');
  const kp = opts.kafkaPort;
  // Same flags as infra/scripts/start.sh, minus the named volumes: the container's own layer
  // keeps the data across `podman kill` + `podman start`, and `podman rm` throws it away.
  await podman(
    'run',
    '-d',
    '--name',
    kafka,
    '-p',
    `127.0.0.1:${kp}:${kp}`,
    '-e',
    `KAFKA_LISTENERS=PLAINTEXT://:${kp},CONTROLLER://:9093`,
    '-e',
    `KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:${kp}`,
    'localhost/parsl-usage/kafka:3.9.1',
  );
  await podman(
    'run',
    '-d',
    '--name',
    clickhouse,
    '-p',
    `127.0.0.1:${opts.clickhousePort}:8123`,
    'localhost/parsl-usage/clickhouse:18.16',
  );
  const clickhouseUrl = `http://127.0.0.1:${opts.clickhousePort}`;
  await Promise.all([waitKafka(kafka), waitClickHouse(clickhouseUrl)]);
  return {
    brokers: [`127.0.0.1:${kp}`],
    clickhouseUrl,
    containers: { kafka, clickhouse },
    stop: async () => {
      for (const c of [kafka, clickhouse]) await podman('rm', '-f', '-t', '5', c).catch(() => '');
    },
  };
}
