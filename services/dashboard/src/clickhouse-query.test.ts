import { describe, expect, it } from 'vitest';
import { isConnectionReset, retryOnReset } from './clickhouse-query.js';

const reset = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('retryOnReset', () => {
  it.each([
    [reset(), true],
    [Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), true],
    [new Error('socket hang up'), true],
    [new Error('Code: 241, e.displayText() = DB::Exception: Memory limit exceeded'), false],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
    ['ECONNRESET', false],
  ])('%s is a connection reset: %s', (err, expected) => {
    expect(isConnectionReset(err)).toBe(expected);
  });

  it('tries a read once more after a reset, and only once', async () => {
    let calls = 0;
    expect(
      await retryOnReset(() => (++calls === 1 ? Promise.reject(reset()) : Promise.resolve('rows'))),
    ).toBe('rows');
    expect(calls).toBe(2);
    calls = 0;
    await expect(retryOnReset(() => (calls++, Promise.reject(reset())))).rejects.toThrow('socket hang up');
    expect(calls).toBe(2);
  });

  it('does not retry another error', async () => {
    let calls = 0;
    await expect(retryOnReset(() => (calls++, Promise.reject(new Error('DB::Exception'))))).rejects.toThrow(
      'DB::Exception',
    );
    expect(calls).toBe(1);
  });
});
