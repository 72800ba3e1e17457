/**
 * Real Prometheus and Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`, which
 * infra/scripts/setup-host.sh installs) as child processes, configured from the files that ship
 * in infra/, and an HTTP receiver that records every notification Alertmanager posts.
 *
 * Only timings change for the tests: the rules' `for:` durations and Alertmanager's grouping
 * delays, so that an alert reaches the receiver in seconds. Expressions, labels and annotations
 * are the shipped ones (renderTestRules checks that nothing else moved).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freeTcpPort } from '@parsl-usage/kit/processes';
import { REPO_ROOT, eventually } from '../setup/env.js';

export const PROMETHEUS_DIR = join(REPO_ROOT, 'infra/prometheus');
export const ALERTMANAGER_DIR = join(REPO_ROOT, 'infra/alertmanager');

const FOR_LINE = /^(\s+)for: \S+$/gm;

/**
 * The shipped alerting rules with every `for:` set to `forSeconds`; throws if anything other than
 * those lines differs, so the test copy can never drift from what operators load.
 */
export function renderTestRules(forSeconds: number): string {
  const shipped = readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8');
  const copy = shipped.replace(FOR_LINE, `$1for: ${forSeconds}s`);
  if (copy.replace(FOR_LINE, '') !== shipped.replace(FOR_LINE, '')) throw new Error('rules drifted');
  return copy;
}

/**
 * infra/alertmanager/alertmanager.yml as start.sh renders it (the webhook URL filled in), with
 * the grouping delays shortened: group_wait and group_interval in seconds.
 */
export function renderTestAlertmanager(webhookUrl: string, delaySeconds: number): string {
  const template = readFileSync(join(ALERTMANAGER_DIR, 'alertmanager.yml'), 'utf8');
  const out = template
    .replaceAll('__ALERT_WEBHOOK_URL__', webhookUrl)
    .replace(/^(\s+)group_wait: \S+$/m, `$1group_wait: ${delaySeconds}s`)
    .replace(/^(\s+)group_interval: \S+$/m, `$1group_interval: ${delaySeconds}s`);
  if (out.includes('__') || !out.includes(`group_wait: ${delaySeconds}s`)) {
    throw new Error('alertmanager.yml template changed: update renderTestAlertmanager');
  }
  return out;
}

/** One alert of an Alertmanager webhook notification (its JSON payload, version 4). */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

export interface Notification {
  /** ms since the epoch, when the receiver got it */
  receivedAt: number;
  status: 'firing' | 'resolved';
  alerts: NotifiedAlert[];
}

/** The person at the end of the line: an HTTP endpoint that records what Alertmanager posts. */
export interface Receiver {
  url: string;
  notifications: Notification[];
  /** Waits for an alert matching `match`, received at or after `since` (ms); returns it and when. */
  waitFor(
    what: string,
    match: (a: NotifiedAlert) => boolean,
    since: number,
    timeoutMs: number,
  ): Promise<{ alert: NotifiedAlert; receivedAt: number }>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const notifications: Notification[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Notification, 'receivedAt'>;
        notifications.push({ receivedAt: Date.now(), status: body.status, alerts: body.alerts });
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('receiver has no port');
  const find = (match: (a: NotifiedAlert) => boolean, since: number) => {
    for (const n of notifications) {
      if (n.receivedAt < since) continue;
      const alert = n.alerts.find(match);
      if (alert) return { alert, receivedAt: n.receivedAt };
    }
    return undefined;
  };
  return {
    url: `http://127.0.0.1:${address.port}/alerts`,
    notifications,
    waitFor: (what, match, since, timeoutMs) =>
      eventually(() => find(match, since), {
        timeoutMs,
        intervalMs: 100,
        what: `${what}; received so far: ${JSON.stringify(
          notifications.map((n) => n.alerts.map((a) => `${a.labels.alertname}:${a.status}`)),
        )}`,
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A server process of the monitoring stack; `stop` sends SIGTERM and waits for the exit. */
export interface MonitoringProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

async function startServer(
  name: string,
  command: string,
  args: (port: number) => string[],
): Promise<MonitoringProcess> {
  const port = await freeTcpPort();
  const child = spawn(command, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${out.slice(-2_000)}`);
      return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `${name} ready (${out.slice(-1_000)})` },
  );
  return {
    url,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function startAlertmanager(configFile: string, dataDir: string): Promise<MonitoringProcess> {
  return startServer('alertmanager', 'prometheus-alertmanager', (port) => [
    `--config.file=${configFile}`,
    `--storage.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // A single instance: no gossip port (it would take 9094 from whatever else runs here).
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
}

export function startPrometheus(configFile: string, dataDir: string): Promise<MonitoringProcess> {
  return startServer('prometheus', 'prometheus', (port) => [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
}

/**
 * A Prometheus configuration (JSON is YAML) with the shipped job names, so that the rules'
 * `job` matchers hold: targets by job, rules files, and the Alertmanager to notify.
 */
export function writePrometheusConfig(
  file: string,
  o: {
    intervalSeconds: number;
    ruleFiles: string[];
    alertmanager: string;
    targets: Record<'parsl-usage-relay' | 'parsl-usage-aggregator' | 'parsl-usage-dashboard', string[]>;
  },
): void {
  const interval = `${o.intervalSeconds}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: o.ruleFiles,
    alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(o.alertmanager).host] }] }] },
    scrape_configs: Object.entries(o.targets).map(([job, targets]) => ({
      job_name: job,
      static_configs: [{ targets }],
    })),
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
}

/** An instant query against Prometheus's HTTP API: the parse error or the series. */
export async function promQuery(
  prometheus: string,
  expr: string,
): Promise<
  | { ok: true; series: Array<{ metric: Record<string, string>; value: [number, string] }> }
  | { ok: false; error: string }
> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success') return { ok: false, error: body.error ?? `HTTP ${res.status}` };
  if (body.data?.resultType !== 'vector') return { ok: false, error: `result type ${body.data?.resultType}` };
  return { ok: true, series: body.data.result };
}
