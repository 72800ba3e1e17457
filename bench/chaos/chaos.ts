/**
 * The soak with faults: every scenario of bench/chaos/scenarios.ts, each on fresh topics and a
 * fresh database, reported separately.
 *
 *   npx tsc -b schemas services/relay services/aggregator
 *   node --import tsx bench/chaos/chaos.ts [--scenarios kafka-kill,aggregator-kill,...|all]
 *        [--duration 90] [--rate 2000] [--kafka-port 39192] [--clickhouse-port 38223] [--json out.json]
 *
 * --duration is seconds per scenario (clickhouse-stop runs at least 150), --rate datagrams/s.
 * Pass per scenario: no datagram lost between Kafka and ClickHouse, no relay drop that is not
 * by design, no double count, rollups exact, and probe lag under 1 s within 60 s of recovery.
 */
import { writeFileSync } from 'node:fs';
import { envList, flags, num } from '@parsl-usage/kit/cli';
import { formatReport, runSoak, type SoakResult } from '@parsl-usage/kit/soak';
import { cleanUpOnInterrupt, killStartedServices } from '@parsl-usage/kit/proc';
import { startStack } from '@parsl-usage/kit/stack';
import { SCENARIOS } from './scenarios.js';

const f = flags(process.argv.slice(2));
let stopStack = async (): Promise<void> => {};
// Ctrl-C: the services are our children and the containers ours; leave nothing behind.
cleanUpOnInterrupt(() => stopStack);
const wanted = (f.get('scenarios') ?? 'all').split(',');
const chosen = SCENARIOS.filter((s) => wanted.includes('all') || wanted.includes(s.name));
if (chosen.length === 0) {
  console.error(`no such scenario; choose from ${SCENARIOS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const durationMs = num(f, 'duration', 90) * 1000;
const rate = num(f, 'rate', 2_000);
const stack = await startStack({
  kafkaPort: num(f, 'kafka-port', 39_192),
  clickhousePort: num(f, 'clickhouse-port', 38_223),
  prefix: 'parsl-chaos',
});
if (f.get('keep') !== 'true') stopStack = stack.stop;
const results: Array<{
  scenario: string;
  what: string;
  byDesign?: string;
  result?: SoakResult;
  error?: string;
}> = [];
try {
  for (const s of chosen) {
    const extra = s.options({ durationMs, rate });
    // 20 s before the stop + 60 s stopped + restart + 60 s to show the recovery.
    const d = s.name === 'clickhouse-stop' ? Math.max(durationMs, 150_000) : durationMs;
    try {
      const result = await runSoak({
        label: `chaos ${s.name}`,
        brokers: stack.brokers,
        clickhouseUrl: stack.clickhouseUrl,
        containers: stack.containers,
        rate,
        durationMs: d,
        ...extra,
        relayEnv: { ...extra.relayEnv, ...envList(f.get('relay-env')) },
        aggregatorEnv: { ...extra.aggregatorEnv, ...envList(f.get('agg-env')) },
      });
      console.log(`\n--- ${s.name}: ${s.what}`);
      if (s.byDesign) console.log(`by design: ${s.byDesign}`);
      console.log(formatReport(result));
      results.push({
        scenario: s.name,
        what: s.what,
        ...(s.byDesign ? { byDesign: s.byDesign } : {}),
        result,
      });
    } catch (err) {
      console.log(`\n--- ${s.name}: ERROR ${(err as Error).stack ?? String(err)}`);
      killStartedServices(false); // the next scenario starts its own
      results.push({ scenario: s.name, what: s.what, error: String(err) });
    }
  }
} finally {
  if (f.get('keep') !== 'true') await stack.stop();
}
console.log('\n=== chaos summary');
for (const r of results) {
  console.log(
    `${r.scenario.padEnd(16)} ${r.error ? `ERROR ${r.error}` : r.result?.pass ? 'PASS' : `FAIL: ${r.result?.failures.join('; ')}`}`,
  );
}
const out = f.get('json');
if (out) {
  writeFileSync(
    out,
    JSON.stringify(
      results.map((r) => ({
        ...r,
        result: r.result
          ? { ...r.result, freshness: { ...r.result.freshness, timeline: undefined } }
          : undefined,
      })),
      null,
      2,
    ),
  );
}
process.exit(results.every((r) => r.result?.pass) ? 0 : 1);
