import { Metrics } from '@parsl-usage/common';
import { describe, expect, it } from 'vitest';
import { classify } from './clickhouse-errors.js';
import { COORDINATION_LOST, CoordinationHealth } from './coordination-health.js';
import type { BatchContext } from '../ports.js';
import { untilDone } from './sink-retry.js';

/** A failure as the sink throws it: the client's error wrapped by classify(). */
const clientError = (code: string, message: string) =>
  classify(Object.assign(new Error(message), { code }), 'insert');
/** 18.16's text, when the client did not parse the code. */
const textError = (code: number, message: string) =>
  classify(new Error(`Code: ${code}, e.displayText() = DB::Exception: ${message}`), 'insert');
const networkError = () =>
  classify(
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
    'insert',
  );

function setup(staleAfterMs?: number) {
  let t = 1_000_000; // ms since the epoch
  const metrics = new Metrics();
  const health = new CoordinationHealth({ metrics, now: () => t, staleAfterMs });
  const gauge = () => {
    health.export();
    return metrics.get('aggregator_clickhouse_coordination_lost');
  };
  return { health, metrics, gauge, advance: (ms: number) => (t += ms), now: () => t };
}

/** A server with no insert of unknown status (319). */
const noParts = { unconfirmedParts: () => Promise.resolve({ at: '', parts: 0 }) };

describe('CoordinationHealth: which failures mean coordination is lost', () => {
  it.each([
    ['242 from the client', clientError('242', 'Table is in readonly mode'), '242 TABLE_IS_READ_ONLY'],
    ['225 in 18.16 text', textError(225, 'ZooKeeper session has been expired.'), '225 NO_ZOOKEEPER'],
    ['999 in 18.16 text', textError(999, 'Connection loss, path: /clickhouse'), '999 KEEPER_EXCEPTION'],
    [
      '244 in 18.16 text',
      textError(244, "Unrecoverable network error while adding block 3 with ID '': connection loss"),
      '244 UNEXPECTED_ZOOKEEPER_ERROR',
    ],
    ['252 too many parts', clientError('252', 'Too many parts'), null],
    ['241 memory', textError(241, 'Memory limit exceeded'), null],
    ['a connection refused', networkError(), null],
    ['a Kafka error with a numeric code', Object.assign(new Error('not leader'), { code: 6 }), null],
  ])('%s', (_name, err, code) => {
    const { health, gauge, metrics } = setup();
    expect(health.failed('insert changes', err)).toBe(code !== null);
    expect(health.current()?.code ?? null).toBe(code);
    expect(gauge()).toBe(code === null ? 0 : 1);
    if (code !== null) {
      expect(metrics.get('aggregator_clickhouse_coordination_errors_total', { code })).toBe(1);
      expect(health.current()).toMatchObject({ reason: COORDINATION_LOST, op: 'insert changes' });
    }
  });
});

describe('CoordinationHealth: when the loss ends', () => {
  const lost = () => clientError('242', 'Table is in readonly mode');
  it.each([
    // [what happens after the failure, still lost?]
    ['nothing, 60 s later', (h: ReturnType<typeof setup>) => h.advance(60_000), true],
    [
      'nothing, 90 s later (the retries stopped: no longer known)',
      (h: ReturnType<typeof setup>) => h.advance(90_000),
      false,
    ],
    ['a read succeeded', (h: ReturnType<typeof setup>) => h.health.succeeded(false), true],
    ['a write succeeded', (h: ReturnType<typeof setup>) => h.health.succeeded(true), false],
    [
      'another failure 60 s later, then 60 s more',
      (h: ReturnType<typeof setup>) => {
        h.advance(60_000);
        h.health.failed('insert events', lost());
        h.advance(60_000);
      },
      true,
    ],
    [
      'a network failure (the server is away, not its coordination) 60 s later, then 60 s more',
      (h: ReturnType<typeof setup>) => {
        h.advance(60_000);
        h.health.failed('insert changes', networkError());
        h.advance(60_000);
      },
      false,
    ],
  ])('%s', (_name, after, stillLost) => {
    const h = setup();
    const start = h.now();
    h.health.failed('insert changes', lost());
    after(h);
    expect(h.health.current() !== null).toBe(stillLost);
    expect(h.gauge()).toBe(stillLost ? 1 : 0);
    if (stillLost) expect(h.health.current()?.since).toBe(start);
  });
});

describe('untilDone reports coordination to CoordinationHealth', () => {
  const ctx: BatchContext = {
    partition: 0,
    heartbeat: () => Promise.resolve(),
    isActive: () => true,
    commit: () => Promise.resolve(),
  };
  const quiet = { warn: () => undefined };

  it.each([
    // [operation, its failures before it succeeds, lost while failing, lost after its success]
    ['insert changes', ['242'], true, false],
    ['insert events', ['999', '225'], true, false],
    ['watermarks', ['242'], true, false], // it failed that way, so its success proves the way back
    ['lookup', ['252'], false, false],
  ] as const)('%s failing with %j', async (what, codes, lostWhileFailing, lostAfter) => {
    const h = setup();
    const seen: boolean[] = [];
    let attempt = 0;
    await untilDone(
      { metrics: h.metrics, logger: quiet, coordination: h.health, sink: noParts },
      ctx,
      what,
      () => {
        seen.push(h.health.current() !== null);
        const code = codes[attempt++];
        return code === undefined ? Promise.resolve('done') : Promise.reject(clientError(code, 'x'));
      },
    );
    expect(seen.slice(1).every((s) => s === lostWhileFailing)).toBe(true);
    expect(h.health.current() !== null).toBe(lostAfter);
  });

  it('a read that succeeds while another operation waits for coordination does not end the loss', async () => {
    const h = setup();
    h.health.failed('insert changes', clientError('242', 'Table is in readonly mode'));
    await untilDone(
      { metrics: h.metrics, logger: quiet, coordination: h.health, sink: noParts },
      ctx,
      'lookup',
      () => Promise.resolve([]),
    );
    expect(h.health.current()?.op).toBe('insert changes');
  });
});
