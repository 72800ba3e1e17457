/**
 * Aggregator benchmark: sustained throughput (topic -> queryable rows), freshness at a steady
 * rate, and ClickHouse's own Kafka table engine as the peer on the same topic contents, with
 * correctness under duplicates and replays. Run by run.sh, which starts Kafka and ClickHouse in
 * one podman pod (so ClickHouse reaches the broker at 127.0.0.1 inside the pod) and removes it.
 * Only loopback is ever addressed.
 *
 * Env: BENCH_KAFKA (127.0.0.1:29092), BENCH_CLICKHOUSE (http://127.0.0.1:28123), BENCH_PAIRS
 * (250000 launch+closure pairs for the throughput run), BENCH_DUP_PAIRS (50000),
 * BENCH_FRESH_RATE (5000 events/s), BENCH_FRESH_SECONDS (60), BENCH_OPEN (1000000 launches
 * for the open phase), BENCH_PHASES (comma list of throughput,engine,replay,duplicates,fresh,
 * fresh-engine,open; default all but open).
 *
 * open: the aggregator process's RSS while it holds BENCH_OPEN open workflows (launches whose
 * closure has not come) in its join window, with its default settings (the window's cap is
 * AGG_MAX_OPEN_WORKFLOWS, 1,000,000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { KINDS } from '@parsl-usage/kit/generator';
import { envelopeWriter, packEnvelopes } from '@parsl-usage/schemas';
import { partitionOfKey } from '@parsl-usage/relay/internal/partitioner';
import { compareRollups, createRollupPeer, peerProgress, peerSettled } from '../peer/rollup-peer.js';
import { ROOT, containerPid, freeTcpPort, pidSample, processTree, sleep } from '@parsl-usage/kit/proc';

const BROKER = process.env.BENCH_KAFKA ?? '127.0.0.1:29092';
const CH_URL = process.env.BENCH_CLICKHOUSE ?? 'http://127.0.0.1:28123';
const CH_CONTAINER = process.env.BENCH_CH_CONTAINER ?? 'bench-agg-ch';
const PAIRS = Number(process.env.BENCH_PAIRS ?? 250_000);
const DUP_PAIRS = Number(process.env.BENCH_DUP_PAIRS ?? 50_000);
const FRESH_RATE = Number(process.env.BENCH_FRESH_RATE ?? 5_000); // events/s
const FRESH_SECONDS = Number(process.env.BENCH_FRESH_SECONDS ?? 60);
const OPEN = Number(process.env.BENCH_OPEN ?? 1_000_000);
// Datagrams per Kafka record in the aggregator's preloaded topic, as the relay packs them
// (format 3, schemas/src/envelope.ts); 1 writes one bare datagram per record (format 1). The
// Kafka-engine peer reads datagrams one per record, so with packs it gets its own topic of the
// same datagrams.
const PACK = Number(process.env.BENCH_PACK ?? 1);
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? 'throughput,engine,peer,replay,duplicates,fresh,fresh-engine').split(','),
);
for (const u of [BROKER, CH_URL])
  if (!/^(http:\/\/)?127\.0\.0\.1:\d+$/.test(u))
    throw new Error(`${u}: this benchmark only talks to 127.0.0.1`);

const RUN = Date.now().toString(36); // names of this run's topics, databases and groups
const HEX = randomBytes(2).toString('hex'); // id prefix: ids stay UUID-shaped (hex)
const kafka = new Kafka({ clientId: 'bench-agg', brokers: [BROKER], logLevel: logLevel.WARN });
const admin = kafka.admin();
const results: Record<string, unknown> = { run: RUN, date: new Date().toISOString(), pack: PACK };

// ---------------------------------------------------------------- ClickHouse over HTTP

async function ch(query: string): Promise<string> {
  const res = await fetch(`${CH_URL}/?user=admin&password=admin-dev-password`, {
    method: 'POST',
    body: query,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse: ${text.slice(0, 500)}\n${query}`);
  return text;
}
async function chNumbers(query: string): Promise<number[]> {
  return (await ch(`${query} FORMAT TSV`)).trim().split('\t').map(Number);
}

// ---------------------------------------------------------------- datagrams

/** Kinds with both datagrams: Parsl 2025.03.17 level 3, 2024.06.03, three legacy generations. */
const PAIR_KINDS = KINDS.filter((k) => k.launch && k.closure && k.name !== 'v1-2025.03.17-closure-only');
const LEVEL1 = KINDS[0]!; // probes: one launch each, visible as 'launched'
// Mix per 10 workflows: 4 v1 2025 level 3, 3 v1 2024.06.03, 1 of each legacy generation.
const MIX = [0, 0, 0, 0, 1, 1, 1, 2, 3, 4];

/** 36 characters like a UUID; `ns` (4 hex) tells workflows from probes. */
const wfId = (tag: string, ns: string, i: number): string =>
  `${tag}-${ns}-4000-8000-${i.toString(16).padStart(12, '0')}`;

interface Msg {
  key: string;
  value: Buffer;
  headers: { received_at_ms: string };
}
function pair(tag: string, i: number): [Msg, Msg] {
  const kind = PAIR_KINDS[MIX[i % MIX.length]!]!;
  const id = wfId(tag, '0000', i);
  const at = String(Date.now());
  const mk = (t: [Buffer, Buffer]): Msg => ({
    key: id,
    value: Buffer.concat([t[0], Buffer.from(id), t[1]]),
    headers: { received_at_ms: at },
  });
  return [mk(kind.launch!), mk(kind.closure!)];
}
function probe(tag: string, i: number, at: number): Msg {
  const id = wfId(tag, 'b0be', i);
  const [a, b] = LEVEL1.launch!;
  return { key: id, value: Buffer.concat([a, Buffer.from(id), b]), headers: { received_at_ms: String(at) } };
}

async function createTopic(topic: string): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
  });
}

const benchEnvelopes = envelopeWriter('bench');
let benchSeq = 0;

/**
 * The messages as the relay writes them with packing: per partition (the key's, among the 6),
 * packs of up to `pack` envelopes, each datagram's received_at_ms inside its envelope.
 */
function packed(messages: Msg[], pack: number): { partition: number; value: Buffer }[] {
  const byPartition = new Map<number, Buffer[]>();
  for (const m of messages) {
    const p = partitionOfKey(Buffer.from(m.key), 6);
    const protocol = m.value[0] === 0x7b ? 'legacy' : 'v1'; // '{' begins a legacy datagram
    const env = benchEnvelopes.wrap(m.value, protocol, Number(m.headers.received_at_ms), `b-${benchSeq++}`);
    const list = byPartition.get(p);
    if (list === undefined) byPartition.set(p, [env]);
    else list.push(env);
  }
  const out: { partition: number; value: Buffer }[] = [];
  for (const [partition, list] of byPartition)
    for (let i = 0; i < list.length; i += pack)
      out.push({ partition, value: packEnvelopes(list.slice(i, i + pack)) });
  return out;
}

/** Writes `pairs` workflows: per chunk of 2,000, the launches then the closures (as they arrive). */
async function preload(
  producer: Producer,
  topic: string,
  tag: string,
  pairs: number,
  copies: number,
  pack = 1,
) {
  const t0 = performance.now();
  let sent = 0;
  for (let start = 0; start < pairs; start += 2_000) {
    const launches: Msg[] = [];
    const closures: Msg[] = [];
    for (let i = start; i < Math.min(pairs, start + 2_000); i++) {
      const [l, c] = pair(tag, i);
      launches.push(l);
      closures.push(c);
    }
    for (let k = 0; k < copies; k++) {
      await producer.send({ topic, acks: 1, messages: pack > 1 ? packed(launches, pack) : launches });
      await producer.send({ topic, acks: 1, messages: pack > 1 ? packed(closures, pack) : closures });
      sent += launches.length + closures.length;
    }
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`preloaded ${topic}: ${sent} messages in ${s.toFixed(1)} s`);
  return sent;
}

async function endOffsets(topic: string): Promise<Map<number, bigint>> {
  const o = await admin.fetchTopicOffsets(topic);
  return new Map(o.map((p) => [p.partition, BigInt(p.high)]));
}
/** True when `group` has committed every partition of `topic` up to its end. */
async function groupCaughtUp(group: string, topic: string, ends: Map<number, bigint>): Promise<boolean> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return (t?.partitions ?? []).every((p) => BigInt(p.offset) >= (ends.get(p.partition) ?? 0n));
}

// ---------------------------------------------------------------- processes and resources

function migrate(db: string, raw: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['services/ops/dist/migrate-cli.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...aggEnv(db, raw) },
      stdio: 'inherit',
    });
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrate ${db}: exit ${code}`))));
  });
}
function aggEnv(db: string, raw: string): Record<string, string> {
  // AGG_* tuning from the bench's own environment (e.g. AGG_FETCH_MAX_WAIT_MS) reaches the aggregator.
  const tuning = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('AGG_') && e[1] !== undefined,
    ),
  );
  return {
    ...tuning,
    KAFKA_BROKERS: BROKER,
    AGG_RAW_TOPIC: raw,
    AGG_REJECTED_TOPIC: `${raw}-rejected`,
    CLICKHOUSE_URL: CH_URL,
    CLICKHOUSE_USER: 'admin',
    CLICKHOUSE_PASSWORD: 'admin-dev-password',
    CLICKHOUSE_DATABASE: db,
  };
}
interface Agg {
  child: ChildProcess;
  port: number;
  stop: () => Promise<number | null>;
}
/** The aggregator as its own process (services/aggregator/dist/main.js), default fetch settings. */
async function startAggregator(db: string, raw: string, group: string): Promise<Agg> {
  const port = await freeTcpPort();
  const log = createWriteStream(`/tmp/bench-agg-${RUN}-${group}.log`);
  // e.g. BENCH_AGG_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/agg-prof' to profile the aggregator
  const nodeArgs = (process.env.BENCH_AGG_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_AGG_MAIN: another build's main.js (e.g. a worktree of an earlier commit), for a before/after in one run
  const main = process.env.BENCH_AGG_MAIN ?? 'services/aggregator/dist/main.js';
  const child = spawn(process.execPath, [...nodeArgs, main], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: process.env.BENCH_AGG_LOG_LEVEL ?? 'warn',
      ...aggEnv(db, raw),
      AGG_GROUP_ID: group,
      AGG_HTTP_PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let stopping = false;
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      // Waiting for rows from an aggregator that died would only end at the timeout.
      if (!stopping) {
        console.error(
          `aggregator ${group} exited early (code ${code}); see /tmp/bench-agg-${RUN}-${group}.log`,
        );
        process.exit(1);
      }
      r(code);
    }),
  );
  return {
    child,
    port,
    stop: async () => {
      stopping = true;
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** CPU seconds and RSS of a process tree, sampled; CPU is the delta since construction. */
class Meter {
  private base = 0;
  private last = 0;
  peakRssMiB = 0;
  private rssSum = 0;
  private n = 0;
  constructor(private readonly pid: () => Promise<number | null>) {}
  private async sample(): Promise<{ cpu: number; rss: number }> {
    const root = await this.pid();
    if (root === null) return { cpu: this.last, rss: 0 };
    let cpu = 0;
    let rss = 0;
    for (const p of await processTree(root)) {
      const s = await pidSample(p);
      if (s) {
        cpu += s.cpuS;
        rss += s.rssMiB;
      }
    }
    return { cpu, rss };
  }
  async start(): Promise<void> {
    this.base = this.last = (await this.sample()).cpu;
  }
  async tick(): Promise<void> {
    const s = await this.sample();
    this.last = s.cpu;
    if (s.rss > 0) {
      this.peakRssMiB = Math.max(this.peakRssMiB, s.rss);
      this.rssSum += s.rss;
      this.n += 1;
    }
  }
  get cpuS(): number {
    return this.last - this.base;
  }
  get meanRssMiB(): number {
    return this.n ? this.rssSum / this.n : 0;
  }
}
const chMeter = (): Meter => new Meter(() => containerPid(CH_CONTAINER));

/** Polls `done` every 250 ms (bounded by timeoutMs), ticking the meters; returns seconds waited. */
async function until(
  what: string,
  done: () => Promise<boolean>,
  meters: Meter[],
  timeoutMs: number,
): Promise<number> {
  const t0 = performance.now();
  for (const m of meters) await m.start();
  while (performance.now() - t0 < timeoutMs) {
    for (const m of meters) await m.tick();
    if (await done()) return (performance.now() - t0) / 1000;
    await sleep(250);
  }
  throw new Error(`${what}: not done within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------- the Kafka engine peer

/** A Kafka engine table on `topic` (one String column per message) and an MV into `db.events`. */
async function engineConsumer(db: string, topic: string, group: string, suffix: string): Promise<void> {
  await ch(`CREATE TABLE IF NOT EXISTS ${db}.events
    (workflow_id String, phase String, protocol String, parsl_version String, python_version String,
     platform String, raw String, inserted_at DateTime DEFAULT now())
    ENGINE = MergeTree() ORDER BY workflow_id`);
  // librdkafka's default for a new group is the partition end; the aggregator reads from the
  // beginning. Committing offset 0 for the group first makes both read the same messages.
  await admin.setOffsets({
    groupId: group,
    topic,
    partitions: [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, offset: '0' })),
  });
  // TabSeparated with one String column reads a whole message (no tab, newline or backslash in
  // these datagrams); the row delimiter ends each message, which carries none of its own.
  await ch(`CREATE TABLE ${db}.queue${suffix} (raw String)
    ENGINE = Kafka('${BROKER}', '${topic}', '${group}', 'TabSeparated', '\\n')`);
  // 18.16 does not fill DEFAULT columns of a view's TO table: inserted_at is selected explicitly.
  // visitParamExtract* needs JSON without spaces after ':', which Parsl's json.dumps emits: regexes instead.
  await ch(`CREATE MATERIALIZED VIEW ${db}.events_mv${suffix} TO ${db}.events AS SELECT
      extract(raw, '"(?:correlator|uuid)": *"([^"]*)"') AS workflow_id,
      if(position(raw, '"end":') > 0, 'closure', 'launch') AS phase,
      if(substring(raw, 1, 1) = '1', 'v1', 'legacy') AS protocol,
      extract(raw, '"parsl_v": *"([^"]*)"') AS parsl_version,
      extract(raw, '"python_v": *"([^"]*)"') AS python_version,
      extract(raw, '"(?:platform[.]system|os)": *"([^"]*)"') AS platform,
      raw,
      now() AS inserted_at
    FROM ${db}.queue${suffix}`);
}
async function engineCounts(db: string) {
  const [rows, launches, closures, distinct] = await chNumbers(
    `SELECT count(), countIf(phase = 'launch'), countIf(phase = 'closure'), uniqExact(workflow_id) FROM ${db}.events`,
  );
  const [joined] =
    await chNumbers(`SELECT count() FROM (SELECT workflow_id FROM ${db}.events GROUP BY workflow_id
      HAVING countIf(phase = 'launch') > 0 AND countIf(phase = 'closure') > 0)`);
  return {
    rows,
    launchRows: launches,
    closureRows: closures,
    distinctIds: distinct,
    joinedAtQueryTime: joined,
  };
}
async function aggCounts(db: string) {
  const [workflows, completed, rows] = await chNumbers(
    `SELECT sum(sign), sum(sign * (status = 'completed')), count() FROM ${db}.workflow_changes`,
  );
  const [events] = await chNumbers(`SELECT count() FROM ${db}.events FINAL`);
  return { workflows, completed, changeRows: rows, eventsRows: events };
}

// ---------------------------------------------------------------- phases

async function throughput(producer: Producer, topic: string, db: string) {
  const sent = await preload(producer, topic, `${HEX}aaaa`, PAIRS, 1, PACK);
  const ends = await endOffsets(topic);
  const chm = chMeter();
  const agg = await startAggregator(db, topic, `${topic}-agg`);
  const aggm = new Meter(() => Promise.resolve(agg.child.pid ?? null));
  let firstRowAt = 0;
  const t0 = performance.now();
  const s = await until(
    'aggregator throughput',
    async () => {
      const [w, c] = await chNumbers(
        `SELECT sum(sign), sum(sign * (status = 'completed')) FROM ${db}.workflow_changes`,
      );
      if (!firstRowAt && (w ?? 0) > 0) firstRowAt = performance.now();
      return w === PAIRS && c === PAIRS;
    },
    [aggm, chm],
    900_000,
  );
  const fromFirst = (performance.now() - firstRowAt) / 1000;
  const caughtUp = await groupCaughtUp(`${topic}-agg`, topic, ends);
  const r = {
    messages: sent,
    workflows: PAIRS,
    secondsFromSpawn: s,
    secondsFromFirstRow: fromFirst,
    startupSeconds: (firstRowAt - t0) / 1000,
    eventsPerSecondFromSpawn: sent / s,
    eventsPerSecondFromFirstRow: sent / fromFirst,
    aggregatorCpuPercentOfOneCore: (100 * aggm.cpuS) / s,
    aggregatorRssMeanMiB: aggm.meanRssMiB,
    aggregatorRssPeakMiB: aggm.peakRssMiB,
    clickhouseCpuPercentOfOneCore: (100 * chm.cpuS) / s,
    groupCommittedToEnd: caughtUp,
    counts: await aggCounts(db),
  };
  console.log('throughput', r);
  return { agg, r };
}

async function engineThroughput(topic: string, db: string, expectedRows: number) {
  await ch(`CREATE DATABASE IF NOT EXISTS ${db}`);
  const chm = chMeter();
  await chm.start();
  await engineConsumer(db, topic, `${topic}-engine`, '');
  let firstRowAt = 0;
  const t0 = performance.now();
  const s = await until(
    'engine throughput',
    async () => {
      const [n] = await chNumbers(`SELECT count() FROM ${db}.events`);
      if (!firstRowAt && (n ?? 0) > 0) firstRowAt = performance.now();
      return (n ?? 0) >= expectedRows;
    },
    [chm],
    900_000,
  );
  const fromFirst = (performance.now() - firstRowAt) / 1000;
  const r = {
    messages: expectedRows,
    secondsFromCreate: s,
    secondsFromFirstRow: fromFirst,
    eventsPerSecondFromCreate: expectedRows / s,
    eventsPerSecondFromFirstRow: expectedRows / fromFirst,
    startupSeconds: (firstRowAt - t0) / 1000,
    clickhouseCpuPercentOfOneCore: (100 * chm.cpuS) / s,
    clickhouseRssPeakMiB: chm.peakRssMiB,
    counts: await engineCounts(db),
  };
  console.log('engine throughput', r);
  return r;
}

async function freshness(producer: Producer, topic: string, db: string, peer: 'aggregator' | 'engine') {
  const tag = `${HEX}${peer === 'engine' ? 'eeee' : 'ffff'}`;
  let agg: Agg | null = null;
  let table: string;
  if (peer === 'aggregator') {
    agg = await startAggregator(db, topic, `${topic}-agg`);
    table = `${db}.workflow_changes`;
  } else {
    await ch(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await engineConsumer(db, topic, `${topic}-engine`, '');
    table = `${db}.events`;
  }
  // Warm-up: until a first probe is visible, the consumer is still joining its group.
  let warm = 0;
  const warmStart = performance.now();
  for (let seen = false; !seen && performance.now() - warmStart < 120_000;) {
    const m = probe(tag, 1_000_000 + warm++, Date.now());
    await producer.send({ topic, acks: 1, messages: [m] });
    await sleep(500);
    seen = (await chNumbers(`SELECT count() FROM ${table}`))[0]! > 0;
  }
  const aggm = agg ? new Meter(() => Promise.resolve(agg.child.pid ?? null)) : null;
  const chm = chMeter();
  await chm.start();
  if (aggm) await aggm.start();

  const pending = new Map<string, number>(); // probe id -> produced at (ms)
  const latencies: number[] = [];
  let producing = true;
  // Poller: every 100 ms, which pending probes are visible now.
  const poller = (async () => {
    const deadline = Date.now() + (FRESH_SECONDS + 60) * 1000;
    while ((producing || pending.size > 0) && Date.now() < deadline) {
      const t = performance.now();
      if (pending.size > 0) {
        const ids = [...pending.keys()].map((id) => `'${id}'`).join(',');
        const seen = (
          await ch(`SELECT DISTINCT workflow_id FROM ${table} WHERE workflow_id IN (${ids}) FORMAT TSV`)
        )
          .split('\n')
          .filter(Boolean);
        const now = Date.now();
        for (const id of seen) {
          const at = pending.get(id);
          if (at !== undefined) {
            latencies.push(now - at);
            pending.delete(id);
          }
        }
      }
      if (aggm) await aggm.tick();
      await chm.tick();
      await sleep(Math.max(0, 100 - (performance.now() - t)));
    }
  })();

  // Producer: launches now, their closures 1 s later, one probe every 100 ms, paced by the clock.
  const t0 = Date.now();
  let produced = 0;
  let next = 0;
  let probes = 0;
  const closures: Array<[number, Msg]> = [];
  while (Date.now() - t0 < FRESH_SECONDS * 1000) {
    const now = Date.now();
    const due = Math.floor(((now - t0) / 1000) * FRESH_RATE) - produced;
    const batch: Msg[] = [];
    while (closures.length > 0 && closures[0]![0] <= now && batch.length < due)
      batch.push(closures.shift()![1]);
    if ((now - t0) / 100 >= probes && batch.length < due) {
      const m = probe(tag, probes++, now);
      pending.set(m.key, now);
      batch.push(m);
    }
    while (batch.length < due) {
      const [l, c] = pair(tag, next++);
      l.headers.received_at_ms = String(now);
      batch.push(l);
      closures.push([now + 1_000, c]);
    }
    if (batch.length > 0) await producer.send({ topic, acks: 1, messages: batch });
    produced += batch.length;
    await sleep(10);
  }
  const elapsed = (Date.now() - t0) / 1000;
  producing = false;
  await poller;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const r = {
    peer,
    producedEvents: produced,
    seconds: elapsed,
    eventsPerSecond: produced / elapsed,
    probes: probes,
    probesSeen: latencies.length,
    probesNeverSeen: pending.size,
    p50Ms: q(0.5),
    p95Ms: q(0.95),
    p99Ms: q(0.99),
    maxMs: latencies[latencies.length - 1],
    aggregatorCpuPercentOfOneCore: aggm ? (100 * aggm.cpuS) / elapsed : undefined,
    aggregatorRssPeakMiB: aggm?.peakRssMiB,
    clickhouseCpuPercentOfOneCore: (100 * chm.cpuS) / elapsed,
  };
  console.log('freshness', r);
  if (agg) await agg.stop();
  return r;
}

/** RSS of the aggregator holding OPEN launches in its join window, once loaded and then settled. */
async function openWorkflowsMemory(producer: Producer, topic: string, db: string) {
  const tag = `${HEX}eeee`;
  const t0 = performance.now();
  for (let start = 0; start < OPEN; start += 5_000) {
    const launches: Msg[] = [];
    for (let i = start; i < Math.min(OPEN, start + 5_000); i++) launches.push(pair(tag, i)[0]);
    await producer.send({ topic, acks: 1, messages: launches });
  }
  console.log(`preloaded ${topic}: ${OPEN} launches in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const ends = await endOffsets(topic);
  const agg = await startAggregator(db, topic, `${topic}-agg`);
  const aggm = new Meter(() => Promise.resolve(agg.child.pid ?? null));
  const openNow = async (): Promise<number> => {
    const text = await fetch(`http://127.0.0.1:${agg.port}/metrics`, { signal: AbortSignal.timeout(5_000) })
      .then((r) => r.text())
      .catch(() => '');
    return Number(/^aggregator_open_workflows (\d+)/m.exec(text)?.[1] ?? 0);
  };
  const loadSeconds = await until(
    'open workflows',
    async () => (await openNow()) >= OPEN && (await groupCaughtUp(`${topic}-agg`, topic, ends)),
    [aggm],
    1_800_000,
  );
  // V8 gives freed pages back lazily: what a long-running aggregator holds is the settled figure.
  const rss: number[] = [];
  for (let i = 0; i < 60; i++) {
    await sleep(1_000);
    rss.push((await pidSample(agg.child.pid!))?.rssMiB ?? NaN);
  }
  const last = rss.slice(-10).sort((a, b) => a - b);
  const r = {
    openWorkflows: await openNow(),
    loadSeconds,
    rssPeakWhileLoadingMiB: aggm.peakRssMiB,
    rssRightAfterLoadMiB: rss[0],
    rssAfter60sMedianOfLast10MiB: last[Math.floor(last.length / 2)],
    rssMaxOver60sMiB: Math.max(...rss),
    workflowsInClickHouse: (await chNumbers(`SELECT sum(sign) FROM ${db}.workflow_changes`))[0],
  };
  console.log('open', r);
  await agg.stop();
  return r;
}

// ---------------------------------------------------------------- the rollup peer (bench/peer)

/** Offsets of a new group to 0 (librdkafka starts a new group at the end), then the peer. */
async function rollupPeer(db: string, topic: string, group: string, suffix: string): Promise<void> {
  await admin.setOffsets({
    groupId: group,
    topic,
    partitions: [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, offset: '0' })),
  });
  await createRollupPeer(ch, { db, broker: BROKER, topic, group, suffix });
}

/** The Kafka engine feeding the same rollups through views (bench/peer), timed like the engine. */
async function peerThroughput(topic: string, db: string, exactDb: string) {
  await migrate(db, topic);
  const chm = chMeter();
  await chm.start();
  await rollupPeer(db, topic, `${topic}-peer`, '');
  let firstRowAt = 0;
  const t0 = performance.now();
  const s = await until(
    'rollup peer throughput',
    async () => {
      const p = await peerProgress(ch, db);
      if (!firstRowAt && p.workflows + p.completed > 0) firstRowAt = performance.now();
      return p.workflows >= PAIRS && p.completed >= PAIRS;
    },
    [chm],
    900_000,
  );
  const r = {
    messages: PAIRS * 2,
    secondsFromCreate: s,
    eventsPerSecondFromCreate: (PAIRS * 2) / s,
    startupSeconds: (firstRowAt - t0) / 1000,
    clickhouseCpuPercentOfOneCore: (100 * chm.cpuS) / s,
    clickhouseRssPeakMiB: chm.peakRssMiB,
    progress: await peerProgress(ch, db),
    againstExact: await peerSettled(ch, db, PAIRS, PAIRS, 120_000).then(() =>
      compareRollups(ch, exactDb, db),
    ),
  };
  console.log('rollup peer throughput', JSON.stringify(r));
  return r;
}

// ---------------------------------------------------------------- main

await admin.connect();
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
const aggs: Agg[] = [];
try {
  const topicA = `bench-${RUN}-a`;
  const dbA = `bench_${RUN}_agg`;
  const dbE = `bench_${RUN}_engine`;
  await createTopic(topicA);
  await migrate(dbA, topicA);
  if (PHASES.has('throughput')) {
    const { agg, r } = await throughput(producer, topicA, dbA);
    aggs.push(agg);
    results.throughput = r;
    await agg.stop();
  }
  if (PHASES.has('engine')) {
    if (PACK > 1) throw new Error('phase engine reads the aggregator topic, which BENCH_PACK > 1 packs');
    results.engine = await engineThroughput(topicA, dbE, PAIRS * 2);
    // The engine writes a preloaded topic in one block, so only start-to-done times compare.
    const t = results.throughput as { eventsPerSecondFromSpawn: number } | undefined;
    const e = results.engine as { eventsPerSecondFromCreate: number };
    if (t) results.ratioAggregatorOverEngine = t.eventsPerSecondFromSpawn / e.eventsPerSecondFromCreate;
  }
  const dbP = `bench_${RUN}_peer`;
  if (PHASES.has('peer')) {
    let peerTopic = topicA;
    if (PACK > 1) {
      // The same datagrams, one per record, for the engine (it cannot read a pack).
      peerTopic = `bench-${RUN}-p`;
      await createTopic(peerTopic);
      await preload(producer, peerTopic, `${HEX}aaaa`, PAIRS, 1);
    }
    results.peer = await peerThroughput(peerTopic, dbP, dbA);
    const t = results.throughput as { eventsPerSecondFromSpawn: number } | undefined;
    const p = results.peer as { eventsPerSecondFromCreate: number };
    if (t) results.ratioAggregatorOverPeer = t.eventsPerSecondFromSpawn / p.eventsPerSecondFromCreate;
  }
  if (PHASES.has('replay')) {
    // A second consumer group reads the whole topic again, for both peers, into the same tables.
    const ends = await endOffsets(topicA);
    const agg = await startAggregator(dbA, topicA, `${topicA}-agg-replay`);
    aggs.push(agg);
    await engineConsumer(dbE, topicA, `${topicA}-engine-replay`, '_replay');
    const withPeer = PHASES.has('peer');
    if (withPeer) await rollupPeer(dbP, topicA, `${topicA}-peer-replay`, '_replay');
    await until(
      'replay',
      async () =>
        (await groupCaughtUp(`${topicA}-agg-replay`, topicA, ends)) &&
        (await groupCaughtUp(`${topicA}-engine-replay`, topicA, ends)) &&
        (!withPeer || (await groupCaughtUp(`${topicA}-peer-replay`, topicA, ends))),
      [],
      300_000,
    );
    await sleep(2_000); // the engine commits after its block is written; let the MV insert land
    results.replay = {
      groundTruth: PAIRS,
      aggregator: await aggCounts(dbA),
      engine: await engineCounts(dbE),
      // the peer's own count: every launch and closure message of both reads
      peer: withPeer
        ? await peerSettled(ch, dbP, 2 * PAIRS, 2 * PAIRS, 120_000).then(() => compareRollups(ch, dbA, dbP))
        : null,
    };
    console.log('replay', JSON.stringify(results.replay));
    await agg.stop();
  }
  if (PHASES.has('duplicates')) {
    const topicD = `bench-${RUN}-dup`;
    const dbDA = `bench_${RUN}_dup_agg`;
    const dbDE = `bench_${RUN}_dup_engine`;
    await createTopic(topicD);
    await migrate(dbDA, topicD);
    await ch(`CREATE DATABASE IF NOT EXISTS ${dbDE}`);
    await preload(producer, topicD, `${HEX}dddd`, DUP_PAIRS, 2);
    const ends = await endOffsets(topicD);
    const agg = await startAggregator(dbDA, topicD, `${topicD}-agg`);
    aggs.push(agg);
    await engineConsumer(dbDE, topicD, `${topicD}-engine`, '');
    const withPeer = PHASES.has('peer');
    const dbDP = `bench_${RUN}_dup_peer`;
    if (withPeer) {
      await migrate(dbDP, topicD);
      await rollupPeer(dbDP, topicD, `${topicD}-peer`, '');
    }
    await until(
      'duplicates',
      async () =>
        (await groupCaughtUp(`${topicD}-agg`, topicD, ends)) &&
        (await groupCaughtUp(`${topicD}-engine`, topicD, ends)) &&
        (!withPeer || (await groupCaughtUp(`${topicD}-peer`, topicD, ends))),
      [],
      300_000,
    );
    await sleep(2_000);
    results.duplicates = {
      groundTruth: DUP_PAIRS,
      messages: DUP_PAIRS * 4,
      aggregator: await aggCounts(dbDA),
      engine: await engineCounts(dbDE),
      peer: withPeer
        ? await peerSettled(ch, dbDP, 2 * DUP_PAIRS, 2 * DUP_PAIRS, 120_000).then(() =>
            compareRollups(ch, dbDA, dbDP),
          )
        : null,
    };
    console.log('duplicates', JSON.stringify(results.duplicates));
    await agg.stop();
  }
  // Idle engine consumers of earlier phases would still poll Kafka during the freshness runs.
  for (const t of await ch(
    `SELECT database || '.' || name FROM system.tables WHERE engine = 'Kafka' AND database LIKE 'bench_${RUN}_%' FORMAT TSV`,
  ).then((x) => x.split('\n').filter(Boolean)))
    await ch(`DROP TABLE ${t}`);
  if (PHASES.has('fresh')) {
    const topicF = `bench-${RUN}-fresh`;
    await createTopic(topicF);
    await migrate(`bench_${RUN}_fresh`, topicF);
    results.freshnessAggregator = await freshness(producer, topicF, `bench_${RUN}_fresh`, 'aggregator');
  }
  if (PHASES.has('open')) {
    const topicO = `bench-${RUN}-open`;
    await createTopic(topicO);
    await migrate(`bench_${RUN}_open`, topicO);
    results.open = await openWorkflowsMemory(producer, topicO, `bench_${RUN}_open`);
  }
  if (PHASES.has('fresh-engine')) {
    const topicG = `bench-${RUN}-fresh-engine`;
    await createTopic(topicG);
    results.freshnessEngine = await freshness(producer, topicG, `bench_${RUN}_fresh_engine`, 'engine');
  }
} finally {
  for (const a of aggs) await a.stop();
  await producer.disconnect();
  await admin.disconnect();
  console.log(`RESULTS ${JSON.stringify(results)}`);
}
