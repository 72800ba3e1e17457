/**
 * Alerts that reach a person (issue 27), on real servers: the relay, the aggregator and the
 * dashboard as the processes production runs, against the harness's Kafka and ClickHouse;
 * Prometheus and Alertmanager from Debian's packages, loaded with the shipped rules
 * (infra/prometheus/alerts.yml, only `for:` shortened) and the shipped Alertmanager
 * configuration (infra/alertmanager/alertmanager.yml, only its grouping delays shortened);
 * and an HTTP receiver here that records what Alertmanager posts. Each case makes a fault and
 * waits for its alert at the receiver, and prints how long that took.
 *
 * Also: every PromQL expression of the operator's Grafana dashboard
 * (infra/grafana/pipeline-dashboard.json) is sent to this Prometheus once the pipeline has
 * traffic, and must parse and return series.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freeTcpPort,
  freeUdpPort,
  sendUdp,
  spawnService,
  type ServiceProcess,
} from '@parsl-usage/kit/processes';
import { addDays } from '@parsl-usage/dashboard/internal/dates';
import {
  REPO_ROOT,
  clickhouse,
  clickhouseUrl,
  eventually,
  freshDatabase,
  freshName,
  freshTopics,
  kafkaBrokers,
} from './setup/env.js';
import { FROM, SILENT_FROM, fixture, insertHistory } from './dashboard-support.js';
import {
  PROMETHEUS_DIR,
  promQuery,
  renderTestAlertmanager,
  renderTestRules,
  startAlertmanager,
  startPrometheus,
  startReceiver,
  writePrometheusConfig,
  type MonitoringProcess,
  type NotifiedAlert,
  type Receiver,
} from './support/monitoring.js';
import { aggregatorEnv, relayEnv } from './support/pipeline.js';
import { POISON_PROJECT } from './support/refusing-decode.js';

/** Prometheus scrapes and evaluates every second; each rule's `for:` becomes this. */
const INTERVAL_S = 1;
const FOR_S = 5;
/** Alertmanager's group_wait and group_interval. */
const GROUPING_S = 1;
/** Upper bound for one alert from fault to receiver: for + scrape + evaluation + grouping, with room for a loaded 2-core machine. */
const ALERT_TIMEOUT_MS = 60_000;

const launch = (o: { level: 1 | 3; project?: string; correlator?: string }): Buffer =>
  Buffer.from(
    '1' +
      JSON.stringify({
        correlator: o.correlator ?? randomUUID(),
        parsl_v: '2025.03.17',
        python_v: '3.12.2',
        'platform.system': 'Linux',
        tracking_level: o.level,
        ...(o.project ? { project_name: o.project } : {}),
        start: Math.floor(Date.now() / 1000),
      }),
  );
const closure = (correlator: string): Buffer =>
  Buffer.from('1' + JSON.stringify({ correlator, end: Math.floor(Date.now() / 1000), execution_time: 1 }));

/** Fault-to-receiver latencies, printed at the end. */
const latencies: Array<{ alert: string; ms: number }> = [];
const record = (alert: string, faultAt: number, receivedAt: number): void => {
  latencies.push({ alert, ms: receivedAt - faultAt });
  console.log(`alert latency: ${alert} reached the receiver ${receivedAt - faultAt} ms after the fault`);
};

/** What every alert must carry to be actionable: a summary and a runbook link that resolves. */
function expectActionable(a: NotifiedAlert): void {
  expect(a.annotations.summary?.length ?? 0).toBeGreaterThan(20);
  expect(a.annotations.description?.length ?? 0).toBeGreaterThan(20);
  const runbook = a.annotations.runbook_url ?? '';
  expect(runbook).toBe(`docs/OPERATIONS.md#${(a.labels.alertname ?? '?').toLowerCase()}`);
  const operations = readFileSync(join(REPO_ROOT, 'docs/OPERATIONS.md'), 'utf8');
  // GitHub's anchor of a heading `### AggregatorDown` is `#aggregatordown`.
  expect(operations).toMatch(new RegExp(`^### ${a.labels.alertname}$`, 'm'));
}

describe('alerts reach a person: pipeline, Prometheus, Alertmanager, receiver', () => {
  const work = mkdtempSync(join(tmpdir(), 'alerts-e2e-'));
  const admin = clickhouse('admin');
  const procs: ServiceProcess[] = [];
  const monitoring: MonitoringProcess[] = [];
  let receiver: Receiver;
  let prometheus: MonitoringProcess;
  let database: string;
  let udpPort: number;
  let aggEnv: Record<string, string>;
  let aggInstance: string;
  let aggregator: ServiceProcess;
  let traffic: NodeJS.Timeout | undefined;
  let sent = 0;
  let dashboardStartedAt = 0;

  const sendSome = async (): Promise<void> => {
    const c = randomUUID();
    await sendUdp(udpPort, [launch({ level: 1 }), launch({ level: 3, correlator: c }), closure(c)]);
    sent += 2;
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    const topics = await freshTopics(3);
    database = await freshDatabase('alerts');
    const refusingDb = await freshDatabase('alerts_refusing');
    // The dashboard judges its own history: 100 days of weekly releases, the last ones silent.
    const historyDb = await freshDatabase('alerts_history');
    await insertHistory(admin, historyDb, fixture());

    udpPort = await freeUdpPort();
    const ports = {
      relay: await freeTcpPort(),
      agg: await freeTcpPort(),
      refusing: await freeTcpPort(),
      dash: await freeTcpPort(),
    };
    const spoolDir = join(work, 'spool');
    procs.push(spawnService('relay', relayEnv({ udpPort, httpPort: ports.relay, topics, spoolDir })));
    aggEnv = aggregatorEnv({ httpPort: ports.agg, topics, database });
    aggregator = spawnService('aggregator', aggEnv);
    procs.push(aggregator);
    aggInstance = `127.0.0.1:${ports.agg}`;
    // A second consumer of the same raw topic (its own group, database and rejected topic) with
    // a decoder that lets through rows ClickHouse refuses (refusing-decode.ts).
    const refusing = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/refusing-aggregator-main.ts'],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: kafkaBrokers().join(','),
          CLICKHOUSE_URL: clickhouseUrl(),
          DATABASE: refusingDb,
          RAW_TOPIC: topics.raw,
          REJECTED_TOPIC: (await freshTopics(1)).rejected,
          GROUP_ID: freshName('refusing'),
          HTTP_PORT: String(ports.refusing),
          LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      },
    );
    procs.push({
      child: refusing,
      output: () => '',
      stop: async () => {
        if (refusing.exitCode === null) refusing.kill('SIGTERM');
        return new Promise((resolve) => refusing.once('exit', resolve));
      },
    });
    procs.push(
      spawnService('dashboard', {
        DASH_CLICKHOUSE_URL: clickhouseUrl(),
        DASH_CLICKHOUSE_USER: 'admin',
        DASH_CLICKHOUSE_PASSWORD: 'admin-dev-password',
        DASH_CLICKHOUSE_DATABASE: historyDb,
        DASH_HTTP_PORT: String(ports.dash),
        DASH_WARM: 'false',
      }),
    );
    dashboardStartedAt = Date.now();

    const rulesFile = join(work, 'alerts.yml');
    writeFileSync(rulesFile, renderTestRules(FOR_S));
    const amConfig = join(work, 'alertmanager.yml');
    writeFileSync(amConfig, renderTestAlertmanager(receiver.url, GROUPING_S));
    mkdirSync(join(work, 'am-data'));
    const alertmanager = await startAlertmanager(amConfig, join(work, 'am-data'));
    monitoring.push(alertmanager);
    const promConfig = join(work, 'prometheus.yml');
    writePrometheusConfig(promConfig, {
      intervalSeconds: INTERVAL_S,
      ruleFiles: [rulesFile, join(PROMETHEUS_DIR, 'recording.yml')],
      alertmanager: alertmanager.url,
      targets: {
        'parsl-usage-relay': [`127.0.0.1:${ports.relay}`],
        'parsl-usage-aggregator': [aggInstance, `127.0.0.1:${ports.refusing}`],
        'parsl-usage-dashboard': [`127.0.0.1:${ports.dash}`],
      },
    });
    prometheus = await startPrometheus(promConfig, join(work, 'prom-data'));
    monitoring.push(prometheus);

    // Traffic for the whole file: a level-1 run and a level-3 run with its closure every 500 ms.
    await eventually(
      async () => {
        await sendSome();
        const r = await promQuery(prometheus.url, 'sum(aggregator_messages_total) > 0');
        return r.ok && r.series.length > 0 ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1_000, what: 'datagrams consumed, as Prometheus sees it' },
    );
    traffic = setInterval(() => void sendSome().catch(() => {}), 500);
  });

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await Promise.all(monitoring.map((m) => m.stop()));
    await Promise.all(procs.map((p) => p.stop()));
    await receiver?.close();
    await admin.close();
    if (latencies.length > 0) {
      console.log(
        'alert latencies (fault to receiver):\n' +
          latencies.map((l) => `  ${l.alert.padEnd(40)} ${(l.ms / 1000).toFixed(1)} s`).join('\n'),
      );
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('a release silent in the data: ParslReleaseSilent arrives, naming the release', async () => {
    // The fixture releases weekly from 84 days before its first day; the first one due on or
    // after SILENT_FROM never sends (dashboard-api.test.ts checks the panel flags exactly it).
    let due = addDays(FROM, -84);
    while (due < SILENT_FROM) due = addDays(due, 7);
    const release = due.replaceAll('-', '.');
    const { alert, receivedAt } = await receiver.waitFor(
      `ParslReleaseSilent for ${release}`,
      (a) =>
        a.labels.alertname === 'ParslReleaseSilent' && a.status === 'firing' && a.labels.release === release,
      0,
      ALERT_TIMEOUT_MS,
    );
    record('ParslReleaseSilent (from dashboard start)', dashboardStartedAt, receivedAt);
    expect(alert.labels).toMatchObject({ severity: 'warning', status: 'missing' });
    expect(alert.annotations.summary).toContain(release);
    expectActionable(alert);
  });

  it('a row ClickHouse refuses: RowsRefusedByClickHouse arrives', async () => {
    const faultAt = Date.now();
    await sendUdp(udpPort, [launch({ level: 1, project: `${POISON_PROJECT}-${randomUUID()}` })]);
    const { alert, receivedAt } = await receiver.waitFor(
      'RowsRefusedByClickHouse',
      (a) => a.labels.alertname === 'RowsRefusedByClickHouse' && a.status === 'firing',
      faultAt,
      ALERT_TIMEOUT_MS,
    );
    record('RowsRefusedByClickHouse', faultAt, receivedAt);
    expect(alert.labels.severity).toBe('warning');
    expectActionable(alert);
  });

  it('the aggregator stopped while datagrams arrive: AggregatorDown arrives, and resolves once it is back', async () => {
    const before = await countWorkflows();
    const faultAt = Date.now();
    expect(await aggregator.stop()).toBe(0);
    const sentBefore = sent;
    const isDown = (a: NotifiedAlert): boolean =>
      a.labels.alertname === 'AggregatorDown' && a.labels.instance === aggInstance;
    const fired = await receiver.waitFor(
      'AggregatorDown firing',
      (a) => isDown(a) && a.status === 'firing',
      faultAt,
      ALERT_TIMEOUT_MS,
    );
    record('AggregatorDown', faultAt, fired.receivedAt);
    expect(fired.alert.labels).toMatchObject({ severity: 'critical', job: 'parsl-usage-aggregator' });
    expectActionable(fired.alert);
    expect(sent).toBeGreaterThan(sentBefore); // datagrams kept arriving during the outage

    const backAt = Date.now();
    aggregator = spawnService('aggregator', aggEnv);
    procs.push(aggregator);
    const resolved = await receiver.waitFor(
      'AggregatorDown resolved',
      (a) => isDown(a) && a.status === 'resolved',
      backAt,
      ALERT_TIMEOUT_MS,
    );
    record('AggregatorDown resolved (from restart)', backAt, resolved.receivedAt);
    // What arrived while it was away is in ClickHouse now: the outage cost no datagram.
    const sentByNow = sent;
    await eventually(
      async () => ((await countWorkflows()) >= before + sentByNow - sentBefore ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 1_000,
        what: 'the datagrams of the outage in ClickHouse',
      },
    );
  });

  it("every expression of the operator's Grafana dashboard parses and returns series", async () => {
    const board = JSON.parse(
      readFileSync(join(REPO_ROOT, 'infra/grafana/pipeline-dashboard.json'), 'utf8'),
    ) as {
      panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
    };
    const targets = board.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    );
    expect(targets.length).toBeGreaterThanOrEqual(12);
    // Grafana's own variable: the range a rate() needs, at least four scrape intervals.
    const toPromQL = (expr: string): string => expr.replaceAll('$__rate_interval', '30s');
    const failures: string[] = [];
    await eventually(
      async () => {
        failures.length = 0;
        for (const t of targets) {
          const r = await promQuery(prometheus.url, toPromQL(t.expr));
          if (!r.ok) failures.push(`${t.panel}: ${t.expr}: ${r.error}`);
          else if (r.series.length === 0) failures.push(`${t.panel}: ${t.expr}: no series`);
        }
        return failures.length === 0 ? true : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 2_000, what: 'every panel with series' },
    ).catch(() => undefined);
    expect(failures).toEqual([]);

    // A panel may fall back to 0 (`or vector(0)`) for a counter no fault has created yet: the
    // names it reads must still be ones a service exposes, so a typo cannot hide behind the 0.
    const names = (await (await fetch(`${prometheus.url}/api/v1/label/__name__/values`)).json()) as {
      data: string[];
    };
    const exposed = new Set(names.data);
    const sources = ['relay', 'aggregator', 'dashboard', 'common']
      .flatMap((s) =>
        // Recursive: a service's modules sit in folders by concern (services/aggregator/src/*/).
        readdirSync(join(REPO_ROOT, 'services', s, 'src'), { recursive: true, encoding: 'utf8' }).map((f) =>
          join(REPO_ROOT, 'services', s, 'src', f),
        ),
      )
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unknown = targets
      .flatMap((t) =>
        [...t.expr.matchAll(/\b((?:relay|aggregator|dashboard|process|nodejs)_[a-z0-9_]+)/g)].map(
          (m) => m[1] ?? '',
        ),
      )
      .filter((n) => !exposed.has(n) && !sources.includes(`'${n.replace(/_(bucket|sum|count)$/, '')}'`));
    expect(unknown).toEqual([]);
  });

  async function countWorkflows(): Promise<number> {
    const r = await admin.query({
      query: `SELECT count() AS n FROM ${database}.workflow_versions FINAL`,
      format: 'JSONEachRow',
    });
    const [row] = await r.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }
});
