import { describe, expect, it } from 'vitest';
import {
  PipelineError,
  STALE_SOCKET_KEEP_ALIVE,
  isConnectionReset,
  isRetriable,
  retryOnReset,
  settleAll,
  withRetry,
} from './errors.js';

class SinkError extends PipelineError {}

const withCode = (code: unknown, message = 'failed'): Error => Object.assign(new Error(message), { code });

describe('PipelineError', () => {
  it('carries retriable, its cause, and the name of its class', () => {
    const cause = new Error('socket');
    const e = new SinkError('insert failed', { retriable: true, cause });
    expect([e.name, e.message, e.retriable, e.cause]).toEqual(['SinkError', 'insert failed', true, cause]);
    expect(e).toBeInstanceOf(PipelineError);
    expect(new PipelineError('x', { retriable: false }).name).toBe('PipelineError');
  });
});

describe('isRetriable', () => {
  it.each<[string, unknown, boolean]>([
    ['a retriable PipelineError', new SinkError('x', { retriable: true }), true],
    ['a final PipelineError', new SinkError('x', { retriable: false }), false],
    // The error says so, whatever its code.
    [
      'a final PipelineError with a network code',
      Object.assign(new SinkError('x', { retriable: false }), { code: 'ECONNRESET' }),
      false,
    ],
    ...[
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'UND_ERR_SOCKET',
    ].map((code): [string, unknown, boolean] => [`network code ${code}`, withCode(code), true]),
    ['another code', withCode('ENOENT'), false],
    ['a numeric code', withCode(104), false],
    ['a plain error', new Error('x'), false],
    ['a code on a plain object', { code: 'ECONNRESET' }, true],
    ['null', null, false],
    ['undefined', undefined, false],
    ['a string', 'ECONNRESET', false],
  ])('%s', (_, err, want) => {
    expect(isRetriable(err)).toBe(want);
  });
});

describe('isConnectionReset', () => {
  it.each([
    ['ECONNRESET', withCode('ECONNRESET'), true],
    ['EPIPE', withCode('EPIPE'), true],
    ['socket hang up', new Error('socket hang up'), true],
    ['a refused connection (no socket was there to reset)', withCode('ECONNREFUSED'), false],
    ['a timeout', withCode('ETIMEDOUT'), false],
    ['another message', new Error('socket hang up!'), false],
    ['not an Error', { code: 'ECONNRESET' }, false],
    ['null', null, false],
  ])('%s', (_, err, want) => {
    expect(isConnectionReset(err)).toBe(want);
  });

  it('keep-alive drops stale sockets eagerly', () => {
    expect(STALE_SOCKET_KEEP_ALIVE).toEqual({ eagerly_destroy_stale_sockets: true });
  });
});

/** A read that fails with the given errors, in turn, then answers `ok`. */
function failing(errors: Error[]): { read: () => Promise<string>; calls: () => number } {
  let n = 0;
  return {
    read: () => {
      const err = errors[n++];
      return err === undefined ? Promise.resolve('ok') : Promise.reject(err);
    },
    calls: () => n,
  };
}

describe('retryOnReset', () => {
  it.each([
    ['answers at once', [], 'ok', 1],
    ['one reset: read again', [withCode('ECONNRESET')], 'ok', 2],
    ['a hang-up: read again', [new Error('socket hang up')], 'ok', 2],
  ])('%s', async (_, errors, want, calls) => {
    const r = failing(errors);
    await expect(retryOnReset(r.read)).resolves.toBe(want);
    expect(r.calls()).toBe(calls);
  });

  it('tries once more only', async () => {
    const r = failing([withCode('ECONNRESET'), withCode('EPIPE', 'second')]);
    await expect(retryOnReset(r.read)).rejects.toThrow('second');
    expect(r.calls()).toBe(2);
  });

  it('passes any other error on at once', async () => {
    const r = failing([withCode('ECONNREFUSED', 'refused')]);
    await expect(retryOnReset(r.read)).rejects.toThrow('refused');
    expect(r.calls()).toBe(1);
  });
});

describe('withRetry', () => {
  const retriable = (m: string) => new SinkError(m, { retriable: true });
  const final = (m: string) => new SinkError(m, { retriable: false });

  async function run(errors: Error[], attempts: number) {
    const r = failing(errors);
    const sleeps: number[] = [];
    const retries: number[] = [];
    const outcome = await withRetry(r.read, {
      attempts,
      baseDelayMs: 100,
      maxDelayMs: 300,
      onRetry: (_err, attempt) => retries.push(attempt),
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    }).then(
      (v) => v,
      (err: Error) => `threw ${err.message}`,
    );
    return { outcome, calls: r.calls(), sleeps, retries };
  }

  it.each([
    ['succeeds at once', [], 5, 'ok', 1],
    ['retries retriable errors until it succeeds', [retriable('a'), withCode('ECONNRESET')], 5, 'ok', 3],
    ['stops at a final error', [retriable('a'), final('b'), retriable('c')], 5, 'threw b', 2],
    ['gives up after `attempts`', [retriable('a'), retriable('b'), retriable('c')], 3, 'threw c', 3],
    ['one attempt: no retry', [retriable('a')], 1, 'threw a', 1],
    ['a plain error is final', [new Error('bug')], 5, 'threw bug', 1],
  ])('%s', async (_, errors, attempts, outcome, calls) => {
    const r = await run(errors, attempts);
    expect([r.outcome, r.calls]).toEqual([outcome, calls]);
    expect(r.retries).toEqual(Array.from({ length: calls - 1 }, (_, i) => i + 1));
  });

  it('backs off exponentially up to the maximum, with jitter in the upper half', async () => {
    const r = await run([retriable('a'), retriable('b'), retriable('c'), retriable('d')], 5);
    // Delays 100, 200, 300 (capped), 300: each slept between half of it and all of it.
    const delays = [100, 200, 300, 300];
    expect(r.sleeps).toHaveLength(delays.length);
    r.sleeps.forEach((ms, i) => {
      const d = delays[i] ?? 0;
      expect(ms).toBeGreaterThanOrEqual(d / 2);
      expect(ms).toBeLessThanOrEqual(d);
    });
  });
});

describe('settleAll', () => {
  it('resolves when every operation does', async () => {
    await expect(settleAll([Promise.resolve(1), Promise.resolve(2)])).resolves.toBeUndefined();
    await expect(settleAll([])).resolves.toBeUndefined();
  });

  it('waits for every operation, then throws the first failure in the given order', async () => {
    const finished: string[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r)).then(() => {
      finished.push('slow');
    });
    const outcome = settleAll([
      slow,
      Promise.reject(new Error('first')),
      Promise.reject(new Error('second')),
    ]).catch((err: Error) => err.message);
    let settled = false;
    void outcome.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    // Nothing is thrown while an operation is still in flight.
    expect([settled, finished]).toEqual([false, []]);
    release();
    await expect(outcome).resolves.toBe('first');
    expect(finished).toEqual(['slow']);
  });
});
