/**
 * Where the aggregator's CPU goes per message, without Kafka or ClickHouse: decode +
 * normalise, then the join and change rows (processBatch with an empty sink).
 *   node --import tsx bench/aggregator/cpu-profile.ts [messages=60000]
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { decodeDatagram } from '@parsl-usage/schemas';
import { JoinWindow } from '@parsl-usage/aggregator/internal/join/join-window';
import { processBatch, type RawMessage } from '@parsl-usage/aggregator/internal/pipeline/processor';

const N = Number(process.argv[2] ?? 60_000);
const fx = (p: string) =>
  readFileSync(new URL(`../../schemas/fixtures/${p}`, import.meta.url)).toString('utf8');
const launch = fx('parsl-2025.03.17/level3-launch.bin');
const closure = fx('parsl-2025.03.17/level3-closure.bin');
const OLD = /"correlator":\s*"[^"]+"/;
const messages: RawMessage[] = [];
for (let i = 0; i < N / 2; i++) {
  const id = `"correlator": "${randomUUID()}"`;
  messages.push({
    offset: String(2 * i),
    value: Buffer.from(launch.replace(OLD, id)),
    receivedAtMs: Date.now(),
  });
  messages.push({
    offset: String(2 * i + 1),
    value: Buffer.from(closure.replace(OLD, id)),
    receivedAtMs: Date.now(),
  });
}
let t0 = performance.now();
for (const m of messages)
  decodeDatagram(m.value as Buffer, { receivedAtMs: 0, kafkaPartition: 0, kafkaOffset: m.offset });
const decodeMs = performance.now() - t0;
const window = new JoinWindow({ windowMs: 7 * 86_400_000, maxEntries: 1_000_000 });
t0 = performance.now();
const r = await processBatch(
  { decode: decodeDatagram, sink: { lookup: () => Promise.resolve(new Map()) }, window },
  0,
  messages,
  { changes: -1n, events: -1n },
  Date.now(),
);
const processMs = performance.now() - t0;
console.log(
  JSON.stringify({
    messages: N,
    rows: r.rows.length,
    decodeUsPerMessage: (decodeMs * 1000) / N,
    processBatchUsPerMessage: (processMs * 1000) / N,
  }),
);
