import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';

/**
 * Starts one real Kafka broker and one real ClickHouse server for the whole test run,
 * from the images that infra/scripts/setup-host.sh builds on podman. With KAFKA_BROKERS and
 * CLICKHOUSE_URL set, the tests use that stack instead.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    clickhouseUrl: string;
  }
}

const KAFKA_IMAGE = process.env.KAFKA_IMAGE ?? 'localhost/parsl-usage/kafka:3.9.1';
const CLICKHOUSE_IMAGE = process.env.CLICKHOUSE_IMAGE ?? 'localhost/parsl-usage/clickhouse:18.16';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.KAFKA_BROKERS && process.env.CLICKHOUSE_URL) {
    project.provide('kafkaBrokers', process.env.KAFKA_BROKERS);
    project.provide('clickhouseUrl', process.env.CLICKHOUSE_URL);
    return async () => {};
  }
  process.env.DOCKER_HOST ??= 'unix:///run/podman/podman.sock';
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  const { GenericContainer, Wait } = await import('testcontainers');

  // Kafka advertises the address clients must dial, so the host port has to be known before
  // the broker starts: bind the same number on both sides.
  const kafkaPort = await freePort();
  const kafkaP = new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: kafkaPort, host: kafkaPort })
    .withEnvironment({
      KAFKA_LISTENERS: `PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_NUM_PARTITIONS: '3',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const chP = new GenericContainer(CLICKHOUSE_IMAGE)
    .withExposedPorts(8123)
    .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
    .withStartupTimeout(120_000)
    .start();
  const [kafka, clickhouse] = await Promise.all([kafkaP, chP]);

  project.provide('kafkaBrokers', `127.0.0.1:${kafkaPort}`);
  project.provide('clickhouseUrl', `http://127.0.0.1:${clickhouse.getMappedPort(8123)}`);
  return async () => {
    await Promise.all([kafka.stop({ timeout: 5_000 }), clickhouse.stop({ timeout: 5_000 })]);
  };
}
