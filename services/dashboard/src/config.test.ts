import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.DASH_CLICKHOUSE_USER).toBe('dashboard');
    expect(c.DASH_CLICKHOUSE_DATABASE).toBe('parsl_usage');
    expect(c.DASH_HTTP_HOST).toBe('127.0.0.1');
    expect(c.DASH_HTTP_PORT).toBe(8080);
    expect(c.DASH_CACHE_TTL_MS).toBe(60_000);
  });

  it('coerces numbers', () => {
    expect(loadConfig({ DASH_HTTP_PORT: '9000', DASH_CACHE_TTL_MS: '5' })).toMatchObject({
      DASH_HTTP_PORT: 9000,
      DASH_CACHE_TTL_MS: 5,
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
});
