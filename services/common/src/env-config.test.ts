import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseEnv } from './env-config.js';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  FLAG: z.enum(['true', 'false']).default('false'),
  NAME: z.string().min(1).default('x'),
});

describe('parseEnv', () => {
  it.each([
    ['defaults when unset', {}, { PORT: 8080, FLAG: 'false', NAME: 'x' }],
    ['empty strings count as unset', { PORT: '', NAME: '' }, { PORT: 8080, FLAG: 'false', NAME: 'x' }],
    ['numbers are coerced', { PORT: '9000', FLAG: 'true' }, { PORT: 9000, FLAG: 'true', NAME: 'x' }],
    ['unknown variables are ignored', { OTHER: '1' }, { PORT: 8080, FLAG: 'false', NAME: 'x' }],
  ])('%s', (_name, env, expected) => {
    expect(parseEnv('svc', schema, env)).toEqual(expected);
  });

  it('one error names every bad variable and what it got', () => {
    let caught: unknown;
    try {
      parseEnv('svc', schema, { PORT: '70000', FLAG: 'yes' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const msg = (caught as Error).message;
    expect(msg).toMatch(/^invalid svc configuration:/);
    expect(msg).toContain('PORT');
    expect(msg).toContain('"70000"');
    expect(msg).toContain('FLAG');
    expect(msg).toContain('"yes"');
  });

  it('uses the caller error class when given', () => {
    class Custom extends Error {}
    expect(() => parseEnv('svc', schema, { PORT: 'x' }, (m) => new Custom(m))).toThrow(Custom);
  });
});
