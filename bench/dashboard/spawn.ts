/**
 * The dashboard as its own node process (services/dashboard/dist/main.js, as in production),
 * configured only through DASH_* variables, on loopback, as the read-only analyst user.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freeTcpPort, ROOT, sleep } from '@parsl-usage/kit/proc';

export interface DashboardOptions {
  clickhouseUrl: string;
  database: string;
  /** DASH_CACHE_TTL_MS; undefined = the service's default (60 s) */
  cacheTtlMs?: number;
  port?: number;
  user?: string;
  password?: string;
  /** DASH_WARM; undefined = the service's default (on) */
  warm?: boolean;
  /** the entry point, from the repository root (another build to compare with) */
  main?: string;
  /** DASH_API_RATE_PER_MINUTE: one load generator on loopback is one client to the limiter */
  apiRatePerMinute?: number;
}

export interface SpawnedDashboard {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

/** Which loopback addresses we allow: everything this benchmark talks to must be local. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host))
    throw new Error(`only loopback addresses, got ${url}`);
}

export async function startDashboard(o: DashboardOptions): Promise<SpawnedDashboard> {
  assertLoopback(o.clickhouseUrl);
  const port = o.port ?? (await freeTcpPort());
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DASH_CLICKHOUSE_URL: o.clickhouseUrl,
    DASH_CLICKHOUSE_USER: o.user ?? 'analyst',
    DASH_CLICKHOUSE_PASSWORD: o.password ?? 'analyst-dev-password',
    DASH_CLICKHOUSE_DATABASE: o.database,
    DASH_HTTP_HOST: '127.0.0.1',
    DASH_HTTP_PORT: String(port),
    LOG_LEVEL: 'warn',
  };
  if (o.cacheTtlMs !== undefined) env.DASH_CACHE_TTL_MS = String(o.cacheTtlMs);
  if (o.warm !== undefined) env.DASH_WARM = String(o.warm);
  if (o.apiRatePerMinute !== undefined) env.DASH_API_RATE_PER_MINUTE = String(o.apiRatePerMinute);
  const child = spawn(process.execPath, [o.main ?? 'services/dashboard/dist/main.js'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = once(child, 'exit');
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dashboard exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('dashboard did not become healthy in 20 s');
    }
    await sleep(50);
  }
  return {
    base,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The dashboard's cache outcomes so far (from /metrics). */
/**
 * Waits until the dashboard's warmer has finished `rounds` rounds (its /healthz says): ms waited,
 * or null for a dashboard without a warmer (DASH_WARM=false, or a build from before it).
 */
export async function warmedUp(base: string, rounds = 1, timeoutMs = 120_000): Promise<number | null> {
  const t0 = Date.now();
  for (;;) {
    const body = (await (await fetch(`${base}/healthz`)).json()) as { warmer?: { rounds: number } | null };
    if (!body.warmer) return null;
    if (body.warmer.rounds >= rounds) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`no warm-up round in ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function cacheOutcomes(base: string): Promise<Record<'miss' | 'shared' | 'hit', number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const get = (o: string): number =>
    Number(
      new RegExp(`^dashboard_cache_requests_total\\{outcome="${o}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0,
    );
  return { miss: get('miss'), shared: get('shared'), hit: get('hit') };
}

/**
 * The 14 API requests the page makes on first load with its default controls (last 365 days
 * ending today in UTC, per week, top 8), in the order of the page's panels.
 */
/** The API requests the page makes for one range (`from=...&to=...`). */
export function pagePaths(range: string): string[] {
  const r = range;
  return [
    `/api/headline?${r}`,
    `/api/release-health?${r}`,
    `/api/workflows?${r}&granularity=week`,
    ...['python_minor', 'parsl_version', 'platform', 'executor', 'provider', 'launcher'].map(
      (d) => `/api/dimension?${r}&granularity=week&top=8&dimension=${d}`,
    ),
    `/api/apps?${r}&granularity=week`,
    `/api/exec-time?${r}`,
    `/api/install-age?${r}`,
    `/api/adoption?${r}&granularity=week&top=8`,
    `/api/leaderboard?${r}&top=8`,
  ];
}

/** The same 14 requests through the public API (/api/v1), as the page now sends them. */
export function pageV1Paths(range: string): string[] {
  const r = range;
  const ranked = ['/versions/python', '/versions/parsl', '/platforms'];
  const components = ['/components/executors', '/components/providers', '/components/launchers'];
  return [
    `/api/v1/headline?${r}`,
    `/api/v1/release-health?${r}`,
    `/api/v1/workflows?${r}&granularity=week`,
    ...[...ranked, ...components].map((p) => `/api/v1${p}?${r}&granularity=week&top=8`),
    `/api/v1/apps?${r}&granularity=week`,
    `/api/v1/execution-time?${r}`,
    `/api/v1/install-age?${r}`,
    `/api/v1/release-adoption?${r}&granularity=week&top=8`,
    `/api/v1/leaderboard?${r}&top=8`,
  ];
}

export function pageRequests(today = new Date(), api: 'panel' | 'v1' = 'panel'): string[] {
  const iso = (d: Date): string => d.toISOString().slice(0, 10);
  const to = iso(today);
  const from = iso(new Date(Date.parse(`${to}T00:00:00Z`) - 364 * 86_400_000));
  const range = `from=${from}&to=${to}`;
  return api === 'v1' ? pageV1Paths(range) : pagePaths(range);
}
