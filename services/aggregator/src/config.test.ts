import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(c.AGG_WINDOW_MS).toBe(604_800_000);
    expect(c.AGG_MIGRATE_ON_START).toBe(false);
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
