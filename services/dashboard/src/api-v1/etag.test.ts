import { describe, expect, it } from 'vitest';
import { notModified, strongEtag } from './etag.js';

describe('strongEtag', () => {
  it('is a quoted strong tag, equal for equal bodies and different for different ones', () => {
    const a = strongEtag('{"a":1}');
    expect(a).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(strongEtag(Buffer.from('{"a":1}'))).toBe(a);
    expect(strongEtag('{"a":2}')).not.toBe(a);
  });
});

describe('notModified', () => {
  const tag = '"abc"';
  it.each<[string | string[] | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['"x","y"', false],
    ['*', true],
    ['abc', false],
    [['"x"', '"abc"'], true],
    [`"abc", ${'"x", '.repeat(2_000)}`, false],
  ])('%j -> %s', (header, want) => {
    expect(notModified(header, tag)).toBe(want);
  });
});
