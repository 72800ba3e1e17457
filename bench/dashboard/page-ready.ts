/**
 * Time for the whole dashboard page to be ready in headless Chromium: from navigation start
 * (the page's performance.timeOrigin) until every [data-panel] section has data-state="ready"
 * (dashboard.js sets it after the panel's answer is drawn; the browser test waits for the same).
 *
 *   npx tsx bench/dashboard/page-ready.ts --clickhouse-url http://127.0.0.1:28135 \
 *     --db bench_dash_10m [--runs 20] [--cold-runs N] [--warm-runs N] [--started-runs N]
 *     [--main services/dashboard/dist/main.js] [--compare-main <another build's main.js>]
 *     [--warm true|false] [--user dashboard] [--json out.json]
 *
 * - cold: each load starts a new dashboard process (empty answer cache, so all 14 API calls go
 *   to ClickHouse) and a new browser context (empty HTTP cache). The process start is not timed.
 * - warm: one dashboard process with the default cache; one untimed load fills it, then each
 *   timed load is a new browser context (a new visitor: HTML, CSS and Chart.js fetched again,
 *   API answers from the dashboard's cache). Every load's cache outcomes are read from /metrics
 *   so a load that missed (TTL expired) would show.
 * - started (only with the warmer, --started-runs): a new dashboard process for each load, the
 *   page loaded as soon as /healthz answers, while the warmer's first round is computing (what
 *   the first visitor after a restart sees).
 * --warm false turns the warmer off (DASH_WARM), so "cold" is the computation path itself; --main
 * runs another build (e.g. a copy of dist from before a change) for a before/after in one run.
 *
 * The dashboard runs as the analyst user unless --user (the benchmark users file lets analyst and
 * dashboard read the benchmark database). Only loopback addresses are accepted.
 */
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_LAUNCH } from '@parsl-usage/kit/chromium';
import { flags, num } from '@parsl-usage/kit/cli';
import { percentile } from '../rollups/questions.js';
import { assertLoopback, cacheOutcomes, startDashboard, warmedUp, type SpawnedDashboard } from './spawn.js';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';

const f = flags(process.argv.slice(2));
const clickhouseUrl = f.get('clickhouse-url') ?? 'http://127.0.0.1:8123';
const database = f.get('db');
if (!database) throw new Error('--db is required (never the production database)');
const runs = num(f, 'runs', 20);
const coldRuns = num(f, 'cold-runs', runs);
const warmRuns = num(f, 'warm-runs', runs);
const startedRuns = num(f, 'started-runs', 0);
const path = f.get('path') ?? '/';
const main = f.get('main');
const warmFlag = f.get('warm');
const warm = warmFlag === undefined ? undefined : warmFlag === 'true';
const user = f.get('user');
const spawnOptions = {
  clickhouseUrl,
  database,
  ...(main ? { main } : {}),
  ...(user ? { user, password: `${user}-dev-password` } : {}),
};
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
assertLoopback(clickhouseUrl);

/** What the init script leaves on window (the test program has no DOM types). */
interface Probe {
  allReady?: number;
  error?: string;
  panels: Record<string, number>;
}
interface Load {
  readyMs: number;
  domContentLoadedMs: number;
  /** the slowest API response (responseEnd, ms after navigation start) and its path */
  slowestApi: { path: string; ms: number };
  /** first API request start, last API response end, first panel ready (ms after navigation start) */
  apiFirstStartMs: number;
  apiLastEndMs: number;
  firstPanelReadyMs: number;
  apiEndMs: Record<string, number>;
  cache: Record<'miss' | 'shared' | 'hit', number>;
}

// Runs in the page before its own scripts: records when each panel turns ready and when all
// are. Injected by the browser (not subject to the page's CSP, which forbids eval).
function probe(): void {
  const g = globalThis as unknown as {
    __probe: Probe;
    document: {
      querySelectorAll(s: string): Iterable<{ dataset: Record<string, string | undefined> }>;
    };
    performance: { now(): number };
    MutationObserver: new (cb: (records: Array<{ target: unknown }>) => void) => {
      observe(node: unknown, o: object): void;
      disconnect(): void;
    };
  };
  g.__probe = { panels: {} };
  const obs = new g.MutationObserver((records) => {
    const t = g.performance.now();
    for (const r of records) {
      const el = r.target as { dataset: Record<string, string | undefined> };
      const key = `${el.dataset.panel ?? '?'}${el.dataset.dimension ? `:${el.dataset.dimension}` : ''}`;
      if (el.dataset.state === 'ready') g.__probe.panels[key] = t;
      if (el.dataset.state === 'error') g.__probe.error = key;
    }
    const all = [...g.document.querySelectorAll('[data-panel]')];
    if (all.length > 0 && all.every((s) => s.dataset.state === 'ready')) {
      g.__probe.allReady = t;
      obs.disconnect();
    }
  });
  obs.observe(g.document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
}

async function loadOnce(browser: Browser, d: SpawnedDashboard): Promise<Load> {
  const before = await cacheOutcomes(d.base);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript(probe);
    const page = await context.newPage();
    await page.goto(d.base + path, { waitUntil: 'commit' });
    await page.waitForFunction(
      () => {
        const p = (globalThis as unknown as { __probe?: Probe }).__probe;
        return p !== undefined && (p.allReady !== undefined || p.error !== undefined);
      },
      undefined,
      { timeout: 60_000, polling: 20 },
    );
    const r = await page.evaluate(() => {
      const g = globalThis as unknown as {
        __probe: Probe;
        performance: {
          getEntriesByType(t: string): Array<{
            name: string;
            startTime: number;
            responseEnd: number;
            domContentLoadedEventEnd?: number;
          }>;
        };
      };
      const nav = g.performance.getEntriesByType('navigation')[0];
      const api = g.performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('/api/'))
        .map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd }));
      return { probe: g.__probe, dcl: nav?.domContentLoadedEventEnd ?? 0, api };
    });
    if (r.probe.error !== undefined || r.probe.allReady === undefined)
      throw new Error(`panel ${r.probe.error} ended in error: ${await page.locator('#error').textContent()}`);
    const apiEndMs: Record<string, number> = {};
    for (const a of r.api) {
      const u = new URL(a.name);
      const dim = u.searchParams.get('dimension');
      apiEndMs[`${u.pathname.slice(5)}${dim ? `:${dim}` : ''}`] = Math.round(a.end);
    }
    const slowest = Object.entries(apiEndMs).sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    const after = await cacheOutcomes(d.base);
    return {
      readyMs: r.probe.allReady,
      domContentLoadedMs: r.dcl,
      slowestApi: { path: slowest[0], ms: slowest[1] },
      apiFirstStartMs: Math.min(...r.api.map((a) => a.start)),
      apiLastEndMs: Math.max(...r.api.map((a) => a.end)),
      firstPanelReadyMs: Math.min(...Object.values(r.probe.panels)),
      apiEndMs,
      cache: {
        miss: after.miss - before.miss,
        shared: after.shared - before.shared,
        hit: after.hit - before.hit,
      },
    };
  } finally {
    await context.close();
  }
}

function summary(name: string, loads: Load[]): Record<string, unknown> {
  const p = (pick: (l: Load) => number, q: number): number => Math.round(percentile(loads.map(pick), q));
  const api: Record<string, number> = {};
  for (const key of Object.keys(loads[0]?.apiEndMs ?? {})) api[key] = p((l) => l.apiEndMs[key] ?? 0, 50);
  return {
    mode: name,
    loads: loads.length,
    ready_p50_ms: p((l) => l.readyMs, 50),
    ready_p95_ms: p((l) => l.readyMs, 95),
    ready_min_ms: p((l) => l.readyMs, 0),
    ready_max_ms: p((l) => l.readyMs, 100),
    dom_content_loaded_p50_ms: p((l) => l.domContentLoadedMs, 50),
    first_api_request_start_p50_ms: p((l) => l.apiFirstStartMs, 50),
    first_panel_ready_p50_ms: p((l) => l.firstPanelReadyMs, 50),
    last_api_response_end_p50_ms: p((l) => l.apiLastEndMs, 50),
    last_api_response_end_p95_ms: p((l) => l.apiLastEndMs, 95),
    render_after_last_api_p50_ms: p((l) => l.readyMs - l.apiLastEndMs, 50),
    cache_outcomes: loads.reduce(
      (s, l) => ({
        miss: s.miss + l.cache.miss,
        shared: s.shared + l.cache.shared,
        hit: s.hit + l.cache.hit,
      }),
      { miss: 0, shared: 0, hit: 0 },
    ),
    api_response_end_p50_ms: api,
  };
}

const browser = await chromium.launch(CHROMIUM_LAUNCH);
// With --compare-main, every cold and warm load of this build is followed by one of the other
// build (its modes get the suffix " (compare)"), so both see the same load on a shared machine.
const compareMain = f.get('compare-main');
const builds: Array<{ suffix: string; options: typeof spawnOptions & { main?: string } }> = [
  { suffix: '', options: spawnOptions },
  ...(compareMain ? [{ suffix: ' (compare)', options: { ...spawnOptions, main: compareMain } }] : []),
];
const results: Record<string, Load[]> = {};
const loadAverages: Record<string, { before: string; after: string }> = {};
/** loads that ended with a panel in error, per mode: counted and reported, not timed */
const failures: Record<string, string[]> = {};
const record = async (mode: string, d: SpawnedDashboard, i: number, n: number): Promise<void> => {
  let l: Load;
  try {
    l = await loadOnce(browser, d);
  } catch (err) {
    (failures[mode] ??= []).push(String(err));
    console.error(`${mode} ${i + 1}/${n}: FAILED ${String(err)} (load ${load()})`);
    return;
  }
  (results[mode] ??= []).push(l);
  console.error(
    `${mode} ${i + 1}/${n}: ${l.readyMs.toFixed(0)} ms (slowest ${l.slowestApi.path} ${l.slowestApi.ms} ms; miss ${l.cache.miss} shared ${l.cache.shared} hit ${l.cache.hit}; load ${load()})`,
  );
};
const phase = async (modes: string[], body: () => Promise<void>): Promise<void> => {
  const before = load();
  await body();
  for (const m of modes) loadAverages[m] = { before, after: load() };
};
try {
  await phase(
    builds.map((b) => `cold${b.suffix}`),
    async () => {
      for (let i = 0; i < coldRuns; i++)
        for (const b of builds) {
          // cold is the computation path: never a warmer (a build without one ignores DASH_WARM)
          const d = await startDashboard({ ...b.options, warm: false });
          try {
            await record(`cold${b.suffix}`, d, i, coldRuns);
          } finally {
            await d.stop();
          }
        }
    },
  );
  await phase(['started'], async () => {
    for (let i = 0; i < startedRuns; i++) {
      const d = await startDashboard({ ...spawnOptions, warm: true });
      try {
        await record('started', d, i, startedRuns);
      } finally {
        await d.stop();
      }
    }
  });
  if (warmRuns > 0)
    await phase(
      builds.map((b) => `warm${b.suffix}`),
      async () => {
        const running: SpawnedDashboard[] = [];
        try {
          for (const b of builds)
            running.push(await startDashboard({ ...b.options, ...(warm === undefined ? {} : { warm }) }));
          for (const [k, d] of running.entries()) {
            const w = await warmedUp(d.base);
            console.error(
              `build ${k}: ${w === null ? 'no warmer' : `warmer's first round done after ${w} ms`}`,
            );
            const prime = await loadOnce(browser, d);
            console.error(
              `build ${k} warm-up (untimed): ${prime.readyMs.toFixed(0)} ms, miss ${prime.cache.miss}`,
            );
          }
          for (let i = 0; i < warmRuns; i++)
            for (const [k, d] of running.entries())
              await record(`warm${builds[k]?.suffix ?? ''}`, d, i, warmRuns);
        } finally {
          for (const d of running) await d.stop();
        }
      },
    );
} finally {
  await browser.close();
}
console.error(
  `load average after the runs: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const out = Object.entries(results)
  .filter(([, loads]) => loads.length > 0)
  .map(([name, loads]) => ({
    ...summary(name, loads),
    failed_loads: failures[name]?.length ?? 0,
    load_average: loadAverages[name],
  }));
console.log(JSON.stringify(out, null, 2));
const json = f.get('json');
if (json) await writeFile(json, JSON.stringify({ summary: out, loads: results }, null, 2));
