import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ RELAY_INSTANCE_ID: 'r1' });
    expect(c).toMatchObject({
      udp: { host: '127.0.0.1', port: 50_077, rcvbufBytes: 8 * 1024 * 1024, maxDatagramBytes: 8192 },
      workers: 1,
      kafka: { brokers: ['127.0.0.1:9092'] },
      topics: { raw: 'parsl.usage.raw', rejected: 'parsl.usage.rejected' },
      rejectedMaxBytes: 2048,
      batch: { maxMessages: 1000, maxMs: 5 },
      pack: { maxDatagrams: 1000, maxBytes: 256 * 1024 },
      rateLimit: { ratePerSec: 50, burst: 200, maxSources: 100_000 },
      spool: { dir: './.run/spool', maxBytes: 1024 ** 3, fsync: true },
      readbackSettleMs: 10_000,
      http: { host: '127.0.0.1', port: 9464 },
      instanceId: 'r1',
      logLevel: 'info',
    });
  });

  it.each([
    ['RELAY_UDP_PORT', '5000', { udp: { port: 5000 } }],
    ['KAFKA_BROKERS', ' a:1 , b:2,', { kafka: { brokers: ['a:1', 'b:2'] } }],
    ['RELAY_SPOOL_FSYNC', 'false', { spool: { fsync: false } }],
    ['RELAY_RATE_PER_SOURCE', '0.5', { rateLimit: { ratePerSec: 0.5 } }],
    ['RELAY_UDP_PORT', '', { udp: { port: 50_077 } }],
    ['RELAY_READBACK_SETTLE_MS', '0', { readbackSettleMs: 0 }],
    ['RELAY_PACK_MAX_DATAGRAMS', '1', { pack: { maxDatagrams: 1 } }],
    ['RELAY_PACK_MAX_BYTES', '65536', { pack: { maxBytes: 65_536 } }],
  ])('%s=%j is read', (name, value, expected) => {
    expect(loadConfig({ [name]: value })).toMatchObject(expected);
  });

  it('defaults the instance id to hostname-pid', () => {
    expect(loadConfig({}).instanceId).toMatch(new RegExp(`-${process.pid}$`));
  });

  it.each([
    ['RELAY_UDP_PORT', '70000'],
    ['RELAY_UDP_PORT', 'abc'],
    ['RELAY_RCVBUF_BYTES', '-1'],
    ['RELAY_MAX_DATAGRAM_BYTES', '100000'],
    ['KAFKA_BROKERS', 'no-port'],
    ['RELAY_BATCH_MAX_MESSAGES', '0'],
    ['RELAY_BATCH_MAX_MS', '1.5'],
    ['RELAY_RATE_PER_SOURCE', '0'],
    ['RELAY_SPOOL_FSYNC', 'yes'],
    ['RELAY_HTTP_PORT', '-3'],
    ['LOG_LEVEL', 'loud'],
    ['RELAY_READBACK_SETTLE_MS', '-1'],
    ['RELAY_PACK_MAX_DATAGRAMS', '0'],
    ['RELAY_PACK_MAX_DATAGRAMS', '40000'],
    ['RELAY_PACK_MAX_BYTES', '2000000'],
    ['RELAY_PACK_MAX_BYTES', 'x'],
  ])('rejects %s=%j, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('lists every bad variable in one error', () => {
    const bad = {
      RELAY_UDP_PORT: 'x',
      RELAY_BURST_PER_SOURCE: '0',
      KAFKA_BROKERS: 'nope',
      RELAY_SPOOL_MAX_BYTES: 'lots',
      LOG_LEVEL: 'chatty',
    };
    let caught: unknown;
    try {
      loadConfig(bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.retriable).toBe(false);
    for (const name of Object.keys(bad)) expect(err.message).toContain(name);
    expect(err.problems).toHaveLength(Object.keys(bad).length);
  });
});
