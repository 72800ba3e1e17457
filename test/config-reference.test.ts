/**
 * docs/CONFIGURATION.md is generated from the zod schemas (kit/src/config-reference.ts): this
 * fails when a schema changed and the committed reference was not regenerated.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFERENCE_PATH, SECTIONS, render, rows } from '@parsl-usage/kit/config-reference';

describe('docs/CONFIGURATION.md', () => {
  it('is what npm run docs:config makes from the schemas', () => {
    const committed = readFileSync(REFERENCE_PATH, 'utf8');
    // toBe would print both files; one line says what to do.
    expect(committed === render(), 'docs/CONFIGURATION.md is stale: run npm run docs:config').toBe(true);
  });

  it('describes every variable of the services', () => {
    const undescribed = SECTIONS.filter((s) =>
      ['relay', 'aggregator', 'dashboard'].includes(s.title),
    ).flatMap((s) => rows(s.schema).flatMap((r) => (r.description ? [] : [`${s.title}: ${r.name}`])));
    expect(undescribed).toEqual([]);
  });
});
