import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TEXT_CHARS, TEXT_CAPS, cleanField, cleanText, wellFormedText } from './text.js';

/** True when the string has no lone surrogate (what TextEncoder would otherwise replace). */
function isWellFormed(s: string): boolean {
  return Buffer.from(s, 'utf8').toString('utf8') === s;
}
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('cleanText', () => {
  it.each([
    ['absent', undefined, null],
    ['null', null, null],
    ['empty', '', null],
    ['blank', ' \t\n', null],
    ['trims', '  Linux \n', 'Linux'],
    ['keeps inner spaces', 'my project', 'my project'],
    ['caps at MAX_TEXT_CHARS', 'x'.repeat(MAX_TEXT_CHARS + 50), 'x'.repeat(MAX_TEXT_CHARS)],
  ])('%s', (_name, input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });

  it('caps by code points without splitting a surrogate pair', () => {
    const out = cleanText('😀'.repeat(300));
    expect(out).toBe('😀'.repeat(MAX_TEXT_CHARS));
    expect(Array.from(out ?? '')).toHaveLength(MAX_TEXT_CHARS);
  });
});

describe('the text rule', () => {
  it.each([
    ['lone high surrogate', 'a\ud800b', 'a\ufffdb'],
    ['lone low surrogate', 'a\udc00b', 'a\ufffdb'],
    ['reversed pair', '\udc00\ud800', '\ufffd\ufffd'],
    ['high surrogate at the end', 'proj\ud83d', 'proj\ufffd'],
    ['well-formed pair kept', 'x\ud83d\ude00y', 'x😀y'],
    ['NUL removed', 'my\u0000project', 'myproject'],
    ['C0 controls removed', '\u0001a\u001fb\u0007', 'ab'],
    ['inner tab and newline removed', 'a\tb\nc', 'abc'],
    ['DEL and C1 removed', 'a\u007fb\u0085c\u009f', 'abc'],
    ['only controls is blank', '\u0000\u0001', null],
    ['U+2028 inside is kept', 'a\u2028b', 'a\u2028b'],
    ['backslash and quotes kept', `a\\b"c'd`, `a\\b"c'd`],
    ['combining marks kept', 'e\u0301', 'e\u0301'],
    ['noncharacter kept', 'a\uffffb', 'a\uffffb'],
  ])('%s', (_name, input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });

  it('caps each field by its own length', () => {
    expect(cleanField('9'.repeat(100), 'version')).toBe('9'.repeat(TEXT_CAPS.version));
    expect(cleanField('p'.repeat(300), 'project')).toBe('p'.repeat(TEXT_CAPS.project));
    expect(cleanField('k'.repeat(100), 'attrName')).toBe('k'.repeat(TEXT_CAPS.attrName));
  });

  it('leaves a clean string untouched (same instance)', () => {
    const s = 'parsl.executors.high_throughput.executor.HighThroughputExecutor';
    expect(wellFormedText(s)).toBe(s);
  });

  // Property: for any string at all, the result is well-formed, has no control character, is
  // trimmed, fits its cap in code points, and cleaning it again changes nothing.
  const anyText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      maxLength: 300,
    }),
    fc.string({ unit: 'grapheme-composite', maxLength: 300 }),
  );
  it('property: well-formed, control-free, trimmed, capped and idempotent', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom(...Object.keys(TEXT_CAPS)), (input, key) => {
        const field = key as keyof typeof TEXT_CAPS;
        const out = cleanField(input, field);
        if (out === null) return;
        expect(isWellFormed(out)).toBe(true);
        expect(CONTROL.test(out)).toBe(false);
        expect(out).toBe(out.trim());
        expect(out).not.toBe('');
        expect(Array.from(out).length).toBeLessThanOrEqual(TEXT_CAPS[field]);
        expect(cleanField(out, field)).toBe(out);
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: a string that is already clean passes unchanged', () => {
    const clean = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 50 })
      .filter((s) => s === s.trim() && !CONTROL.test(s) && s !== '');
    fc.assert(
      fc.property(clean, (s) => {
        expect(cleanText(s, MAX_TEXT_CHARS)).toBe(s);
      }),
      { numRuns: 1_000 },
    );
  });
});
