import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  LOG_LEVELS,
  SQL_IDENTIFIER,
  bool,
  clickhouseConnection,
  kafkaBrokers,
  kafkaTopic,
  logLevel,
  port,
  sqlIdentifier,
} from './env-fragments.js';

/** The parsed value, or 'invalid'. */
function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown): T | 'invalid' {
  const r = schema.safeParse(value);
  return r.success ? r.data : 'invalid';
}

describe('sqlIdentifier', () => {
  it.each([
    ['parsl_usage', true],
    ['_tmp', true],
    ['T1', true],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['1abc', false],
    ['', false],
    ['parsl-usage', false],
    ['db.table', false],
    ['x; DROP TABLE events', false],
    ['`x`', false],
    ['naïve', false],
  ])('%j: %s', (name, ok) => {
    expect(SQL_IDENTIFIER.test(name)).toBe(ok);
    expect(parse(sqlIdentifier, name) !== 'invalid').toBe(ok);
  });
});

describe('logLevel', () => {
  it.each([
    [undefined, 'info'],
    ['debug', 'debug'],
    ['silent', 'silent'],
    ['DEBUG', 'invalid'],
    ['verbose', 'invalid'],
  ])('%j', (value, want) => {
    expect(parse(logLevel, value)).toBe(want);
  });

  it('takes every level of pino', () => {
    for (const level of LOG_LEVELS) expect(parse(logLevel, level)).toBe(level);
  });
});

describe('port', () => {
  it.each([
    ['0', 0],
    ['8123', 8123],
    ['65535', 65_535],
    [9000, 9000],
    ['65536', 'invalid'],
    ['-1', 'invalid'],
    ['80.5', 'invalid'],
    ['http', 'invalid'],
  ])('%j', (value, want) => {
    expect(parse(port, value)).toBe(want);
  });
});

describe('bool', () => {
  it.each([
    ['true', true],
    ['false', false],
    // A bad value is an error, never a silent default.
    ['1', 'invalid'],
    ['yes', 'invalid'],
    ['TRUE', 'invalid'],
    ['', 'invalid'],
  ])('%j', (value, want) => {
    expect(parse(bool, value)).toBe(want);
  });
});

describe('kafkaTopic', () => {
  it.each([
    ['parsl.usage.raw', true],
    ['a_b-c.1', true],
    ['t'.repeat(249), true],
    ['t'.repeat(250), false],
    ['', false],
    ['with space', false],
    ['slash/topic', false],
  ])('%j: %s', (name, ok) => {
    expect(parse(kafkaTopic, name) !== 'invalid').toBe(ok);
  });
});

describe('kafkaBrokers', () => {
  it.each([
    ['127.0.0.1:9092', ['127.0.0.1:9092']],
    ['a:1,b:2', ['a:1', 'b:2']],
    // Blanks around entries and empty entries are ignored.
    [' a:1 , b:2 ,', ['a:1', 'b:2']],
    ['kafka-0.kafka.svc:19092', ['kafka-0.kafka.svc:19092']],
    ['', 'invalid'],
    [' , ', 'invalid'],
    ['localhost', 'invalid'],
    ['a:1,b', 'invalid'],
    ['a:port', 'invalid'],
    ['a:123456', 'invalid'],
    ['a b:1', 'invalid'],
  ])('%j', (value, want) => {
    expect(parse(kafkaBrokers, value)).toEqual(want);
  });
});

describe('clickhouseConnection', () => {
  const schema = z.object(clickhouseConnection({ user: 'analyst', password: 'analyst-dev-password' }));

  it('defaults to the given user on the local server', () => {
    expect(schema.parse({})).toEqual({
      CLICKHOUSE_URL: 'http://127.0.0.1:8123',
      CLICKHOUSE_USER: 'analyst',
      CLICKHOUSE_PASSWORD: 'analyst-dev-password',
      CLICKHOUSE_DATABASE: 'parsl_usage',
    });
  });

  it('takes what is set', () => {
    const env = {
      CLICKHOUSE_URL: 'https://ch.example.org:8443',
      CLICKHOUSE_USER: 'admin',
      CLICKHOUSE_PASSWORD: '',
      CLICKHOUSE_PASSWORD_FILE: '/run/secrets/ch',
      CLICKHOUSE_DATABASE: 'parsl_usage_test',
    };
    expect(schema.parse(env)).toEqual(env);
  });

  it.each([
    ['a URL that is not one', { CLICKHOUSE_URL: '127.0.0.1:8123' }, 'CLICKHOUSE_URL'],
    ['an empty user', { CLICKHOUSE_USER: '' }, 'CLICKHOUSE_USER'],
    ['a database that is not an identifier', { CLICKHOUSE_DATABASE: 'x; DROP' }, 'CLICKHOUSE_DATABASE'],
  ])('rejects %s', (_, env, variable) => {
    const r = schema.safeParse(env);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual([variable]);
  });
});
