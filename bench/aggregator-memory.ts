/**
 * RSS of the aggregator's join window holding N open workflows (default 1,000,000).
 * Run: npx tsx bench/aggregator-memory.ts [N]   (or via `npm run bench:memory`)
 * Each state is a realistic level-3 launch (executors, providers, versions), built through
 * the same applyEvent the aggregator uses.
 */
import { decodeDatagram } from '@parsl-usage/schemas';
import { JoinWindow } from '@parsl-usage/aggregator/internal/join/join-window';
import { applyEvent } from '@parsl-usage/aggregator/internal/join/workflow-state';

const n = Number(process.argv[2] ?? 1_000_000);
const mib = (b: number) => (b / 1_048_576).toFixed(0);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const base = process.memoryUsage();
const window = new JoinWindow({ maxEntries: n + 1, windowMs: 7 * 86_400_000 });
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const id = `${i.toString(16).padStart(8, '0')}-4b1c-4d2e-9f3a-${(i * 7919).toString(16).padStart(12, '0')}`;
  const bytes = Buffer.from(
    '1' +
      JSON.stringify({
        correlator: id,
        parsl_v: '2025.03.17',
        python_v: '3.12.2',
        'platform.system': 'Linux',
        tracking_level: 3,
        start: 1_790_000_000 + i,
        components: [
          { c: 'parsl.config.Config', executors_len: 1, dependency_resolver: false },
          { c: 'parsl.executors.high_throughput.executor.HighThroughputExecutor', mpi: false },
          'parsl.providers.slurm.slurm.SlurmProvider',
          'parsl.launchers.launchers.SrunLauncher',
        ],
      }),
  );
  const d = decodeDatagram(bytes, {
    receivedAtMs: 1_790_000_000_000 + i,
    kafkaPartition: i % 6,
    kafkaOffset: String(i),
  });
  if (d.kind !== 'ok') throw new Error(`fixture rejected: ${d.reason}`);
  const r = applyEvent(null, d.event);
  if (r.changed) window.put(i % 6, r.next, 0);
}
for (let p = 0; p < 6; p++) window.markFlushed(p);
const buildMs = performance.now() - t0;
gc?.();
const settledAt = process.memoryUsage();
// V8 gives back heap pages lazily (its memory reducer runs when the process is idle): the RSS of
// a long-running aggregator is the settled one, so measure both, right after and after 10 s idle.
await new Promise((r) => setTimeout(r, 10_000));
gc?.();
const after = process.memoryUsage();
console.log(
  JSON.stringify({
    openWorkflows: window.size,
    rssRightAfterBuildMiB: Number(mib(settledAt.rss)),
    rssMiB: Number(mib(after.rss)),
    rssDeltaMiB: Number(mib(after.rss - base.rss)),
    heapUsedMiB: Number(mib(after.heapUsed)),
    arrayBuffersMiB: Number(mib(after.arrayBuffers)),
    heapTotalMiB: Number(mib(after.heapTotal)),
    // heap plus typed-array columns (the packed states live outside the JS heap)
    bytesPerWorkflow: Math.round(
      (after.heapUsed - base.heapUsed + after.arrayBuffers - base.arrayBuffers) / window.size,
    ),
    buildSeconds: Number((buildMs / 1000).toFixed(1)),
    node: process.version,
  }),
);
