/**
 * The relay's per-datagram metric updates in isolation: what `onDatagram` (services/relay/src/app.ts)
 * does to the counters for every datagram, and what one scrape costs, for two builds of the relay;
 * and, beside it, the aggregator's per-batch updates through services/common's `Metrics` (what
 * `BatchHandler.count` and the insert path do once per partition batch).
 *
 * Run (both builds compiled; the older one in a worktree with its own node_modules):
 *   git worktree add --detach /tmp/relay-before <sha>; cp -a node_modules /tmp/relay-before/
 *   (cd /tmp/relay-before && npx tsc -b schemas services/common services/relay)
 *   npx tsc -b schemas services/common services/relay
 *   node --import tsx bench/relay-metrics-hot-path.ts --before /tmp/relay-before/services/relay/dist \
 *        [--rounds 3] [--datagrams 5000000]
 *
 * Each measurement is a fresh node process (its own JIT state), alternating after, before,
 * after, before...: ns per datagram for the counter updates (received, then accepted, rejected
 * by one of four reasons, or rate limited, in the mix the fuzz test sees), and ms per scrape of
 * the whole registry; µs per aggregator batch.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

interface Counter {
  inc(labels?: Record<string, string>, by?: number): void;
}
interface Built {
  received: Counter;
  accepted: Counter;
  rejected: Counter;
  rateLimited: Counter;
  render(): string | Promise<string>;
}

async function child(dist: string, datagrams: number): Promise<void> {
  const mod = (await import(pathToFileURL(join(dist, 'metrics.js')).href)) as { createMetrics(): Built };
  const m = mod.createMetrics();
  const reasons = ['too_large', 'bad_prefix', 'bad_json', 'no_id'];
  const step = (i: number): void => {
    m.received.inc();
    switch (i % 4) {
      case 0:
        m.rateLimited.inc();
        break;
      case 1:
        m.rejected.inc({ reason: reasons[(i >> 2) % 4] ?? 'other' });
        break;
      default:
        m.accepted.inc();
    }
  };
  for (let i = 0; i < 1_000_000; i++) step(i); // warm-up: JIT
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < datagrams; i++) step(i);
  const ns = Number(process.hrtime.bigint() - t0) / datagrams;
  for (let i = 0; i < 20; i++) await m.render();
  const s0 = process.hrtime.bigint();
  const scrapes = 200;
  for (let i = 0; i < scrapes; i++) await m.render();
  const scrapeMs = Number(process.hrtime.bigint() - s0) / 1e6 / scrapes;
  const common = (await import(pathToFileURL(join(dist, '../../common/dist/metrics.js')).href)) as {
    Metrics: new () => CommonMetrics;
  };
  const agg = new common.Metrics();
  const batch = (i: number): void => {
    agg.inc('aggregator_messages_total', 'messages consumed', 500);
    agg.observe('aggregator_batch_messages', 'messages per batch', 500);
    agg.inc('aggregator_events_total', 'decoded events applied', 480);
    agg.inc('aggregator_duplicates_total', 'events that changed nothing', 10);
    agg.inc('aggregator_replayed_skipped_total', 'messages already in ClickHouse', 0);
    agg.inc('aggregator_lookup_ids_total', 'workflow ids looked up in ClickHouse', 5);
    agg.inc('aggregator_rows_inserted_total', 'change rows inserted', 490);
    agg.inc('aggregator_inserts_total', 'inserts into workflow_changes', 1);
    agg.observe('aggregator_insert_seconds', 'ClickHouse insert latency', (i % 100) / 1000, {
      table: 'changes',
    });
  };
  const batches = 200_000;
  for (let i = 0; i < batches; i++) batch(i); // warm-up: JIT
  const b0 = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) batch(i);
  const usPerBatch = Number(process.hrtime.bigint() - b0) / 1e3 / batches;
  console.log(
    JSON.stringify({
      nsPerDatagram: Number(ns.toFixed(2)),
      scrapeMs: Number(scrapeMs.toFixed(3)),
      usPerAggregatorBatch: Number(usPerBatch.toFixed(3)),
    }),
  );
}

interface CommonMetrics {
  inc(name: string, help: string, by?: number, labels?: Record<string, string>): void;
  observe(name: string, help: string, value: number, labels?: Record<string, string>): void;
}

function main(): void {
  const before = arg('before', '');
  if (!before) throw new Error('--before <dir of the older relay dist> is required');
  const after = join(ROOT, 'services/relay/dist');
  const rounds = Number(arg('rounds', '3'));
  const datagrams = arg('datagrams', '5000000');
  const rows: {
    build: string;
    round: number;
    nsPerDatagram: number;
    scrapeMs: number;
    usPerAggregatorBatch: number;
  }[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const [build, dist] of [
      ['after', after],
      ['before', before],
    ] as const) {
      const out = spawnSync(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dist, '--datagrams', datagrams],
        { cwd: ROOT, encoding: 'utf8' },
      );
      if (out.status !== 0) throw new Error(`${build}: ${out.stderr}`);
      const res = JSON.parse(out.stdout.trim()) as (typeof rows)[number];
      rows.push({ ...res, build, round: r });
      console.log(JSON.stringify(rows.at(-1)));
    }
  }
  console.log(
    '| round | build | relay: ns per datagram (counters) | relay: ms per scrape | aggregator: µs per batch |',
  );
  console.log('|---|---|---|---|---|');
  for (const x of rows)
    console.log(
      `| ${x.round} | ${x.build} | ${x.nsPerDatagram} | ${x.scrapeMs} | ${x.usPerAggregatorBatch} |`,
    );
}

const childDist = arg('child', '');
if (childDist) await child(childDist, Number(arg('datagrams', '5000000')));
else main();
