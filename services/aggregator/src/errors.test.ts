import { describe, expect, it } from 'vitest';
import { ConfigError } from '@parsl-usage/common';
import { FatalError, TransientError, isRetriable, settleAll, withRetry } from './errors.js';

describe('isRetriable', () => {
  it.each([
    ['TransientError', new TransientError('down'), true],
    ['FatalError', new FatalError('bad sql'), false],
    // config.ts throws common's ConfigError: never retried, as the aggregator's own one was not.
    ['ConfigError', new ConfigError('AGG_HTTP_PORT: bad'), false],
    ['ECONNREFUSED', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), true],
    ['UND_ERR_SOCKET', Object.assign(new Error('socket'), { code: 'UND_ERR_SOCKET' }), true],
    ['another code', Object.assign(new Error('x'), { code: 'EACCES' }), false],
    ['a plain Error', new Error('x'), false],
    ['not an error', 'text', false],
  ])('%s -> %s', (_name, err, expected) => {
    expect(isRetriable(err)).toBe(expected);
  });
});

describe('withRetry', () => {
  const noSleep = () => Promise.resolve();

  it('retries transient failures until the operation succeeds', async () => {
    let calls = 0;
    const out = await withRetry(
      () => (++calls < 3 ? Promise.reject(new TransientError('down')) : Promise.resolve('done')),
      { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, sleep: noSleep },
    );
    expect(out).toBe('done');
    expect(calls).toBe(3);
  });

  it('does not retry a fatal error', async () => {
    let calls = 0;
    const op = () => {
      calls++;
      return Promise.reject(new FatalError('bad sql'));
    };
    await expect(
      withRetry(op, { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, sleep: noSleep }),
    ).rejects.toThrow('bad sql');
    expect(calls).toBe(1);
  });
});

describe('settleAll', () => {
  it('throws the first failure only after every operation has finished', async () => {
    const finished: string[] = [];
    const slow = new Promise<void>((r) =>
      setTimeout(() => {
        finished.push('slow');
        r();
      }, 30),
    );
    const failsFirst = Promise.reject(new TransientError('first'));
    const failsLater = new Promise<void>((_, reject) =>
      setTimeout(() => reject(new FatalError('second')), 10),
    );
    await expect(settleAll([failsFirst, slow, failsLater])).rejects.toThrow('first');
    expect(finished).toEqual(['slow']);
  });

  it('resolves when every operation succeeds', async () => {
    await expect(settleAll([Promise.resolve(1), Promise.resolve('two')])).resolves.toBeUndefined();
  });
});
