/**
 * Load generator for bench/relay-vs-rsyslog/run.ts, run as its own process:
 *   node --import tsx bench/relay-vs-rsyslog/sender.ts <port> <datagrams/s> <seconds>
 * Sends Parsl-shaped launch+closure pairs (kit/src/datagrams.ts) to 127.0.0.1:<port>,
 * paced in 1 ms slices, and prints one JSON line:
 * { sent, sendErrors, seconds, bytes }.
 */
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';

const PORT = Number(process.argv[2]);
const RATE = Number(process.argv[3]);
const SECONDS = Number(process.argv[4] ?? 60);
if (!PORT || !RATE) throw new Error('usage: sender.ts <port> <datagrams/s> <seconds>');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const total = Math.round(RATE * SECONDS);
  const sock = createSocket('udp4');
  sock.on('error', () => sendErrors++);
  let sent = 0;
  let sendErrors = 0;
  let bytes = 0;
  // 25,000 distinct workflows (launch, closure, launch, closure, ...), built before the clock
  // starts and cycled, so the sender spends its CPU on sending, not on JSON.stringify.
  const pool: Buffer[] = [];
  for (let i = 0; i < 25_000; i++) {
    const id = randomUUID();
    pool.push(v1Launch(id, { start: 1_790_000_000 + i }), v1Closure(id, { end: 1_790_000_100 + i }));
  }
  const onSent = (err: Error | null) => {
    if (err) sendErrors++;
  };
  const t0 = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
    while (sent < due) {
      const d = pool[sent % pool.length]!;
      sock.send(d, PORT, '127.0.0.1', onSent);
      bytes += d.length;
      sent++;
    }
    await sleep(1);
  }
  const seconds = (performance.now() - t0) / 1000;
  await new Promise<void>((r) => sock.close(() => r()));
  process.stdout.write(JSON.stringify({ sent, sendErrors, seconds, bytes }) + '\n');
}

await main();
