/**
 * End-to-end soak: generator → relay → Kafka → aggregator → ClickHouse on this machine.
 *
 *   npx tsc -b schemas services/relay services/aggregator
 *   node --import tsx bench/e2e/soak.ts [--duration 600] [--rate 5000] [--partitions 6]
 *        [--relay-workers 1] [--aggregators 1] [--kafka-port 39092] [--clickhouse-port 38123] [--json out.json]
 *
 * --relay-env / --agg-env take KEY=VALUE,KEY=VALUE for the services (e.g. --agg-env LOG_LEVEL=debug).
 * --duration is seconds, --rate datagrams/s. Kafka and ClickHouse are podman containers from
 * the local images on the given loopback ports (removed afterwards), unless KAFKA_BROKERS and
 * CLICKHOUSE_URL point at a stack you already have. Traffic goes only to 127.0.0.1, from
 * 127.0.0.2-254 so the relay's per-source limit stays at its default (50/s per address).
 * Exit code 0 when every check passes.
 */
import { writeFileSync } from 'node:fs';
import { envList, flags, num } from '@parsl-usage/kit/cli';
import { formatReport, runSoak } from '@parsl-usage/kit/soak';
import { cleanUpOnInterrupt, killStartedServices } from '@parsl-usage/kit/proc';
import { startStack } from '@parsl-usage/kit/stack';

const f = flags(process.argv.slice(2));
let stopStack = async (): Promise<void> => {};
// Ctrl-C: the services are our children and the containers ours; leave nothing behind.
cleanUpOnInterrupt(() => stopStack);
const stack = await startStack({
  kafkaPort: num(f, 'kafka-port', 39_092),
  clickhousePort: num(f, 'clickhouse-port', 38_123),
  prefix: 'parsl-soak',
});
if (f.get('keep') !== 'true') stopStack = stack.stop;
let code = 1;
try {
  const result = await runSoak({
    label: 'soak',
    brokers: stack.brokers,
    clickhouseUrl: stack.clickhouseUrl,
    rate: num(f, 'rate', 5_000),
    durationMs: num(f, 'duration', 600) * 1000,
    partitions: num(f, 'partitions', 6),
    relayWorkers: num(f, 'relay-workers', 1),
    aggregators: num(f, 'aggregators', 1),
    containers: stack.containers,
    relayEnv: envList(f.get('relay-env')),
    aggregatorEnv: envList(f.get('agg-env')),
  });
  console.log(formatReport(result));
  const out = f.get('json');
  if (out)
    writeFileSync(
      out,
      JSON.stringify({ ...result, freshness: { ...result.freshness, timeline: undefined } }, null, 2),
    );
  code = result.pass ? 0 : 1;
} catch (err) {
  console.error(err);
  killStartedServices(); // a failed run must not leave a relay or an aggregator behind
} finally {
  if (f.get('keep') !== 'true') await stack.stop();
}
process.exit(code);
