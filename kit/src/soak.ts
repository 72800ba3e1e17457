/**
 * One soak run: generator → relay (process) → Kafka → aggregator (process) → ClickHouse, with
 * optional faults on a schedule, then a drain and an exact comparison with the ledger.
 * Used by bench/e2e (the long soak), bench/chaos (faults) and the short CI tests.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { newLedger, runGenerator, type Ledger } from './generator.js';
import {
  containerPid,
  freeTcpPort,
  freeUdpPort,
  metricSum,
  pidSample,
  processTree,
  ResourceMeter,
  ROOT,
  scrape,
  Service,
  sleep,
  udpCounters,
} from './proc.js';
import { quoteString } from '@parsl-usage/common';
import {
  chRows,
  compare,
  doubleCounts,
  factsTable,
  insertLagSeconds,
  quantile,
  readTopics,
  rollupTotals,
  workflowStatuses,
  type ClickHouseAccess,
  type Comparison,
  type Totals,
} from './verify.js';

export interface FaultContext {
  relay: RelayHandle;
  aggregators: Service[];
  containers: { kafka?: string; clickhouse?: string };
  brokers: string[];
  clickhouseUrl: string;
  log: (msg: string) => void;
}

export interface FaultRecord {
  name: string;
  startedAt: number;
  recoveredAt: number;
  note?: string;
}

export interface Fault {
  name: string;
  /** ms after the generator starts */
  atMs: number;
  run: (ctx: FaultContext) => Promise<FaultRecord | FaultRecord[]>;
}

export interface SoakOptions {
  label: string;
  brokers: string[];
  clickhouseUrl: string;
  clickhouseUser?: string;
  clickhousePassword?: string;
  rate: number;
  durationMs: number;
  partitions?: number;
  relayWorkers?: number;
  aggregators?: number;
  relayEnv?: Record<string, string>;
  aggregatorEnv?: Record<string, string>;
  floodRate?: number;
  faults?: Fault[];
  containers?: { kafka?: string; clickhouse?: string };
  drainTimeoutMs?: number;
  /** Also fail unless the raw topic holds exactly the datagrams the relay accepted, none twice. */
  exactlyOnceIntoTopic?: boolean;
  log?: (msg: string) => void;
  /** where logs and spools go (a fresh temp dir by default) */
  workDir?: string;
}

/** The relay role: its counters survive restarts because they are scraped before every stop. */
export class RelayHandle {
  readonly totals = new Map<string, number>();
  constructor(
    readonly service: Service,
    readonly httpPort: number,
    readonly workers: number,
  ) {}

  async metrics(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let w = 0; w < this.workers; w++) {
      for (const [k, v] of await scrape(this.httpPort + w)) out.set(k, (out.get(k) ?? 0) + v);
    }
    return out;
  }

  /** Counters of the current process added to those of earlier ones. */
  async counters(): Promise<Map<string, number>> {
    const out = new Map(this.totals);
    try {
      for (const [k, v] of await this.metrics()) if (!isGauge(k)) out.set(k, (out.get(k) ?? 0) + v);
    } catch {
      // relay down: the totals so far are all there is
    }
    return out;
  }

  /** Scrape, then stop: the counters of this lifetime are kept. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    try {
      for (const [k, v] of await this.metrics())
        if (!isGauge(k)) this.totals.set(k, (this.totals.get(k) ?? 0) + v);
    } catch {
      // already down
    }
    await this.service.stop(signal);
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`http://127.0.0.1:${this.httpPort}/healthz`, {
          signal: AbortSignal.timeout(1_000),
        });
        if (r.ok) return;
      } catch {
        // not yet
      }
      await sleep(100);
    }
    throw new Error(`relay not healthy after ${timeoutMs} ms: ${this.service.output().slice(-800)}`);
  }
}

/**
 * An aggregator's counters (`*_total`) over the whole run, scraped from its /metrics. A restarted
 * aggregator counts from zero again, so the last scrape of each lifetime is kept and added to
 * the next; what a lifetime counted after its last scrape (one sampling interval, 1 s, at most)
 * is lost when it dies unasked.
 */
class AggregatorCounters {
  private readonly earlier = new Map<string, number>();
  private current = new Map<string, number>();
  private lifetime = 0;

  constructor(private readonly service: Service) {}

  async sample(): Promise<void> {
    const starts = this.service.starts;
    if (starts !== this.lifetime) {
      for (const [k, v] of this.current) this.earlier.set(k, (this.earlier.get(k) ?? 0) + v);
      this.current = new Map();
      this.lifetime = starts;
    }
    if (!this.service.running) return;
    let m: Map<string, number>;
    try {
      m = await scrape(Number(this.service.opts.env.AGG_HTTP_PORT));
    } catch {
      return; // starting or stopping: the next sample
    }
    // A restart during the scrape: the reading may be of either lifetime, so it is dropped.
    if (this.service.starts !== starts) return;
    this.current = new Map([...m].filter(([k]) => /^\w+_total(\{|$)/.test(k)));
  }

  totals(into: Map<string, number>): void {
    for (const src of [this.earlier, this.current])
      for (const [k, v] of src) into.set(k, (into.get(k) ?? 0) + v);
  }
}

const isGauge = (k: string): boolean =>
  k.startsWith('relay_spool_bytes') ||
  k.startsWith('relay_pending_batches') ||
  k.includes('_bucket') ||
  k.includes('latency');

export interface ProbeStats {
  sent: number;
  seen: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** [sentAt, freshness ms or null when never seen] */
  timeline: Array<[number, number | null]>;
}

export interface RoleStats {
  cpuS: number;
  cpuPctOfCore: number;
  meanRssMiB: number;
  peakRssMiB: number;
  starts?: number;
}

export interface SoakResult {
  label: string;
  options: {
    rate: number;
    durationS: number;
    partitions: number;
    relayWorkers: number;
    aggregators: number;
    floodRate: number;
  };
  database: string;
  topics: { raw: string; rejected: string };
  wallS: number;
  ledger: Ledger['sent'] & { workflows: number };
  garbageExpected: Record<string, number>;
  kernel: { inDatagrams: number; rcvbufErrors: number; inErrors: number; noPorts: number };
  relay: {
    received: number;
    accepted: number;
    rejectedByReason: Record<string, number>;
    rateLimited: number;
    published: Record<string, number>;
    spooled: number;
    /** spooled after an uncertain publish, then found in the topic by the read-back */
    alreadyInKafka: number;
    droppedByReason: Record<string, number>;
  };
  kafka: {
    rawMessages: number;
    rawByNs: Record<string, number>;
    rejectedByStageReason: Record<string, number>;
  };
  drained: boolean;
  drainS: number;
  vsReceived: Comparison;
  vsSent: Comparison;
  stored: { workflows: number; byStatus: Record<string, number> };
  doubleCounts: { over: number; under: number; changeRows: number };
  rollup: Totals;
  flood: { sent: number; inKafka: number; inClickHouse: number };
  freshness: ProbeStats;
  insertLagS: number[];
  faults: Array<
    FaultRecord & {
      recoveryToSubSecondLagS: number | null;
      recoveryToBaselineS: number | null;
      maxLagMs: number | null;
      probesLost: number;
    }
  >;
  /** p95 probe lag before the first fault (the whole run when there is none), ms */
  baselineLagP95Ms: number;
  resources: Record<string, RoleStats>;
  /**
   * The aggregators' counters (`name{labels}` -> value, every `*_total` series) summed over every
   * aggregator and every lifetime (AggregatorCounters), read after the drain
   */
  aggregatorCounters: Record<string, number>;
  /** lost after receipt: relay drops + accepted-not-in-Kafka + Kafka-not-in-ClickHouse */
  lostAfterReceipt: { relayDropped: number; kafkaToClickHouse: number; note: string };
  pass: boolean;
  failures: string[];
}

function freshName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(16).slice(2, 8)}`;
}

async function migrate(opts: {
  brokers: string[];
  ch: ClickHouseAccess;
  topics: { raw: string; rejected: string };
  partitions: number;
}): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['services/ops/dist/migrate-cli.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: opts.brokers.join(','),
        CLICKHOUSE_URL: opts.ch.url,
        CLICKHOUSE_USER: opts.ch.user,
        CLICKHOUSE_PASSWORD: opts.ch.password,
        CLICKHOUSE_DATABASE: opts.ch.database,
        AGG_RAW_TOPIC: opts.topics.raw,
        AGG_REJECTED_TOPIC: opts.topics.rejected,
        AGG_RAW_PARTITIONS: String(opts.partitions),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`migrate-cli exited ${code}: ${out}`)),
    );
  });
}

/** Committed offsets of the group equal the raw topic's end on every partition. */
async function groupCaughtUp(kafka: Kafka, groupId: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byP = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    return ends.every((e) => BigInt(e.high) === 0n || byP.get(e.partition) === BigInt(e.high));
  } finally {
    await admin.disconnect();
  }
}

function lagAfter(
  timeline: Array<[number, number | null]>,
  from: number,
  until: number,
  startedAt: number,
  baselineMs: number,
): {
  recoveryToSubSecondLagS: number | null;
  recoveryToBaselineS: number | null;
  maxLagMs: number | null;
  probesLost: number;
} {
  const window = timeline.filter(([t]) => t >= from && t < until);
  const during = timeline.filter(([t]) => t >= startedAt && t < until);
  let maxLag: number | null = null;
  let lost = 0;
  for (const [, f] of during) {
    if (f === null) lost += 1;
    else maxLag = Math.max(maxLag ?? 0, f);
  }
  // The first probe after which every probe of the window was visible within 1 s.
  let firstGood: number | null = null;
  for (let i = window.length - 1; i >= 0; i--) {
    const f = window[i]![1];
    if (f === null || f >= 1_000) break;
    firstGood = window[i]![0];
  }
  // The same, against the lag this run had before its first fault (p95 + 1 s).
  let firstBaseline: number | null = null;
  for (let i = window.length - 1; i >= 0; i--) {
    const f = window[i]![1];
    if (f === null || f > baselineMs) break;
    firstBaseline = window[i]![0];
  }
  return {
    recoveryToSubSecondLagS: firstGood === null ? null : Math.max(0, (firstGood - from) / 1000),
    recoveryToBaselineS: firstBaseline === null ? null : Math.max(0, (firstBaseline - from) / 1000),
    maxLagMs: maxLag,
    probesLost: lost,
  };
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? ((m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`));
  const partitions = opts.partitions ?? 6;
  const relayWorkers = opts.relayWorkers ?? 1;
  const nAggs = opts.aggregators ?? 1;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'parsl-soak-'));
  mkdirSync(workDir, { recursive: true });
  const ch: ClickHouseAccess = {
    url: opts.clickhouseUrl,
    user: opts.clickhouseUser ?? 'admin',
    password: opts.clickhousePassword ?? 'admin-dev-password',
    database: freshName('soak'),
  };
  const topics = { raw: freshName('soak_raw'), rejected: freshName('soak_rejected') };
  const groupId = `${topics.raw}-aggregator`;
  log(`${opts.label}: database ${ch.database}, topics ${topics.raw}/${topics.rejected}, logs in ${workDir}`);
  await migrate({ brokers: opts.brokers, ch, topics, partitions });

  const udpPort = await freeUdpPort();
  const relayHttp = await freeTcpPort();
  // Worker i of a cluster serves HTTP on relayHttp + i: make sure the next ones are free too.
  const relay = new RelayHandle(
    new Service({
      name: 'relay',
      service: 'relay',
      supervise: true,
      logPath: join(workDir, 'relay.log'),
      env: {
        KAFKA_BROKERS: opts.brokers.join(','),
        RELAY_UDP_PORT: String(udpPort),
        RELAY_HTTP_PORT: String(relayHttp),
        RELAY_RAW_TOPIC: topics.raw,
        RELAY_REJECTED_TOPIC: topics.rejected,
        RELAY_SPOOL_DIR: join(workDir, 'spool'),
        RELAY_WORKERS: String(relayWorkers),
        ...opts.relayEnv,
      },
    }),
    relayHttp,
    relayWorkers,
  );
  const aggregators: Service[] = [];
  for (let i = 0; i < nAggs; i++) {
    aggregators.push(
      new Service({
        name: `aggregator-${i}`,
        service: 'aggregator',
        supervise: true,
        logPath: join(workDir, `aggregator-${i}.log`),
        env: {
          KAFKA_BROKERS: opts.brokers.join(','),
          AGG_RAW_TOPIC: topics.raw,
          AGG_REJECTED_TOPIC: topics.rejected,
          AGG_GROUP_ID: groupId,
          AGG_HTTP_PORT: String(await freeTcpPort()),
          CLICKHOUSE_URL: ch.url,
          CLICKHOUSE_USER: ch.user,
          CLICKHOUSE_PASSWORD: ch.password,
          CLICKHOUSE_DATABASE: ch.database,
          ...opts.aggregatorEnv,
        },
      }),
    );
  }
  const aggregatorCounters = aggregators.map((a) => new AggregatorCounters(a));
  relay.service.start();
  for (const a of aggregators) a.start();
  await relay.waitHealthy();
  log(
    `${opts.label}: relay up on udp 127.0.0.1:${udpPort} (${relayWorkers} worker(s)), ${nAggs} aggregator(s)`,
  );

  const ledger = newLedger();
  const udp0 = await udpCounters();
  let generating = true;
  let sampling = true;

  // Resource sampling, 1 s.
  const containerMeters = new Map<string, ResourceMeter>();
  const genMeter = new ResourceMeter();
  const sampler = (async () => {
    const pids = new Map<string, number | null>();
    let n = 0;
    while (sampling) {
      await relay.service.sample();
      for (const a of aggregators) await a.sample();
      for (const c of aggregatorCounters) await c.sample();
      const s = await pidSample(process.pid);
      if (s) genMeter.record([[process.pid, s]]);
      for (const [role, name] of Object.entries(opts.containers ?? {})) {
        if (!name) continue;
        if (n % 10 === 0 || !pids.get(role)) pids.set(role, await containerPid(name));
        const pid = pids.get(role);
        if (!pid) continue;
        const m = containerMeters.get(role) ?? new ResourceMeter();
        containerMeters.set(role, m);
        const samples = [];
        for (const p of await processTree(pid)) {
          const ps = await pidSample(p);
          if (ps) samples.push([p, ps] as [number, typeof ps]);
        }
        m.record(samples);
      }
      n += 1;
      await sleep(1_000);
    }
  })();

  // Probe poller: when did each probe become visible in ClickHouse? A primary-key look-up in
  // the facts table (not the analyst view, whose FINAL would read the whole table each time).
  const facts = await factsTable(ch);
  const probeSeen = new Map<string, number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const pending = [...ledger.probes.keys()].filter((id) => !probeSeen.has(id)).slice(0, 400);
      if (pending.length > 0) {
        try {
          const rows = await chRows<{ workflow_id: string }>(
            ch,
            `SELECT workflow_id FROM ${facts} WHERE workflow_id IN (${pending.map(quoteString).join(',')})`,
            5_000,
          );
          const at = Date.now();
          for (const r of rows) probeSeen.set(r.workflow_id, at);
        } catch {
          // ClickHouse down (a fault): the probes wait
        }
      }
      await sleep(200);
    }
  })();

  const faultRecords: FaultRecord[] = [];
  const faultErrors: string[] = [];
  const ctx: FaultContext = {
    relay,
    aggregators,
    containers: opts.containers ?? {},
    brokers: opts.brokers,
    clickhouseUrl: opts.clickhouseUrl,
    log,
  };
  const t0 = Date.now();
  const faultRuns = (opts.faults ?? []).map(async (f) => {
    await sleep(Math.max(0, t0 + f.atMs - Date.now()));
    if (!generating) return;
    log(`${opts.label}: fault ${f.name}`);
    try {
      const r = await f.run(ctx);
      faultRecords.push(...(Array.isArray(r) ? r : [r]));
    } catch (err) {
      faultErrors.push(`fault ${f.name} failed: ${(err as Error).message}`);
    }
  });

  const progress = setInterval(() => {
    void relay
      .counters()
      .then((c) =>
        log(
          `${opts.label}: sent ${ledger.sent.total}, relay received ${metricSum(c, 'relay_received_total')}, probes seen ${probeSeen.size}/${ledger.probes.size}`,
        ),
      );
  }, 30_000);
  await runGenerator(
    {
      port: opts.rate > 0 ? udpPort : udpPort,
      rate: opts.rate,
      durationMs: opts.durationMs,
      floodRate: opts.floodRate ?? 0,
    },
    ledger,
  );
  generating = false;
  await Promise.all(faultRuns);
  clearInterval(progress);
  log(
    `${opts.label}: generator done (${ledger.sent.total} datagrams in ${((ledger.endedAt - ledger.startedAt) / 1000).toFixed(1)} s); draining`,
  );

  // Drain: the relay's spool and queue are empty and the group has committed the topic's end.
  const kafka = new Kafka({ clientId: 'bench-drain', brokers: opts.brokers, logLevel: logLevel.NOTHING });
  const drainStart = Date.now();
  let drained = false;
  let stable = 0;
  while (Date.now() - drainStart < (opts.drainTimeoutMs ?? 300_000)) {
    try {
      const m = await relay.metrics();
      const idle = metricSum(m, 'relay_spool_bytes') === 0 && metricSum(m, 'relay_pending_batches') === 0;
      stable = idle && (await groupCaughtUp(kafka, groupId, topics.raw)) ? stable + 1 : 0;
    } catch {
      stable = 0;
    }
    if (stable >= 3) {
      drained = true;
      break;
    }
    await sleep(1_000);
  }
  const drainS = (Date.now() - drainStart) / 1000;
  // Probes still pending get a last chance, then stop polling.
  await sleep(1_000);
  polling = false;
  await poller;
  const udp1 = await udpCounters();
  const relayCounters = await relay.counters();
  sampling = false;
  await sampler;
  // After the drain: everything the aggregators did for this run is counted.
  for (const c of aggregatorCounters) await c.sample();
  const aggregatorTotals = new Map<string, number>();
  for (const c of aggregatorCounters) c.totals(aggregatorTotals);
  log(`${opts.label}: drained=${drained} in ${drainS.toFixed(1)} s; reading Kafka and ClickHouse`);

  const contents = await readTopics(opts.brokers, topics);
  const stored = await workflowStatuses(ch);
  const sentBits = new Map<string, number>();
  for (const [id, code] of ledger.workflows) sentBits.set(id, code & 3);
  const vsReceived = compare(ledger, contents.received, stored, true);
  const vsSent = compare(ledger, sentBits, stored, false);
  const dc = await doubleCounts(ch);
  const rollup = await rollupTotals(ch);
  const byStatus: Record<string, number> = {};
  for (const s of stored.values()) byStatus[s] = (byStatus[s] ?? 0) + 1;
  let floodInCh = 0;
  let floodInKafka = 0;
  for (const id of ledger.floodIds) {
    if (stored.has(id)) floodInCh += 1;
    if (contents.received.has(id)) floodInKafka += 1;
  }
  const insertLag = await insertLagSeconds(ch).catch(() => []);

  const timeline: Array<[number, number | null]> = [...ledger.probes].map(([id, t]) => {
    const s = probeSeen.get(id);
    return [t, s === undefined ? null : s - t];
  });
  timeline.sort((a, b) => a[0] - b[0]);
  const fresh = timeline.flatMap(([, f]) => (f === null ? [] : [f])).sort((a, b) => a - b);
  const endAt = ledger.endedAt;
  const sortedFaults = [...faultRecords].sort((a, b) => a.startedAt - b.startedAt);
  const firstFaultAt = sortedFaults[0]?.startedAt ?? Infinity;
  const before = timeline
    .filter(([t, x]) => t < firstFaultAt && x !== null)
    .map(([, x]) => x!)
    .sort((a, b) => a - b);
  const baselineLagP95Ms = quantile(before, 0.95);
  const faults = sortedFaults.map((f, i) => ({
    ...f,
    ...lagAfter(
      timeline,
      f.recoveredAt,
      sortedFaults[i + 1]?.startedAt ?? endAt,
      f.startedAt,
      (Number.isFinite(baselineLagP95Ms) ? baselineLagP95Ms : 0) + 1_000,
    ),
  }));

  const byLabel = (name: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, v] of relayCounters) {
      const m = new RegExp(`^${name}\\{(\\w+)="([^"]*)"\\}$`).exec(k);
      if (m) out[m[2]!] = (out[m[2]!] ?? 0) + v;
    }
    return out;
  };
  const wallS = (ledger.endedAt - ledger.startedAt) / 1000;
  const role = (m: ResourceMeter, starts?: number): RoleStats => ({
    cpuS: m.cpuS,
    cpuPctOfCore: (100 * m.cpuS) / Math.max(1, (Date.now() - t0) / 1000),
    meanRssMiB: m.meanRssMiB,
    peakRssMiB: m.peakRssMiB,
    ...(starts !== undefined ? { starts } : {}),
  });
  const resources: Record<string, RoleStats> = {
    generator: role(genMeter),
    relay: role(relay.service.meter, relay.service.starts),
  };
  aggregators.forEach((a, i) => (resources[`aggregator-${i}`] = role(a.meter, a.starts)));
  for (const [r, m] of containerMeters) resources[r] = role(m);

  const relayDropped = byLabel('relay_dropped_total');
  const droppedTotal = Object.values(relayDropped).reduce((a, b) => a + b, 0);
  const kafkaToCh = vsReceived.missing + vsReceived.wrongStatus;
  const failures: string[] = [...faultErrors];
  if (!drained) failures.push('pipeline did not drain');
  if (kafkaToCh !== 0) failures.push(`${kafkaToCh} workflows in Kafka are missing or wrong in ClickHouse`);
  if (vsReceived.unexpected !== 0)
    failures.push(`${vsReceived.unexpected} workflows in ClickHouse that Kafka never held`);
  if (dc.over !== 0 || dc.under !== 0) failures.push(`double counts: ${dc.over} over, ${dc.under} under`);
  for (const k of Object.keys(rollup) as Array<keyof Totals>) {
    if (rollup[k] !== vsReceived.totalsExpected[k])
      failures.push(`rollup_daily ${k} ${rollup[k]} != ${vsReceived.totalsExpected[k]}`);
  }
  const unplannedDrops = Object.entries(relayDropped).filter(
    ([r, n]) => n > 0 && !(opts.relayEnv?.RELAY_SPOOL_MAX_BYTES && r === 'spool_full'),
  );
  for (const [r, n] of unplannedDrops) failures.push(`relay dropped ${n} (${r})`);
  const accepted = metricSum(relayCounters, 'relay_accepted_total');
  if (opts.exactlyOnceIntoTopic && contents.rawMessages !== accepted)
    failures.push(`raw topic holds ${contents.rawMessages} messages, the relay accepted ${accepted}`);
  for (const f of faults) {
    if (f.recoveryToSubSecondLagS === null || f.recoveryToSubSecondLagS > 60)
      failures.push(`${f.name}: lag not back under 1 s within 60 s of recovery`);
  }

  await relay.stop();
  for (const a of aggregators) await a.close();
  await relay.service.close();

  return {
    label: opts.label,
    options: {
      rate: opts.rate,
      durationS: opts.durationMs / 1000,
      partitions,
      relayWorkers,
      aggregators: nAggs,
      floodRate: opts.floodRate ?? 0,
    },
    database: ch.database,
    topics,
    wallS,
    ledger: { ...ledger.sent, workflows: ledger.workflows.size },
    garbageExpected: Object.fromEntries(
      [...ledger.garbageByReason].map(([r, g]) => [`${g.stage}/${r}`, g.n]),
    ),
    kernel: {
      inDatagrams: (udp1.InDatagrams ?? 0) - (udp0.InDatagrams ?? 0),
      rcvbufErrors: (udp1.RcvbufErrors ?? 0) - (udp0.RcvbufErrors ?? 0),
      inErrors: (udp1.InErrors ?? 0) - (udp0.InErrors ?? 0),
      noPorts: (udp1.NoPorts ?? 0) - (udp0.NoPorts ?? 0),
    },
    relay: {
      received: metricSum(relayCounters, 'relay_received_total'),
      accepted,
      rejectedByReason: byLabel('relay_rejected_total'),
      rateLimited: metricSum(relayCounters, 'relay_rate_limited_total'),
      published: byLabel('relay_published_total'),
      spooled: metricSum(relayCounters, 'relay_spooled_total'),
      alreadyInKafka: metricSum(relayCounters, 'relay_spool_already_published_total'),
      droppedByReason: relayDropped,
    },
    kafka: {
      rawMessages: contents.rawMessages,
      rawByNs: contents.rawByNs,
      rejectedByStageReason: Object.fromEntries(contents.rejected),
    },
    drained,
    drainS,
    vsReceived,
    vsSent,
    stored: { workflows: stored.size, byStatus },
    doubleCounts: dc,
    rollup,
    flood: { sent: ledger.sent.flood, inKafka: floodInKafka, inClickHouse: floodInCh },
    freshness: {
      sent: ledger.probes.size,
      seen: fresh.length,
      p50: quantile(fresh, 0.5),
      p95: quantile(fresh, 0.95),
      p99: quantile(fresh, 0.99),
      max: fresh[fresh.length - 1] ?? NaN,
      timeline,
    },
    insertLagS: insertLag,
    faults,
    baselineLagP95Ms,
    resources,
    aggregatorCounters: Object.fromEntries(aggregatorTotals),
    lostAfterReceipt: {
      relayDropped: droppedTotal,
      kafkaToClickHouse: kafkaToCh,
      note: 'relayDropped is by design only for spool_full; Kafka→ClickHouse must be 0',
    },
    pass: failures.length === 0,
    failures,
  };
}

const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

/**
 * What keeps a soak from being exact, one sentence each (none when exact): undrained, a datagram
 * the relay did not receive, a workflow missing, wrong or unexpected against what was sent and
 * against Kafka, a double count, a rollup_daily total off the ledger.
 */
export function soakProblems(r: SoakResult): string[] {
  const out: string[] = [];
  if (!r.drained) out.push('not drained');
  if (r.relay.received !== r.ledger.total)
    out.push(`relay received ${r.relay.received} of ${r.ledger.total}`);
  for (const [against, c] of [
    ['sent', r.vsSent],
    ['Kafka', r.vsReceived],
  ] as const) {
    if (c.expected !== r.ledger.workflows)
      out.push(`vs ${against}: ${c.expected} expected of ${r.ledger.workflows}`);
    if (c.missing + c.wrongStatus + c.unexpected > 0)
      out.push(
        `vs ${against}: ${c.missing} missing, ${c.wrongStatus} wrong status, ${c.unexpected} unexpected`,
      );
  }
  if (r.doubleCounts.over + r.doubleCounts.under > 0)
    out.push(`double counts ${r.doubleCounts.over}, under-counts ${r.doubleCounts.under}`);
  if (JSON.stringify(r.rollup) !== JSON.stringify(r.vsSent.totalsExpected))
    out.push(`rollup_daily ${JSON.stringify(r.rollup)} != ${JSON.stringify(r.vsSent.totalsExpected)}`);
  return out;
}

export function formatReport(r: SoakResult): string {
  const L: string[] = [];
  const o = r.options;
  L.push(
    `=== ${r.label}: ${o.durationS} s at ${o.rate}/s, ${o.partitions} partitions, ${o.relayWorkers} relay worker(s), ${o.aggregators} aggregator(s)${o.floodRate ? `, flood ${o.floodRate}/s from 127.0.0.1` : ''}`,
  );
  L.push(
    `sent:                    ${n(r.ledger.total)} datagrams in ${r.wallS.toFixed(1)} s (${n(r.ledger.valid)} valid incl. ${n(r.ledger.probes)} probes, ${n(r.ledger.duplicates)} duplicates, ${n(r.ledger.garbage)} garbage, ${n(r.ledger.flood)} flood; send errors ${n(r.ledger.errors)}); ${n(r.ledger.workflows)} workflows`,
  );
  L.push(
    `received by the kernel:  Udp InDatagrams +${n(r.kernel.inDatagrams)}, RcvbufErrors +${n(r.kernel.rcvbufErrors)}, InErrors +${n(r.kernel.inErrors)}, NoPorts +${n(r.kernel.noPorts)} (host-wide counters)`,
  );
  L.push(
    `received by the relay:   ${n(r.relay.received)} (sent - relay received = ${n(r.ledger.total - r.relay.received)})`,
  );
  L.push(
    `accepted:                ${n(r.relay.accepted)}; raw topic holds ${n(r.kafka.rawMessages)} messages (${JSON.stringify(r.kafka.rawByNs)}); spooled ${n(r.relay.spooled)}, of them found already in Kafka by the read-back ${n(r.relay.alreadyInKafka)}`,
  );
  L.push(
    `rejected by reason:      relay ${JSON.stringify(r.relay.rejectedByReason)}; rejected topic ${JSON.stringify(r.kafka.rejectedByStageReason)}; garbage sent ${JSON.stringify(r.garbageExpected)}`,
  );
  L.push(
    `rate-limited:            ${n(r.relay.rateLimited)}${o.floodRate ? ` (flood: sent ${n(r.flood.sent)}, in Kafka ${n(r.flood.inKafka)}, in ClickHouse ${n(r.flood.inClickHouse)})` : ''}`,
  );
  L.push(
    `lost after receipt:      relay dropped ${n(r.lostAfterReceipt.relayDropped)} ${JSON.stringify(r.relay.droppedByReason)}; Kafka→ClickHouse ${n(r.lostAfterReceipt.kafkaToClickHouse)} (expected 0)`,
  );
  const vr = r.vsReceived;
  const vs = r.vsSent;
  L.push(
    `workflows vs Kafka:      expected ${n(vr.expected)}, found ${n(vr.found)}, missing ${n(vr.missing)}, wrong status ${n(vr.wrongStatus)}, unexpected ${n(vr.unexpected)}`,
  );
  L.push(
    `workflows vs sent:       expected ${n(vs.expected)} ${JSON.stringify(vs.statusExpected)}, found ${n(vs.found)}, missing ${n(vs.missing)}, wrong status ${n(vs.wrongStatus)}`,
  );
  L.push(
    `ClickHouse workflows:    ${n(r.stored.workflows)} ${JSON.stringify(r.stored.byStatus)}; change rows ${n(r.doubleCounts.changeRows)}; double counts ${r.doubleCounts.over}, under-counts ${r.doubleCounts.under}`,
  );
  L.push(`rollup_daily:            ${JSON.stringify(r.rollup)}`);
  L.push(`  expected (Kafka):      ${JSON.stringify(vr.totalsExpected)}`);
  L.push(`  ground truth (sent):   ${JSON.stringify(vs.totalsExpected)}`);
  const f = r.freshness;
  L.push(
    `freshness (probe send → visible in workflows, polled every 200 ms): p50 ${n(f.p50)} ms, p95 ${n(f.p95)} ms, p99 ${n(f.p99)} ms, max ${n(f.max)} ms (${f.seen}/${f.sent} probes seen)`,
  );
  L.push(`  inserted_at - launch_received_at (whole seconds): p50/p95/p99 ${r.insertLagS.join(' / ')} s`);
  for (const x of r.faults) {
    L.push(
      `fault ${x.name}: ${new Date(x.startedAt).toISOString().slice(11, 19)} → recovered +${((x.recoveredAt - x.startedAt) / 1000).toFixed(1)} s; lag < 1 s again ${x.recoveryToSubSecondLagS === null ? 'NEVER' : `${x.recoveryToSubSecondLagS.toFixed(1)} s after recovery`}; lag ≤ pre-fault p95 + 1 s (${n(r.baselineLagP95Ms + 1000)} ms) again ${x.recoveryToBaselineS === null ? 'NEVER' : `${x.recoveryToBaselineS.toFixed(1)} s after recovery`}; max probe lag ${x.maxLagMs === null ? 'n/a' : `${n(x.maxLagMs)} ms`}; probes lost ${x.probesLost}${x.note ? `; ${x.note}` : ''}`,
    );
  }
  for (const [role, s] of Object.entries(r.resources)) {
    L.push(
      `cpu/rss ${role.padEnd(13)} ${s.cpuS.toFixed(1)} s CPU = ${s.cpuPctOfCore.toFixed(0)} % of one core; RSS mean ${s.meanRssMiB.toFixed(0)} MiB, peak ${s.peakRssMiB.toFixed(0)} MiB${s.starts !== undefined ? `; starts ${s.starts}` : ''}`,
    );
  }
  L.push(`drained: ${r.drained} (${r.drainS.toFixed(1)} s after the generator stopped)`);
  L.push(r.pass ? 'RESULT: PASS' : `RESULT: FAIL: ${r.failures.join('; ')}`);
  return L.join('\n');
}
