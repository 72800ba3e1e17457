import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.app.windowMs).toBe(604_800_000);
    expect(c.migrateOnStart).toBe(false);
  });

  it('puts each variable in its place', () => {
    const c = loadConfig({
      KAFKA_CLIENT_ID: 'client',
      AGG_GROUP_ID: 'group',
      AGG_FETCH_MAX_WAIT_MS: '100',
      AGG_FETCH_MIN_BYTES: '2',
      AGG_FETCH_MAX_BYTES_PER_PARTITION: '4096',
      AGG_SESSION_TIMEOUT_MS: '20000',
      CLICKHOUSE_URL: 'http://ch:8123',
      CLICKHOUSE_USER: 'u',
      CLICKHOUSE_PASSWORD: 'p',
      CLICKHOUSE_DATABASE: 'db',
      MIGRATIONS_DIR: '/m',
      AGG_RAW_TOPIC: 'raw',
      AGG_REJECTED_TOPIC: 'rejected',
      AGG_WINDOW_MS: '5000',
      AGG_MAX_OPEN_WORKFLOWS: '7',
      AGG_PARTITIONS_CONCURRENCY: '3',
      AGG_INSERT_GATHER_MS: '0',
      AGG_ID_FILTER_CAPACITY: '1000',
      AGG_HTTP_HOST: '0.0.0.0',
      AGG_HTTP_PORT: '9000',
      AGG_MIGRATE_ON_START: 'true',
      LOG_LEVEL: 'debug',
    });
    expect(c.kafka).toEqual({
      brokers: ['127.0.0.1:9092'],
      clientId: 'client',
      groupId: 'group',
      fetch: { maxWaitMs: 100, minBytes: 2, maxBytesPerPartition: 4096 },
      sessionTimeoutMs: 20_000,
    });
    expect(c.clickhouse).toEqual({
      url: 'http://ch:8123',
      user: 'u',
      password: 'p',
      database: 'db',
      migrationsDir: '/m',
    });
    expect(c.app).toEqual({
      rawTopic: 'raw',
      rejectedTopic: 'rejected',
      windowMs: 5000,
      maxOpenWorkflows: 7,
      partitionsConcurrency: 3,
      insertGatherMs: 0,
      idFilterCapacity: 1000,
      httpHost: '0.0.0.0',
      httpPort: 9000,
    });
    expect([c.migrateOnStart, c.logLevel, c.provisioning.AGG_RAW_TOPIC]).toEqual([true, 'debug', 'raw']);
  });

  it.each([
    ['AGG_FETCH_MAX_WAIT_MS', 'soon'],
    ['AGG_MIGRATE_ON_START', 'yes'],
    // Read outside the schema once, where a bad value silently became 120 s.
    ['PROVISION_WAIT_MS', 'soon'],
    ['PROVISION_WAIT_MS', '-1'],
    ['CLICKHOUSE_DATABASE', 'drop table; --'],
    ['KAFKA_BROKERS', 'localhost'],
    ['CLICKHOUSE_URL', 'not a url'],
    ['AGG_RAW_TOPIC', 'bad topic'],
  ])('rejects %s=%s by name', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(key);
  });

  it('lists every bad variable in one error', () => {
    let message = '';
    try {
      loadConfig({ AGG_HTTP_PORT: '70000', LOG_LEVEL: 'loud', AGG_WINDOW_MS: '-1' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const key of ['AGG_HTTP_PORT', 'LOG_LEVEL', 'AGG_WINDOW_MS']) expect(message).toContain(key);
  });
});
