import { afterEach, describe, expect, it } from 'vitest';
import { exitOnSignals } from './shutdown.js';

const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('exitOnSignals', () => {
  const before = { TERM: process.listeners('SIGTERM'), INT: process.listeners('SIGINT') };
  afterEach(() => {
    for (const l of process.listeners('SIGTERM')) if (!before.TERM.includes(l)) process.off('SIGTERM', l);
    for (const l of process.listeners('SIGINT')) if (!before.INT.includes(l)) process.off('SIGINT', l);
  });

  it.each([
    ['stop succeeds: exit 0', () => Promise.resolve(), false, [0]],
    ['stop fails: exit 1', () => Promise.reject(new Error('flush failed')), false, [1]],
    ['a second signal forces exit 1 before stop ends', () => new Promise<void>(() => undefined), true, [1]],
  ])('%s', async (_name, stop, twice, codes) => {
    const exits: number[] = [];
    exitOnSignals(logger, stop, { exit: (c) => exits.push(c) });
    process.emit('SIGTERM');
    if (twice) process.emit('SIGINT');
    await new Promise((r) => setTimeout(r, 10));
    expect(exits).toEqual(codes);
  });

  it('a cluster worker ignores the second signal', async () => {
    const exits: number[] = [];
    exitOnSignals(logger, () => new Promise<void>(() => undefined), {
      ignoreSecond: true,
      exit: (c) => exits.push(c),
    });
    process.emit('SIGTERM');
    process.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
    expect(exits).toEqual([]);
  });
});
