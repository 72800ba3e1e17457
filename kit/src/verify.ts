/**
 * After the soak: read back what Kafka and ClickHouse hold and compare it with the ledger.
 * Two comparisons, because a datagram can be lost by design before the relay has it
 * (kernel buffer, relay down, rate limit, full spool) but must never be lost after:
 * - vs ground truth (what the generator sent),
 * - vs what reached Kafka's raw topic, which must match ClickHouse exactly.
 */
import { Kafka, logLevel } from 'kafkajs';
import { openRecord, recordEntries, sniff } from '@parsl-usage/schemas';
import { decodeCode, expectedOf, KINDS, NS, type Ledger, type Status } from './generator.js';

export interface Totals {
  workflows: number;
  launched: number;
  running: number;
  completed: number;
  closure_only: number;
  points: number;
  apps: number;
  app_fails: number;
}

export const emptyTotals = (): Totals => ({
  workflows: 0,
  launched: 0,
  running: 0,
  completed: 0,
  closure_only: 0,
  points: 0,
  apps: 0,
  app_fails: 0,
});

export interface ClickHouseAccess {
  url: string;
  user: string;
  password: string;
  database: string;
}

export async function chQuery(ch: ClickHouseAccess, sql: string, timeoutMs = 120_000): Promise<string> {
  const u = new URL(ch.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) throw new Error('loopback only');
  // Only SELECTs come through here, so a retry is safe: a reused keep-alive socket that the
  // server closed ("other side closed") is not an answer.
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${ch.url}/?database=${ch.database}`, {
        method: 'POST',
        headers: { 'X-ClickHouse-User': ch.user, 'X-ClickHouse-Key': ch.password, Connection: 'close' },
        body: sql,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${text.slice(0, 300)}`);
      return text;
    } catch (err) {
      if (attempt >= 3 || (err instanceof Error && err.message.startsWith('ClickHouse '))) throw err;
      await new Promise((r) => setTimeout(r, 1_000 * attempt));
    }
  }
}

/** Rows of a SELECT as JSONEachRow: strings read back exactly (TabSeparated writes `\` as `\\`). */
export async function chRows<T>(ch: ClickHouseAccess, sql: string, timeoutMs?: number): Promise<T[]> {
  const text = await chQuery(ch, `${sql} FORMAT JSONEachRow`, timeoutMs);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

export interface TopicContents {
  /** raw topic: id → bits seen (1 launch, 2 closure), for workflow, probe and flood ids */
  received: Map<string, number>;
  rawMessages: number;
  rawByNs: Record<string, number>;
  /** rejected topic: "stage/reason" → messages */
  rejected: Map<string, number>;
}

/** The workflow id of a datagram that came without a key (an entry of a pack), as the relay sniffed it. */
function keyOf(value: Buffer | null): Buffer | null {
  if (value === null) return null;
  const sniffed = sniff(openRecord(value).datagram);
  return sniffed.kind === 'ok' ? Buffer.from(sniffed.id) : null;
}

/** Reads a topic from the beginning to its current end, one call per datagram. */
async function readTopic(
  kafka: Kafka,
  topic: string,
  onMessage: (key: Buffer | null, value: Buffer | null, headers: Record<string, unknown>) => void,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map<number, bigint>();
  for (const p of ends) if (BigInt(p.high) > BigInt(p.low)) remaining.set(p.partition, BigInt(p.high) - 1n);
  if (remaining.size === 0) return 0;
  const consumer = kafka.consumer({
    groupId: `bench-reader-${topic}-${Date.now()}`,
    maxBytesPerPartition: 8 << 20,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 600_000);
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const last = remaining.get(batch.partition);
          for (const m of batch.messages) {
            if (last === undefined || BigInt(m.offset) > last) break;
            // One call per datagram: a pack (record format 3) holds several.
            for (const value of m.value === null ? [null] : recordEntries(m.value)) {
              n += 1;
              onMessage(m.key ?? keyOf(value), value, m.headers ?? {});
            }
          }
          if (last !== undefined && BigInt(batch.lastOffset()) >= last) {
            remaining.delete(batch.partition);
            consumer.pause([{ topic, partitions: [batch.partition] }]);
          }
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
          await Promise.resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return n;
}

const header = (h: Record<string, unknown>, k: string): string => {
  const v = h[k];
  return Buffer.isBuffer(v) ? v.toString() : typeof v === 'string' ? v : '';
};

export async function readTopics(
  brokers: string[],
  topics: { raw: string; rejected: string },
): Promise<TopicContents> {
  const kafka = new Kafka({ clientId: 'bench-reader', brokers, logLevel: logLevel.NOTHING });
  const out: TopicContents = { received: new Map(), rawMessages: 0, rawByNs: {}, rejected: new Map() };
  const closureMarker = Buffer.from('"end":');
  out.rawMessages = await readTopic(kafka, topics.raw, (key, value) => {
    const id = key?.toString() ?? '';
    const ns = id.slice(9, 13);
    out.rawByNs[ns] = (out.rawByNs[ns] ?? 0) + 1;
    if (ns === NS.garbage) return;
    // Every closure of every generation carries "end", no launch does (schemas/src/decode.ts).
    const bit = value !== null && value.includes(closureMarker) ? 2 : 1;
    out.received.set(id, (out.received.get(id) ?? 0) | bit);
  });
  await readTopic(kafka, topics.rejected, (_k, _v, h) => {
    const stage = header(h, 'stage') || 'relay';
    const k = `${stage}/${header(h, 'reason')}`;
    out.rejected.set(k, (out.rejected.get(k) ?? 0) + 1);
  });
  return out;
}

export interface Comparison {
  expected: number;
  found: number;
  missing: number;
  wrongStatus: number;
  unexpected: number;
  statusExpected: Record<Status, number>;
  totalsExpected: Totals;
}

/**
 * The ReplacingMergeTree of per-workflow facts: `workflow_versions` since migration 005 made
 * `workflows` an analyst view over it, `workflows` before. Both are ORDER BY workflow_id.
 */
export async function factsTable(ch: ClickHouseAccess): Promise<string> {
  const exists = await chQuery(ch, 'EXISTS TABLE workflow_versions FORMAT TabSeparated');
  return exists.trim() === '1' ? 'workflow_versions' : 'workflows';
}

/** workflow id → stored status (the facts table, with FINAL). */
export async function workflowStatuses(ch: ClickHouseAccess): Promise<Map<string, string>> {
  const rows = await chRows<{ workflow_id: string; status: string }>(
    ch,
    `SELECT workflow_id, status FROM ${await factsTable(ch)} FINAL`,
    600_000,
  );
  return new Map(rows.map((r) => [r.workflow_id, r.status]));
}

/** Expected state of every id, from ids → bits; flood ids are level-1 launches. */
export function compare(
  ledger: Ledger,
  bitsById: Map<string, number>,
  stored: Map<string, string>,
  includeFlood: boolean,
): Comparison {
  const statusExpected: Record<Status, number> = { launched: 0, running: 0, completed: 0, closure_only: 0 };
  const totals = emptyTotals();
  let expected = 0;
  let found = 0;
  let missing = 0;
  let wrongStatus = 0;
  const seen = new Set<string>();
  for (const [id, bits] of bitsById) {
    let kind = KINDS[0]!;
    const code = ledger.workflows.get(id);
    if (code !== undefined) kind = decodeCode(code).kind;
    else if (!(includeFlood && ledger.floodIds.has(id))) continue;
    const e = expectedOf(kind, bits);
    if (e === null) continue;
    expected += 1;
    statusExpected[e.status] += 1;
    totals.workflows += 1;
    totals[e.status] += 1;
    totals.points += e.points;
    totals.apps += e.apps;
    totals.app_fails += e.fails;
    seen.add(id);
    const s = stored.get(id);
    if (s === undefined) missing += 1;
    else {
      found += 1;
      if (s !== e.status) wrongStatus += 1;
    }
  }
  let unexpected = 0;
  for (const id of stored.keys()) {
    if (seen.has(id)) continue;
    if (!includeFlood && ledger.floodIds.has(id)) continue;
    unexpected += 1;
  }
  return { expected, found, missing, wrongStatus, unexpected, statusExpected, totalsExpected: totals };
}

export async function rollupTotals(ch: ClickHouseAccess): Promise<Totals> {
  const line = await chQuery(
    ch,
    `SELECT sum(workflows), sum(launched), sum(running), sum(completed), sum(closure_only), sum(points), sum(apps), sum(app_fails)
     FROM rollup_daily FORMAT TabSeparated`,
  );
  const v = line.trim().split('\t').map(Number);
  return {
    workflows: v[0] ?? 0,
    launched: v[1] ?? 0,
    running: v[2] ?? 0,
    completed: v[3] ?? 0,
    closure_only: v[4] ?? 0,
    points: v[5] ?? 0,
    apps: v[6] ?? 0,
    app_fails: v[7] ?? 0,
  };
}

/** Workflows whose signed rows do not net to exactly one: double counts (> 1) or retractions without a row (< 1). */
export async function doubleCounts(
  ch: ClickHouseAccess,
): Promise<{ over: number; under: number; changeRows: number }> {
  const line = await chQuery(
    ch,
    `SELECT countIf(s > 1), countIf(s < 1), sum(n) FROM
       (SELECT workflow_id, sum(sign) AS s, count() AS n FROM workflow_changes GROUP BY workflow_id)
     FORMAT TabSeparated`,
  );
  const [over, under, rows] = line.trim().split('\t').map(Number);
  return { over: over ?? 0, under: under ?? 0, changeRows: rows ?? 0 };
}

/** receive → insert, whole seconds (both columns are DateTime): rows that first made a launch visible. */
export async function insertLagSeconds(ch: ClickHouseAccess): Promise<number[]> {
  const line = await chQuery(
    ch,
    `SELECT quantiles(0.5, 0.95, 0.99)(toInt64(inserted_at) - toInt64(launch_received_at))
     FROM workflow_changes WHERE sign = 1 AND has_launch = 1 AND status IN ('launched', 'running')
     FORMAT TabSeparated`,
  );
  return line.trim().replace(/[[\]]/g, '').split(',').map(Number);
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
