/**
 * Dashboard API throughput with autocannon (its CLI through npx, not a dependency of the
 * repository), against a dashboard process of its own on loopback, as the analyst user.
 *
 *   npx tsx bench/dashboard/api-throughput.ts --clickhouse-url http://127.0.0.1:28135 \
 *     --db bench_dash_10m --mode warm|cold [--connections 32] [--duration 20] [--per-endpoint 0|N]
 *     [--main <another build's main.js>] [--user dashboard] [--api v1]
 *
 * - The request mix is the page's 14 API requests with its default controls (pageRequests in
 *   spawn.ts), given to autocannon as a HAR file: each connection cycles through them.
 * - warm: the service's default cache (DASH_CACHE_TTL_MS unset = 60 s), filled by one pass over
 *   the 14 requests before the run; the run is shorter than the TTL.
 * - cold: DASH_CACHE_TTL_MS=0, nothing is kept, so every answer is computed by ClickHouse.
 *   Requests for the same answer that arrive while it is being computed still share that one
 *   computation (the cache's in-flight de-duplication): the "shared" count says how many.
 * - --per-endpoint N: also N seconds of autocannon on each of the 14 requests alone (warm: the
 *   answer is fetched once before each run, which refills it if the TTL ran out; every run's
 *   cache outcomes are reported, so a miss shows).
 *
 * - --main runs another build (e.g. a worktree of the commit before a change), for before/after
 *   runs alternating on the same data; --user reads as another user than the analyst.
 *
 * Prints one JSON object: requests/s, latency percentiles, errors, the dashboard's cache
 * outcomes and the CPU the dashboard process used (% of one core).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { flags, num } from '@parsl-usage/kit/cli';
import { pidSample } from '@parsl-usage/kit/proc';
import { assertLoopback, cacheOutcomes, pageRequests, startDashboard } from './spawn.js';

const execFileP = promisify(execFile);
const f = flags(process.argv.slice(2));
const clickhouseUrl = f.get('clickhouse-url') ?? 'http://127.0.0.1:8123';
const database = f.get('db');
if (!database) throw new Error('--db is required (never the production database)');
const mode = f.get('mode') ?? 'warm';
if (mode !== 'warm' && mode !== 'cold') throw new Error('--mode is warm or cold');
const connections = num(f, 'connections', 32);
const duration = num(f, 'duration', 20);
const perEndpoint = num(f, 'per-endpoint', 0);
const main = f.get('main');
const user = f.get('user');
// --api v1: the same 14 requests through the public API (/api/v1, ETag and rate limit included)
const api = f.get('api') === 'v1' ? 'v1' : 'panel';
if (mode === 'warm' && Math.max(duration, perEndpoint) >= 55)
  throw new Error('warm runs must stay inside the 60 s cache TTL');
assertLoopback(clickhouseUrl);

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  throughput: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}

async function autocannon(args: string[]): Promise<AutocannonResult> {
  const { stdout } = await execFileP(
    'npx',
    ['--yes', 'autocannon@7', '-j', '-n', '-c', String(connections), '-t', '60', ...args],
    { maxBuffer: 64 * 2 ** 20 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as AutocannonResult;
}

function brief(r: AutocannonResult): Record<string, number> {
  return {
    requests_per_s: Math.round(r.requests.total / r.duration),
    requests: r.requests.total,
    latency_p50_ms: r.latency.p50,
    latency_p90_ms: r.latency.p90,
    latency_p99_ms: r.latency.p99,
    latency_max_ms: r.latency.max,
    mib_per_s: Number((r.throughput.average / 2 ** 20).toFixed(1)),
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
  };
}

const d = await startDashboard({
  clickhouseUrl,
  database,
  ...(mode === 'cold' ? { cacheTtlMs: 0 } : {}),
  ...(main ? { main } : {}),
  ...(user ? { user, password: `${user}-dev-password` } : {}),
  // The limiter's own cost is measured; its limit (per client address) is lifted out of the way.
  ...(api === 'v1' ? { apiRatePerMinute: 1_000_000 } : {}),
});
const dir = await mkdtemp(join(tmpdir(), 'dash-bench-'));
try {
  const paths = pageRequests(new Date(), api);
  const har = join(dir, 'page.har');
  await writeFile(
    har,
    JSON.stringify({
      log: {
        entries: paths.map((p) => ({
          request: { method: 'GET', url: d.base + p, headers: [], httpVersion: 'HTTP/1.1' },
        })),
      },
    }),
  );
  if (mode === 'warm') {
    const t0 = performance.now();
    for (const p of paths) {
      const res = await fetch(d.base + p);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${p}: ${res.status}`);
    }
    console.error(`cache filled in ${(performance.now() - t0).toFixed(0)} ms`);
  }
  const c0 = await cacheOutcomes(d.base);
  const cpu0 = await pidSample(d.pid);
  const mix = await autocannon(['-d', String(duration), '--har', har, d.base]);
  const cpu1 = await pidSample(d.pid);
  const c1 = await cacheOutcomes(d.base);
  const endpoints: Record<string, Record<string, number>> = {};
  if (perEndpoint > 0) {
    for (const p of paths) {
      // warm: refills the answer if the 60 s TTL ran out since the cache was filled
      if (mode === 'warm') await (await fetch(d.base + p)).arrayBuffer();
      const e0 = await cacheOutcomes(d.base);
      const r = brief(await autocannon(['-d', String(perEndpoint), d.base + p]));
      const e1 = await cacheOutcomes(d.base);
      endpoints[p.replace(/\?.*dimension=/, ':').replace(/\?.*/, '')] = {
        ...r,
        cache_miss: e1.miss - e0.miss,
        cache_shared: e1.shared - e0.shared,
        cache_hit: e1.hit - e0.hit,
      };
      console.error(`done ${p}`);
    }
  }
  console.log(
    JSON.stringify(
      {
        mode,
        main: main ?? 'services/dashboard/dist/main.js',
        cache_ttl_ms: mode === 'cold' ? 0 : 'default (60000)',
        connections,
        duration_s: duration,
        request_mix: paths,
        mix: brief(mix),
        dashboard_cpu_pct_of_one_core:
          cpu0 && cpu1 ? Math.round((100 * (cpu1.cpuS - cpu0.cpuS)) / mix.duration) : null,
        dashboard_rss_mib: cpu1 ? Math.round(cpu1.rssMiB) : null,
        cache_outcomes: { miss: c1.miss - c0.miss, shared: c1.shared - c0.shared, hit: c1.hit - c0.hit },
        ...(perEndpoint > 0 ? { per_endpoint_s: perEndpoint, endpoints } : {}),
      },
      null,
      2,
    ),
  );
} finally {
  await d.stop();
  await rm(dir, { recursive: true, force: true });
}
