import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.clickhouse.user).toBe('dashboard');
    expect(c.clickhouse.database).toBe('parsl_usage');
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.http.port).toBe(8080);
    expect(c.cache.ttlMs).toBe(60_000);
  });

  it('coerces numbers', () => {
    expect(loadConfig({ DASH_HTTP_PORT: '9000', DASH_CACHE_TTL_MS: '5' })).toMatchObject({
      http: { port: 9000 },
      cache: { ttlMs: 5 },
    });
  });

  it.each([
    ['DASH_HTTP_PORT', '70000'],
    ['DASH_CACHE_TTL_MS', 'soon'],
    ['DASH_CLICKHOUSE_DATABASE', 'parsl_usage; DROP TABLE x'],
    ['DASH_CLICKHOUSE_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%s by name', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(key);
  });

  it('lists every bad variable in one error', () => {
    let message = '';
    try {
      loadConfig({ DASH_HTTP_PORT: '-1', LOG_LEVEL: 'loud', DASH_CACHE_MAX_ENTRIES: '0' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const key of ['DASH_HTTP_PORT', 'LOG_LEVEL', 'DASH_CACHE_MAX_ENTRIES'])
      expect(message).toContain(key);
  });

  it('puts every variable in its place in the nested shape', () => {
    expect(
      loadConfig({
        DASH_CLICKHOUSE_URL: 'http://ch.example:8124',
        DASH_CLICKHOUSE_USER: 'u',
        DASH_CLICKHOUSE_PASSWORD: 'p',
        DASH_CLICKHOUSE_DATABASE: 'db_2',
        DASH_CLICKHOUSE_TIMEOUT_MS: '2000',
        DASH_HTTP_HOST: '0.0.0.0',
        DASH_HTTP_PORT: '8081',
        DASH_CACHE_TTL_MS: '0',
        DASH_CACHE_MAX_ENTRIES: '7',
        DASH_WARM: 'false',
        DASH_PUBLIC_MIN_RUNS: '3',
        DASH_DATA_DIR: '/srv/data',
        DASH_API_RATE_PER_MINUTE: '60',
        LOG_LEVEL: 'debug',
      }),
    ).toEqual({
      clickhouse: {
        url: 'http://ch.example:8124',
        user: 'u',
        password: 'p',
        database: 'db_2',
        timeoutMs: 2000,
      },
      http: { host: '0.0.0.0', port: 8081 },
      cache: { ttlMs: 0, maxEntries: 7 },
      warm: false,
      publicMinRuns: 3,
      api: { ratePerMinute: 60 },
      dataDir: '/srv/data',
      logLevel: 'debug',
    });
  });

  it('has the documented defaults for the rest', () => {
    expect(loadConfig({})).toMatchObject({
      clickhouse: { url: 'http://127.0.0.1:8123', password: 'dashboard-dev-password', timeoutMs: 35_000 },
      cache: { maxEntries: 1_000 },
      warm: true,
      publicMinRuns: 5,
      api: { ratePerMinute: 300 },
      dataDir: undefined,
    });
  });
});
