import { describe, expect, it } from 'vitest';
import { supervisorRestarts } from './supervisor.js';

describe('supervisorRestarts', () => {
  it.each([
    ['unset', {}, 0],
    ['set by the supervisor', { SUPERVISOR_RESTARTS: '3' }, 3],
    ['garbage', { SUPERVISOR_RESTARTS: 'x' }, 0],
    ['negative', { SUPERVISOR_RESTARTS: '-1' }, 0],
  ])('%s', (_name, env, n) => {
    expect(supervisorRestarts(env)).toBe(n);
  });
});
