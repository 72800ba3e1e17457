import { describe, expect, it } from 'vitest';
import { V1_ENDPOINTS, V1_PREFIX } from './endpoints.js';
import { openApiDocument } from './openapi.js';

/** The value at `path` inside a JSON value (undefined where the path leaves it). */
function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const k of path)
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}
const keys = (v: unknown): string[] => Object.keys(v as object);

describe('openApiDocument', () => {
  const doc = openApiDocument();

  it('documents every endpoint and the document itself, nothing else', () => {
    expect(keys(at(doc, 'paths')).sort()).toEqual(
      [...V1_ENDPOINTS.map((e) => e.path), '/openapi.json'].sort(),
    );
    expect(at(doc, 'servers')).toEqual([{ url: V1_PREFIX }]);
    expect(at(doc, 'openapi')).toBe('3.1.0');
  });

  it('gives every operation its own id', () => {
    const ids = keys(at(doc, 'paths')).map((p) => at(doc, 'paths', p, 'get', 'operationId'));
    for (const id of ids) expect(typeof id).toBe('string');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(V1_ENDPOINTS.map((e) => [e.path, e] as const))(
    '%s: parameters, columns and summary as in the table',
    (path, e) => {
      const get = at(doc, 'paths', path, 'get');
      expect(at(get, 'summary')).toBe(e.summary);
      expect(at(get, 'parameters')).toEqual(e.params.map((p) => ({ $ref: `#/components/parameters/${p}` })));
      const schema = at(get, 'responses', '200', 'content', 'application/json', 'schema');
      expect(at(schema, 'properties', 'endpoint')).toEqual({ const: `${V1_PREFIX}${e.path}` });
      expect(at(schema, 'properties', 'columns', 'const')).toEqual([...e.columns]);
      expect(at(schema, 'properties', 'rows', 'items', 'minItems')).toBe(e.columns.length);
      if (e.figures) {
        expect(at(schema, 'required')).toContain('summary');
        expect(at(schema, 'properties', 'summary', 'required')).toEqual(Object.keys(e.figures));
      } else {
        expect(at(schema, 'required')).not.toContain('summary');
        expect(at(schema, 'properties', 'summary')).toBeUndefined();
      }
      for (const code of keys(at(get, 'responses'))) {
        const ref = at(get, 'responses', code, '$ref');
        if (typeof ref === 'string')
          expect(at(doc, 'components', 'responses', ref.split('/').pop() ?? '')).toBeDefined();
      }
    },
  );

  it('defines every parameter it refers to', () => {
    for (const p of new Set(V1_ENDPOINTS.flatMap((e) => e.params)))
      expect(at(doc, 'components', 'parameters', p, 'name')).toBe(p);
  });

  it('is the same document each time (its ETag is computed once)', () => {
    expect(JSON.stringify(openApiDocument())).toBe(JSON.stringify(doc));
  });
});
