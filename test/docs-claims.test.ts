/**
 * The prose cannot drift from the repository: every repository path, `npm run` script,
 * ClickHouse table or view, and environment variable that the documents cite must exist.
 * Reads files only (no Kafka, no ClickHouse).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentedVariables } from '@parsl-usage/kit/config-reference';

const ROOT = new URL('..', import.meta.url).pathname;
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

const DOCS = [
  'README.md',
  'SCALING.md',
  'BENCHMARKS.md',
  'infra/DESIGN.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** A claim that does not hold: where it is, and what it names. */
function problem(doc: string, text: string, index: number, what: string): string {
  const line = text.slice(0, index).split('\n').length;
  return `${doc}:${line}: ${what}`;
}

// ---- repository paths ------------------------------------------------------------------------

const TOP = ['services', 'infra', 'docs', 'test', 'bench', 'kit', 'schemas'];
const PATH = new RegExp(`(?<![\\w./-])((?:${TOP.join('|')})/[\\w.{}*<>$-]+(?:/[\\w.{}*<>$-]+)*)`, 'g');
const TOP_FILE = /(?<![\w./-])((?:README|SCALING|BENCHMARKS|LICENSE)(?:\.md)?)(?![\w-])/g;

/** Output of the build: services/X/dist/Y.js exists once built; its source is services/X/src/Y.ts. */
function exists(path: string): boolean {
  if (existsSync(join(ROOT, path))) return true;
  const built = /^(services\/[\w-]+|schemas)\/dist\/(.+)\.(?:js|d\.ts)$/.exec(path);
  return built !== null && existsSync(join(ROOT, built[1] ?? '', 'src', `${built[2] ?? ''}.ts`));
}

export function missingPaths(doc: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PATH)) {
    // Trailing punctuation ends a sentence, not a path; a `:12` line suffix is not part of the file.
    const path = (m[1] ?? '').replace(/[.,;:)]+$/, '').replace(/:\d+(-\d+)?$/, '');
    // Patterns and placeholders (services/*/src, infra/<name>, ${x}) name no single file.
    if (/[*{}<>$]/.test(path)) continue;
    // Files a run writes (bench results, copies of a build to compare against) are not in a checkout.
    if (/^(bench\/[\w/-]*results|test\/.*\.json$)|\/dist-/.test(path)) continue;
    // "(then `bench/x.ts`)": where a file was when a dated run used it, not a claim that it is there.
    if (/(?:\bthen|\bformerly|\bwas) `?$/.test(text.slice(Math.max(0, m.index - 10), m.index))) continue;
    if (!exists(path)) out.push(problem(doc, text, m.index, `no such path ${path}`));
  }
  for (const m of text.matchAll(TOP_FILE)) {
    const name = m[1] ?? '';
    const file = name.endsWith('.md') || name === 'LICENSE' ? name : `${name}.md`;
    if (!existsSync(join(ROOT, file))) out.push(problem(doc, text, m.index, `no such file ${file}`));
  }
  return out;
}

// ---- npm scripts -----------------------------------------------------------------------------

const SCRIPTS = new Set(Object.keys((JSON.parse(read('package.json')) as { scripts: object }).scripts));
// npm's own commands, which need no script.
const NPM_BUILTIN = new Set(['start', 'stop', 'test']);

export function missingScripts(doc: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/npm (?:run(?:-script)?|run --silent) ([a-z][\w:.-]*)/g)) {
    const name = (m[1] ?? '').replace(/[.:]+$/, '');
    if (!SCRIPTS.has(name)) out.push(problem(doc, text, m.index, `no npm script ${name}`));
  }
  for (const m of text.matchAll(/npm (start|stop|test)\b/g)) {
    const name = m[1] ?? '';
    if (NPM_BUILTIN.has(name) && !SCRIPTS.has(name))
      out.push(problem(doc, text, m.index, `no npm script ${name}`));
  }
  return out;
}

// ---- ClickHouse tables and views -------------------------------------------------------------

function createdObjects(): Set<string> {
  const names = new Set<string>();
  const sources = [
    ...readdirSync(join(ROOT, 'infra/clickhouse/migrations')).map((f) => `infra/clickhouse/migrations/${f}`),
    // Tables the code creates itself (the migration ledger).
    'services/aggregator/src/provision/migrate.ts',
  ];
  for (const f of sources) {
    for (const m of read(f).matchAll(
      /CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DICTIONARY)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:[\w${}]+\.)?`?(\w+)`?/gi,
    ))
      names.add(m[1] ?? '');
  }
  return names;
}
const OBJECTS = createdObjects();

/**
 * Where a document names a table or view: `db.name` of the pipeline database, `FROM`/`JOIN name`
 * in SQL, and "`name` table/view" in prose. CTE names and table functions are not tables.
 */
export function missingObjects(doc: string, text: string): string[] {
  const out: string[] = [];
  const ctes = new Set([...text.matchAll(/(?:\bWITH|,)\s+(\w+)\s+AS\s*\(/gi)].map((m) => m[1] ?? ''));
  const check = (name: string, index: number): void => {
    if (!OBJECTS.has(name) && !ctes.has(name))
      out.push(problem(doc, text, index, `no ClickHouse table or view ${name}`));
  };
  for (const m of text.matchAll(/\bparsl_usage\.(\w+)\b(?![(*])/g)) check(m[1] ?? '', m.index);
  // Inside SQL code blocks only, so that "from events" in prose is not a claim.
  for (const block of text.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const sql = block[1] ?? '';
    for (const m of sql.matchAll(/\b(?:FROM|JOIN)\s+(?:parsl_usage\.)?([a-z_]\w*)\b(?!\s*\()/gi)) {
      const name = m[1] ?? '';
      if (/^(system|numbers|select)$/i.test(name) || sql.slice((m.index ?? 0) + m[0].length).startsWith('.'))
        continue;
      check(name, (block.index ?? 0) + (m.index ?? 0));
    }
  }
  for (const m of text.matchAll(/`(\w+)`(?: \(?\w+\)?)? (?:table|view|materialized view|rollup)\b/g))
    // parsl_usage is the database.
    if (m[1] !== 'parsl_usage' && ((m[1] ?? '').includes('_') || OBJECTS.has(m[1] ?? '')))
      check(m[1] ?? '', m.index);
  for (const m of text.matchAll(/\b(?:table|view) `(\w+)`/g)) check(m[1] ?? '', m.index);
  return out;
}

// ---- environment variables -------------------------------------------------------------------

/**
 * Variables exist when the generated reference lists them (docs/CONFIGURATION.md) or when the
 * scripts, compose files, images and test harness read them (those are theirs, not the services').
 */
function knownVariables(): Set<string> {
  const known = documentedVariables();
  const sources = [
    'docker-compose.yml',
    'docker-compose.cluster.yml',
    'Dockerfile',
    'infra/compose/local.env',
    ...['infra/scripts', 'infra/cluster', 'infra/compose', 'infra/deploy', 'infra/kafka', 'infra/zookeeper']
      .filter((d) => existsSync(join(ROOT, d)))
      .flatMap((d) => readdirSync(join(ROOT, d)).map((f) => `${d}/${f}`)),
    'infra/clickhouse/entrypoint.sh',
    // ClickHouse's own configuration reads some (<ip from_env="...">).
    ...['infra/clickhouse/users.d', 'infra/clickhouse/config.d'].flatMap((d) =>
      readdirSync(join(ROOT, d)).map((f) => `${d}/${f}`),
    ),
    ...readdirSync(join(ROOT, 'kit/src')).map((f) => `kit/src/${f}`),
    'test/setup/global-setup.ts',
  ];
  for (const f of sources) {
    if (!existsSync(join(ROOT, f)) || !f.match(/\.(sh|ya?ml|env|ts|conf|json|xml)$|Dockerfile|Caddyfile$/))
      continue;
    for (const m of read(f).matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g)) known.add(m[0]);
  }
  return known;
}
const VARIABLES = knownVariables();
const VARIABLE =
  /\b((?:RELAY|AGG|DASH|CLICKHOUSE|KAFKA|PROVISION|MIGRATIONS|REPORT|SUPERVISOR)_[A-Z0-9_]*[A-Z0-9])\b/g;

export function missingVariables(doc: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(VARIABLE)) {
    const name = m[1] ?? '';
    if (!VARIABLES.has(name)) out.push(problem(doc, text, m.index, `no environment variable ${name}`));
  }
  return out;
}

describe('what the documents cite exists', () => {
  it('finds the claims it checks (the extractors are not blind)', () => {
    const readme = read('README.md');
    expect(readme.match(PATH)?.length ?? 0).toBeGreaterThan(5);
    expect(readme.match(VARIABLE)?.length ?? 0).toBeGreaterThan(5);
    expect(OBJECTS.has('workflow_versions') && OBJECTS.has('schema_migrations')).toBe(true);
    // A stale claim of each kind is caught.
    expect(missingPaths('x', 'see services/aggregator/src/reprocess.test.ts')).toHaveLength(1);
    expect(missingScripts('x', 'run `npm run no-such-script`')).toHaveLength(1);
    expect(missingObjects('x', 'SELECT 1 FROM parsl_usage.no_such_table')).toHaveLength(1);
    expect(missingVariables('x', 'set AGG_NO_SUCH_SETTING=1')).toHaveLength(1);
  });

  it.each(DOCS)('%s', (doc) => {
    const text = read(doc);
    const problems = [
      ...missingPaths(doc, text),
      ...missingScripts(doc, text),
      ...missingObjects(doc, text),
      ...missingVariables(doc, text),
    ];
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
