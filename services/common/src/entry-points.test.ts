/**
 * `common` is split so that a service loads only what it uses: the relay's import graph, as node
 * loads it (type-only imports are erased), never reaches @clickhouse/client.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Workspace packages as the build resolves them (package.json exports), on their sources. */
const WORKSPACE: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^@parsl-usage\/schemas$/, () => 'schemas/src/index.ts'],
  [/^@parsl-usage\/schemas\/(.+)$/, (m) => `schemas/src/${m[1]}.ts`],
  [/^@parsl-usage\/common$/, () => 'services/common/src/index.ts'],
  [/^@parsl-usage\/common\/(.+)$/, (m) => `services/common/src/${m[1]}.ts`],
];

/** The specifiers a module loads at run time: every import and re-export but `import type`. */
export function runtimeImports(source: string): string[] {
  const out: string[] = [];
  // One statement: no `;` between the keyword and the specifier.
  const statement = /^\s*(import|export)\s+(type\s+)?(?:[^;]*?\sfrom\s+)?'([^']+)'/gm;
  for (const m of source.matchAll(statement)) if (!m[2] && m[3]) out.push(m[3]);
  for (const m of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) if (m[1]) out.push(m[1]);
  return out;
}

/** Every module reached from `entry`: files of the repository, and package names outside it. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [resolve(ROOT, entry)];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        todo.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        continue;
      }
      const ws = WORKSPACE.find(([re]) => re.test(spec));
      const m = ws?.[0].exec(spec);
      if (ws && m) todo.push(join(ROOT, ws[1](m)));
      else packages.add(spec);
    }
  }
  return { files, packages };
}

describe('runtimeImports', () => {
  it.each([
    ["import { a } from './a.js';", ['./a.js']],
    ["import type { A } from './a.js';", []],
    ["import { type A, b } from './a.js';", ['./a.js']],
    ["export { a } from './a.js';", ['./a.js']],
    ["export type { A } from './a.js';", []],
    ["import {\n  a,\n  b,\n} from '@x/y';", ['@x/y']],
    ["import 'side-effect';", ['side-effect']],
    ["const m = await import('./lazy.js');", ['./lazy.js']],
    ["export type A = string;\nimport { b } from './b.js';", ['./b.js']],
    ["export const a = 'x';", []],
  ])('%j', (source, want) => {
    expect(runtimeImports(source)).toEqual(want);
  });
});

describe('the relay', () => {
  const graph = importGraph('services/relay/src/main.ts');
  it('loads its modules, schemas and common', () => {
    const rel = [...graph.files].map((f) => f.slice(ROOT.length));
    for (const f of rel) expect(existsSync(join(ROOT, f)), f).toBe(true);
    expect(rel).toContain('services/relay/src/app.ts');
    expect(rel).toContain('services/common/src/index.ts');
    expect(rel).toContain('schemas/src/index.ts');
    expect(graph.packages).toContain('kafkajs');
  });
  it('(the walk finds the client where it is loaded: the operator commands)', () => {
    expect(importGraph('services/ops/src/migrate-cli.ts').packages).toContain('@clickhouse/client');
  });
  it('never loads a ClickHouse client, the CLI frame or Chromium', () => {
    expect([...graph.packages].filter((p) => p.startsWith('@clickhouse/'))).toEqual([]);
    const rel = [...graph.files].map((f) => f.slice(ROOT.length));
    expect(rel).not.toContain('services/common/src/cli-frame.ts');
    expect(rel).not.toContain('services/common/src/chromium.ts');
  });
});
