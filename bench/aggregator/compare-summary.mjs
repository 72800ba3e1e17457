// Summary of compare.sh's lines ("before {json}" / "after {json}", each run.ts's RESULTS).
import { readFileSync } from 'node:fs';

const runs = { before: [], after: [], peer: [] };
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  const m = /^(before|after) (\{.*\})$/.exec(line);
  if (!m) continue;
  const r = JSON.parse(m[2]);
  const t = r.throughput;
  // CPU per message: the aggregator's share of one core over the run from spawn, per message.
  const cpuUs = ((t.aggregatorCpuPercentOfOneCore / 100) * t.secondsFromSpawn * 1e6) / t.messages;
  runs[m[1]].push({ eventsPerSecond: t.eventsPerSecondFromSpawn, cpuUsPerMessage: cpuUs, exact: t.counts });
  if (r.peer) runs.peer.push({ eventsPerSecond: r.peer.eventsPerSecondFromCreate });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const summary = {};
for (const [side, rs] of Object.entries(runs)) {
  const eps = rs.map((r) => r.eventsPerSecond);
  const cpu = rs.map((r) => r.cpuUsPerMessage).filter((x) => x !== undefined);
  summary[side] = {
    runs: rs.length,
    eventsPerSecond: { median: median(eps), min: Math.min(...eps), max: Math.max(...eps) },
    ...(cpu.length
      ? { cpuUsPerMessage: { median: median(cpu), min: Math.min(...cpu), max: Math.max(...cpu) } }
      : {}),
    ...(rs[0]?.exact ? { counts: rs.map((r) => r.exact) } : {}),
  };
}
const ratio = (a, b) => (a && b ? a / b : null);
summary.afterOverPeer = ratio(summary.after.eventsPerSecond.median, summary.peer.eventsPerSecond.median);
summary.afterOverBefore = ratio(summary.after.eventsPerSecond.median, summary.before.eventsPerSecond.median);
console.log(`SUMMARY ${JSON.stringify(summary)}`);
