import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteString } from './sql-literal.js';

describe('quoteString', () => {
  it.each([
    ['alpha', `'alpha'`],
    [`o'brien`, `'o\\'brien'`],
    ['back\\slash', `'back\\\\slash'`],
    [`\\'`, `'\\\\\\''`],
    ['line\nbreak\ttab\r', `'line\\nbreak\\ttab\\r'`],
    ['ünïcødé 项目', `'ünïcødé 项目'`],
    // names stored before the text rule removed controls (issue 12)
    ['a\0b', `'a\\x00b'`],
    ['bell\u0007 del\u007f esc\u001b', `'bell\\x07 del\\x7f esc\\x1b'`],
  ])('%j -> %s', (s, q) => {
    expect(quoteString(s)).toBe(q);
  });
});

describe('quoteString (property)', () => {
  it('the literal never ends early: no unescaped quote, and no raw control character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
        const q = quoteString(s);
        const body = q.slice(1, -1);
        // every quote in the body is escaped (preceded by an odd run of backslashes)
        expect(/(^|[^\\])(\\\\)*'/.test(body)).toBe(false);
        expect(/[\u0000-\u001f\u007f]/.test(body)).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });
});
