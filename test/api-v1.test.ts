/**
 * The public API (/api/v1, docs/API.md) against a fixture history in real ClickHouse: its
 * OpenAPI document validated by a maintained validator, every endpoint's real answers checked
 * against that document, the answers equal to the analyst views for the same period, the
 * privacy rule (K runs), caching validators, CORS, the rate limit and hostile parameters.
 */
import { createRequire } from 'node:module';
import { Validator } from '@seriousme/openapi-schema-validator';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { Metrics } from '@parsl-usage/common';
import { V1_ENDPOINTS, type V1Endpoint } from '@parsl-usage/dashboard/internal/api-v1/endpoints';
import { createApp } from '@parsl-usage/dashboard/internal/app';
import { clickhouseQuery } from '@parsl-usage/dashboard/internal/clickhouse-query';
import { addDays } from '@parsl-usage/dashboard/internal/dates';
import type { RunFacts } from '@parsl-usage/kit/demo-history';
import { clickhouse, freshDatabase } from './setup/env.js';
import { END, fixture, FROM, insertHistory } from './dashboard-support.js';

/** K of this test: the fixture's projects have hundreds of runs; the added ones are around K. */
const K = 5;
/** runs of the projects added around K: under K (hidden), exactly K and over (named) */
const SMALL = { 'tiny-one': 1, 'tiny-four': K - 1, 'edge-five': K, 'six-ers': K + 1 } as const;

/** The fixture with a few small projects added: runs cloned from fixture runs under new ids. */
function history(): RunFacts[][] {
  const base = fixture();
  const donors = base.filter((v) => {
    const last = v[v.length - 1] as RunFacts;
    return last.is_test === 0 && last.day >= FROM;
  });
  let n = 0;
  const extra: RunFacts[][] = [];
  for (const [project, runs] of Object.entries(SMALL))
    for (let i = 0; i < runs; i++) {
      const donor = donors[(n * 37) % donors.length] as RunFacts[];
      const id = `small-${n++}`;
      extra.push(donor.map((v) => ({ ...v, workflow_id: id, project_name: project })));
    }
  return [...base, ...extra];
}

type Answer = {
  endpoint: string;
  params: Record<string, string | number>;
  columns: string[];
  rows: (string | number | boolean | null)[][];
  chart: Record<string, unknown>;
  summary?: Record<string, unknown>;
  error?: string;
  parameter?: string;
};

interface Running {
  base: string;
  metrics: Metrics;
  queries: string[];
  stop: () => Promise<void>;
}

async function start(client: ClickHouseClient, database: string, ratePerMinute: number): Promise<Running> {
  const queries: string[] = [];
  const real = clickhouseQuery(client);
  const metrics = new Metrics();
  const app = createApp({
    config: {
      httpHost: '127.0.0.1',
      httpPort: 0,
      database,
      cacheTtlMs: 60_000,
      cacheMaxEntries: 1_000,
      unfinishedAfterDays: 7,
      publicMinRuns: K,
      apiRatePerMinute: ratePerMinute,
    },
    logger: pino({ level: process.env.DASH_TEST_LOG_LEVEL ?? 'silent' }),
    query: (sql) => {
      queries.push(sql);
      return real(sql);
    },
    metrics,
  });
  await app.start();
  return { base: `http://127.0.0.1:${app.httpPort}`, metrics, queries, stop: () => app.stop() };
}

async function get(
  d: Running,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Answer; headers: Headers; text: string }> {
  const res = await fetch(`${d.base}${path}`, { headers });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const body = (type.startsWith('application/json') ? JSON.parse(text) : {}) as Answer;
  return { status: res.status, body, headers: res.headers, text };
}

const range = `from=${FROM}&to=${END}`;
const url = (e: V1Endpoint, qs: string): string => `/api/v1${e.path}?${qs}`;

/** Parameter sets each endpoint is tried with (defaults, the fixture's range, edges). */
function variants(e: V1Endpoint): string[] {
  const out = ['', range, `from=${END}&to=${END}`, `from=${addDays(END, 1)}&to=${addDays(END, 30)}`];
  if (e.params.includes('granularity')) out.push(...['day', 'month'].map((g) => `${range}&granularity=${g}`));
  if (e.params.includes('top')) out.push(`${range}&top=1`, `${range}&top=50`);
  return out;
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

describe('public API v1 over a fixture history', () => {
  let admin: ClickHouseClient;
  let db: string;
  let d: Running;
  const facts = history();
  const read = async (sql: string): Promise<Record<string, unknown>[]> =>
    (await admin.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>();
  const inRange = `day >= toDate('${FROM}') AND day <= toDate('${END}')`;

  beforeAll(async () => {
    db = await freshDatabase('apiv1');
    admin = clickhouse('admin');
    await insertHistory(admin, db, facts);
    d = await start(admin, db, 100_000);
  });
  afterAll(async () => {
    await d?.stop();
    await admin?.close();
  });

  describe('the OpenAPI document', () => {
    it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
      const { status, body } = await get(d, '/api/v1/openapi.json');
      expect(status).toBe(200);
      const validator = new Validator();
      const res = await validator.validate(body);
      expect(res.errors ?? []).toEqual([]);
      expect(res.valid).toBe(true);
      expect(validator.version).toBe('3.1');
    });

    it('documents exactly the endpoints served', async () => {
      const { body } = await get(d, '/api/v1/openapi.json');
      const paths = Object.keys((body as unknown as { paths: object }).paths).sort();
      expect(paths).toEqual([...V1_ENDPOINTS.map((e) => e.path), '/openapi.json'].sort());
    });

    it("every endpoint's real answers match the document's response schema", async () => {
      const doc = (await get(d, '/api/v1/openapi.json')).body as unknown as object;
      const validate = responseValidators(doc);
      let checked = 0;
      for (const e of V1_ENDPOINTS)
        for (const qs of variants(e)) {
          const { status, body } = await get(d, url(e, qs));
          expect([e.path, qs, status]).toEqual([e.path, qs, 200]);
          const v = validate(e.path);
          const ok = v(body);
          expect([e.path, qs, ok ? [] : v.errors]).toEqual([e.path, qs, []]);
          checked++;
        }
      // and the 400 body is the document's Error
      const bad = await get(d, '/api/v1/headline?granularity=day');
      const v400 = validate('/headline', '400');
      expect(v400(bad.body)).toBe(true);
      expect(checked).toBeGreaterThan(50);
    });
  });

  describe('answers equal the analyst views for the same period', () => {
    it('headline = daily_workflows, leaderboard_daily and the newest day', async () => {
      const { body } = await get(d, `/api/v1/headline?${range}`);
      const [t] = await read(`SELECT sum(workflows) AS runs, sum(completed) AS completed,
          sum(unfinished) AS unfinished, sum(running) AS running, sum(launched) AS launched,
          sum(closure_only) AS closure_only, sum(apps) AS apps, sum(app_fails) AS app_fails,
          sum(points) AS points
        FROM ${db}.daily_workflows WHERE ${inRange}`);
      const [p] = await read(
        `SELECT uniqExact(project_name) AS projects FROM ${db}.leaderboard_daily WHERE ${inRange}`,
      );
      const [last] = await read(`SELECT toString(max(day)) AS last_day FROM ${db}.daily_workflows`);
      const [ins] = await read(`SELECT toUInt32(max(inserted_at)) AS t FROM ${db}.workflow_changes`);
      const insertedDay = new Date(Number(ins?.t) * 1000).toISOString().slice(0, 10);
      const want = Object.fromEntries(Object.entries({ ...t, ...p }).map(([k, v]) => [k, Number(v)]));
      expect(body.summary).toMatchObject({
        ...want,
        last_day: last?.last_day,
        last_inserted_day: insertedDay,
      });
      expect(body.summary?.failure_rate).toBe(round4(Number(t?.app_fails) / Number(t?.apps)));
    });

    it('workflows and apps per day = daily_workflows', async () => {
      const view = await read(`SELECT toString(day) AS period, workflows, launched, running, unfinished,
          completed, closure_only, apps, app_fails FROM ${db}.daily_workflows WHERE ${inRange} ORDER BY day`);
      const wf = await get(d, `/api/v1/workflows?${range}&granularity=day`);
      const cols = ['period', 'workflows', 'launched', 'running', 'unfinished', 'completed', 'closure_only'];
      expect(wf.body.rows).toEqual(view.map((r) => cols.map((c, i) => (i === 0 ? r[c] : Number(r[c])))));
      const apps = await get(d, `/api/v1/apps?${range}&granularity=day`);
      expect(apps.body.rows.map((r) => r.slice(0, 4))).toEqual(
        view.map((r) => [r.period, Number(r.workflows), Number(r.apps), Number(r.app_fails)]),
      );
    });

    it.each([
      ['/versions/python', 'python_versions_daily', 'python_minor', ''],
      ['/versions/parsl', 'parsl_versions_daily', 'parsl_version', ''],
      ['/platforms', 'platforms_daily', 'platform', ''],
      ['/tracking-levels', 'tracking_levels_daily', 'tracking_level', ''],
      ['/components/executors', 'components_daily', 'component', "AND kind = 'executor'"],
      ['/components/providers', 'components_daily', 'component', "AND kind = 'provider'"],
      ['/components/launchers', 'components_daily', 'component', "AND kind = 'launcher'"],
    ])('%s = %s', async (path, view, column, where) => {
      const rows = await read(`SELECT ${column} AS value, sum(workflows) AS runs, sum(apps) AS apps,
          sum(app_fails) AS app_fails FROM ${db}.${view} WHERE ${inRange} ${where}
        GROUP BY value ORDER BY runs DESC, value ASC`);
      const { body } = await get(d, `/api/v1${path}?${range}&granularity=month&top=3`);
      expect(rows.length).toBeGreaterThan(1);
      expect(body.rows.map((r) => [r[1], r[2], r[4], r[5]])).toEqual(
        rows.map((r) => [r.value, Number(r.runs), Number(r.apps), Number(r.app_fails)]),
      );
      expect(body.rows.map((r) => r[0])).toEqual(rows.map((_, i) => i + 1));
    });

    it('execution time = execution_time_histogram; install age = installation_age_daily', async () => {
      const hist = await read(`SELECT bucket, sum(workflows) AS runs FROM ${db}.execution_time_histogram
        WHERE ${inRange} GROUP BY bucket ORDER BY bucket`);
      const et = await get(d, `/api/v1/execution-time?${range}`);
      expect(et.body.rows.map((r) => [r[0], r[3]])).toEqual(
        hist.map((r) => [Number(r.bucket), Number(r.runs)]),
      );
      const ages = await read(`SELECT age_weeks, sum(workflows) AS runs FROM ${db}.installation_age_daily
        WHERE ${inRange} GROUP BY age_weeks ORDER BY age_weeks`);
      const ia = await get(d, `/api/v1/install-age?${range}`);
      expect(ia.body.rows).toEqual(ages.map((r) => [Number(r.age_weeks), Number(r.runs)]));
    });

    it('release adoption per day = release_adoption', async () => {
      const { body } = await get(d, `/api/v1/release-adoption?${range}&granularity=day&top=50`);
      const view =
        await read(`SELECT DISTINCT toString(release_date) AS rel, days_since_release AS a, runs, newer_runs
        FROM ${db}.release_adoption WHERE ${inRange} AND release_date >= toDate('${FROM}')`);
      const want = new Map(
        view.map((r) => [`${String(r.rel)}+${Number(r.a)}`, [Number(r.runs), Number(r.newer_runs)]]),
      );
      const got = new Map(
        body.rows
          .filter((r) => Number(r[2]) > 0)
          .map((r) => [`${String(r[0]).replaceAll('.', '-')}+${Number(r[1])}`, [Number(r[2]), Number(r[3])]]),
      );
      expect(got.size).toBeGreaterThan(100);
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
    });

    it('leaderboard = leaderboard_daily, projects under K summed into other', async () => {
      const per =
        await read(`SELECT project_name, sum(runs) AS runs, sum(points) AS points, sum(apps) AS apps,
          toString(min(day)) AS first_day, toString(max(day)) AS last_day, count() AS active_days
        FROM ${db}.leaderboard_daily WHERE ${inRange} GROUP BY project_name
        ORDER BY points DESC, runs DESC, project_name ASC`);
      const named = per.filter((r) => Number(r.runs) >= K);
      const hidden = per.filter((r) => Number(r.runs) < K);
      expect(hidden.map((r) => r.project_name).sort()).toEqual(['tiny-four', 'tiny-one']);
      const { body } = await get(d, `/api/v1/leaderboard?${range}&top=50`);
      expect(body.rows).toEqual(
        named.map((r, i) => [
          i + 1,
          r.project_name,
          Number(r.points),
          Number(r.runs),
          Number(r.apps),
          Number(r.active_days),
          r.first_day,
          r.last_day,
        ]),
      );
      const sum = (k: string) => hidden.reduce((s, r) => s + Number(r[k]), 0);
      expect(body.summary).toEqual({
        min_runs: K,
        other_projects: 2,
        other_runs: sum('runs'),
        other_points: sum('points'),
        other_apps: sum('apps'),
      });
      const top2 = await get(d, `/api/v1/leaderboard?${range}&top=2`);
      expect(top2.body.rows).toEqual(body.rows.slice(0, 2));
    });
  });

  describe('privacy', () => {
    it('no answer names a project under K, holds a workflow id, or a time finer than a day', async () => {
      const ids = new Set(facts.map((v) => (v[0] as RunFacts).workflow_id));
      let answers = 0;
      for (const e of V1_ENDPOINTS)
        for (const qs of variants(e)) {
          const { text } = await get(d, url(e, qs));
          expect(text).not.toMatch(/tiny-one|tiny-four/);
          expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/);
          for (const id of text.match(/(demo|small)-[\w-]+/g) ?? []) expect(ids.has(id)).toBe(false);
          answers++;
        }
      // the named small projects do appear: K is a threshold, not a blanket
      const { text } = await get(d, `/api/v1/leaderboard?${range}&top=50`);
      expect(text).toContain('edge-five');
      expect(text).toContain('six-ers');
      expect(answers).toBeGreaterThan(50);
    });
  });

  describe('HTTP', () => {
    it('ETag + If-None-Match -> 304, Cache-Control, CORS on every answer', async () => {
      const path = `/api/v1/platforms?${range}`;
      const first = await get(d, path);
      const etag = first.headers.get('etag') ?? '';
      expect(etag).toMatch(/^"[\w-]{22}"$/);
      expect(first.headers.get('cache-control')).toBe('public, max-age=60');
      expect(first.headers.get('access-control-allow-origin')).toBe('*');
      const again = await get(d, path, { 'if-none-match': etag });
      expect([again.status, again.text, again.headers.get('etag')]).toEqual([304, '', etag]);
      expect(again.headers.get('cache-control')).toBe('public, max-age=60');
      expect((await get(d, path, { 'if-none-match': `W/${etag}` })).status).toBe(304);
      expect((await get(d, path, { 'if-none-match': '"stale"' })).status).toBe(200);
      for (const p of ['/api/v1/headline?top=1', '/api/v1/nope', '/api/v1/openapi.json']) {
        const r = await get(d, p);
        expect([p, r.headers.get('access-control-allow-origin')]).toEqual([p, '*']);
        expect(r.headers.get('cache-control')).toMatch(/^(no-store|public, max-age=\d+)$/);
      }
    });

    it('CORS preflight and HEAD', async () => {
      const pre = await fetch(`${d.base}/api/v1/headline`, {
        method: 'OPTIONS',
        headers: { origin: 'https://parsl-project.org', 'access-control-request-method': 'GET' },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
      const head = await fetch(`${d.base}/api/v1/headline?${range}`, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([200, '']);
      expect(head.headers.get('etag')).toMatch(/^"/);
      expect((await fetch(`${d.base}/api/v1/headline`, { method: 'POST' })).status).toBe(405);
    });

    it('hostile parameters: 400 with a clear JSON error, no SQL, no new metric label (property)', async () => {
      // every endpoint answered once, so every label a valid request can make exists
      for (const e of V1_ENDPOINTS) expect((await get(d, url(e, 'top=0'))).status).toBe(400);
      await fetch(`${d.base}/metrics`); // /metrics counts itself from its first answer on
      const before = await (await fetch(`${d.base}/metrics`)).text();
      const sqlBefore = d.queries.length;
      const hostileValue = fc.oneof(
        fc.string({ minLength: 33, maxLength: 1_500 }),
        fc.constantFrom(
          '2026-02-30',
          '1969-12-31',
          '2106-01-01',
          '２０２６-０１-０１',
          "'; DROP TABLE x; --",
          '',
        ),
        fc
          .date({ min: new Date('1000-01-01'), max: new Date('9999-12-31'), noInvalidDate: true })
          .map((t) => t.toISOString()),
      );
      const query = fc.oneof(
        // a known parameter with a bad value
        fc.tuple(fc.constantFrom('from', 'to', 'granularity', 'top'), hostileValue).map(([k, v]) => [[k, v]]),
        // an unknown parameter (any name, any length)
        fc
          .tuple(fc.string({ minLength: 1, maxLength: 2_000 }), fc.string({ maxLength: 50 }))
          .filter(([k]) => !['from', 'to', 'granularity', 'top'].includes(k))
          .map(([k, v]) => [[k, v]]),
        // a parameter twice
        fc.constantFrom('from', 'to', 'top').map((k) => [
          [k, '10'],
          [k, '11'],
        ]),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...V1_ENDPOINTS), query, async (e, pairs) => {
          const qs = new URLSearchParams(pairs as [string, string][]).toString();
          const r = await get(d, url(e, qs));
          expect(r.status).toBe(400);
          expect(typeof r.body.error).toBe('string');
          expect(typeof r.body.parameter).toBe('string');
          expect(r.text.length).toBeLessThan(600);
        }),
        { numRuns: 300 },
      );
      const after = await (await fetch(`${d.base}/metrics`)).text();
      const labels = (t: string) => new Set(t.match(/(route|endpoint|panel)="[^"]*"/g));
      expect([...labels(after)].filter((l) => !labels(before).has(l))).toEqual([]);
      expect(d.queries.length).toBe(sqlBefore);
      const allowed = new Set([...V1_ENDPOINTS.map((e) => `route="/api/v1${e.path}"`), 'route="other"']);
      const v1Routes = [...labels(after)].filter(
        (l) => l.startsWith('route="/api/v1') || l === 'route="other"',
      );
      for (const l of v1Routes) expect(allowed.has(l) || l === 'route="/api/v1/openapi.json"').toBe(true);
    });

    it('the old /api/<panel> routes still answer, with the same figures', async () => {
      const old = await get(d, `/api/dimension?${range}&granularity=month&top=3&dimension=platform`);
      const v1 = await get(d, `/api/v1/platforms?${range}&granularity=month&top=3`);
      expect(old.status).toBe(200);
      expect(v1.body.rows).toEqual(old.body.rows);
    });
  });
});

describe('public API v1 rate limit', () => {
  let admin: ClickHouseClient;
  let d: Running;

  beforeAll(async () => {
    const db = await freshDatabase('apiv1rl');
    admin = clickhouse('admin');
    d = await start(admin, db, 3);
  });
  afterAll(async () => {
    await d?.stop();
    await admin?.close();
  });

  it('429 with Retry-After past the per-client budget; the page routes and preflight are not limited', async () => {
    for (let i = 0; i < 3; i++) expect((await get(d, '/api/v1/openapi.json')).status).toBe(200);
    const refused = await get(d, '/api/v1/headline');
    expect(refused.status).toBe(429);
    const retry = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retry) && retry >= 1 && retry <= 20).toBe(true);
    expect(refused.body.error).toMatch(/too many requests/);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${d.base}/api/v1/headline`, { method: 'OPTIONS' })).status).toBe(204);
    expect((await get(d, '/healthz')).status).toBe(200);
    expect(d.metrics.get('dashboard_api_rate_limited_total')).toBe(1);
  });
});

/** A validator per endpoint and status for the document's response schemas (ajv, JSON Schema 2020-12). */
function responseValidators(
  doc: object,
): (path: string, status?: string) => ((x: unknown) => boolean) & { errors?: unknown } {
  // ajv 8 as the OpenAPI validator bundles it (the workspace's own ajv is 6, without 2020-12).
  const fromValidator = createRequire(
    createRequire(import.meta.url).resolve('@seriousme/openapi-schema-validator'),
  );
  const Ajv2020 = (fromValidator('ajv/dist/2020.js') as { default: new (o: object) => AjvLike }).default;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  const id = 'https://parsl-usage.invalid/openapi.json';
  ajv.addSchema(doc, id);
  return (path, status = '200') => {
    const pointer = `/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/get/responses/${status}`;
    const viaRef =
      status === '200' ? `${pointer}/content/application~1json/schema` : '/components/schemas/Error';
    return ajv.compile({ $ref: `${id}#${viaRef}` });
  };
}

interface AjvLike {
  addFormat(name: string, re: RegExp): void;
  addSchema(schema: object, key: string): void;
  compile(schema: object): ((x: unknown) => boolean) & { errors?: unknown };
}
