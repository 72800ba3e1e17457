/**
 * UDP relay throughput over loopback into a real Kafka.
 *
 * Run (relay built first, Kafka reachable on loopback):
 *   npx tsc -b services/relay
 *   KAFKA_BROKERS=127.0.0.1:19092 npx tsx bench/relay-throughput.ts [N=200000] [rate/s=20000] [workers=1]
 * A throwaway broker from the project image:
 *   podman run -d --rm --name relay-bench-kafka -p 127.0.0.1:19092:19092 \
 *     -e KAFKA_LISTENERS=PLAINTEXT://:19092,CONTROLLER://:9093 \
 *     -e KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:19092 localhost/parsl-usage/kafka:3.9.1
 *
 * The relay runs as its own process (node services/relay/dist/main.js) so its CPU and RSS are
 * its own. Every datagram comes from 127.0.0.1, so the per-source rate limit is raised out of
 * the way: this measures the pipeline, not the limiter. Kernel drops come from /proc/net/snmp,
 * which is host-wide: other UDP traffic during the run is counted too.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

const N = Number(process.argv[2] ?? 200_000);
const RATE = Number(process.argv[3] ?? 20_000); // datagrams/s
const WORKERS = Number(process.argv[4] ?? 1);
const BROKERS = process.env.KAFKA_BROKERS;
if (!BROKERS) throw new Error('set KAFKA_BROKERS to a reachable broker, e.g. 127.0.0.1:19092');
const CLK_TCK = 100; // Linux USER_HZ

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function udpCounters(): Promise<Record<string, number>> {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}

/** user+system CPU seconds and RSS of a process tree's root and its direct children. */
async function procStats(pids: number[]): Promise<{ cpuS: number; rssMiB: number; hwmMiB: number }> {
  let cpu = 0;
  let rss = 0;
  let hwm = 0;
  for (const pid of pids) {
    try {
      const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      cpu += (Number(stat[11]) + Number(stat[12])) / CLK_TCK; // utime, stime
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      // exited
    }
  }
  return { cpuS: cpu, rssMiB: rss, hwmMiB: hwm };
}

async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Summed over workers: worker i serves /metrics on the base HTTP port + i. */
async function metric(httpPort: number, name: string): Promise<number> {
  let sum = 0;
  for (let w = 0; w < WORKERS; w++) {
    const text = await (await fetch(`http://127.0.0.1:${httpPort + w}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.split(' ').at(-1));
    }
  }
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function datagram(i: number): Buffer {
  const id = `${i.toString(16).padStart(8, '0')}-4b1c-4d2e-9f3a-${(i * 7919).toString(16).padStart(12, '0')}`;
  return Buffer.from(
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
        ],
      }),
  );
}

async function main(): Promise<void> {
  const suffix = `${Date.now().toString(36)}`;
  const topics = { raw: `bench_raw_${suffix}`, rejected: `bench_rejected_${suffix}` };
  const kafka = new Kafka({
    clientId: 'relay-bench',
    brokers: BROKERS!.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.raw, numPartitions: 6 },
      { topic: topics.rejected, numPartitions: 1 },
    ],
  });

  const udpPort = await freePort();
  const httpPort = await freePort();
  const spoolDir = await mkdtemp(join(tmpdir(), 'relay-bench-'));
  // e.g. BENCH_RELAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/relay-prof' to profile the relay
  const nodeArgs = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const relay = spawn(process.execPath, [...nodeArgs, 'services/relay/dist/main.js'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      RELAY_UDP_PORT: String(udpPort),
      RELAY_HTTP_PORT: String(httpPort),
      RELAY_WORKERS: String(WORKERS),
      KAFKA_BROKERS: BROKERS,
      RELAY_RAW_TOPIC: topics.raw,
      RELAY_REJECTED_TOPIC: topics.rejected,
      RELAY_SPOOL_DIR: spoolDir,
      RELAY_RATE_PER_SOURCE: '1000000000',
      RELAY_BURST_PER_SOURCE: '1000000000',
      LOG_LEVEL: 'warn',
    },
  });
  for (let i = 0; ; i++) {
    try {
      const all = await Promise.all(
        Array.from({ length: WORKERS }, (_, w) => fetch(`http://127.0.0.1:${httpPort + w}/healthz`)),
      );
      if (all.every((r) => r.ok)) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error('relay did not become healthy');
    await sleep(100);
  }
  const pids = async () => [relay.pid!, ...(await childPids(relay.pid!))];

  const payloads = Array.from({ length: 1000 }, (_, i) => datagram(i));
  const bytesPer = payloads.reduce((a, b) => a + b.length, 0) / payloads.length;
  const snmp0 = await udpCounters();
  const proc0 = await procStats(await pids());
  const sock = createSocket('udp4');
  const t0 = performance.now();
  let sent = 0;
  let sendErrors = 0;
  // Paced in 1 ms slices: each slice sends what the target rate owes by then.
  while (sent < N) {
    const due = Math.min(N, Math.floor(((performance.now() - t0) / 1000) * RATE));
    while (sent < due) {
      sock.send(payloads[sent % payloads.length]!, udpPort, '127.0.0.1', (err) => {
        if (err) sendErrors++;
      });
      sent++;
    }
    await sleep(1);
  }
  const sendS = (performance.now() - t0) / 1000;

  // Wait until Kafka has acknowledged everything the relay accepted, or it stops moving.
  let published = -1;
  let stableSince = performance.now();
  for (;;) {
    const p = await metric(httpPort, 'relay_published_total');
    const received = await metric(httpPort, 'relay_received_total');
    if (p !== published) {
      published = p;
      stableSince = performance.now();
    }
    if ((p >= received && received > 0 && received >= N - 1) || performance.now() - stableSince > 3_000)
      break;
    await sleep(20);
  }
  const totalS = (performance.now() - t0) / 1000;
  const proc1 = await procStats(await pids());
  const snmp1 = await udpCounters();
  const received = await metric(httpPort, 'relay_received_total');
  const accepted = await metric(httpPort, 'relay_accepted_total');
  const spooled = await metric(httpPort, 'relay_spooled_total');
  const dropped = await metric(httpPort, 'relay_dropped_total');
  const p50 = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const offsets = await admin.fetchTopicOffsets(topics.raw);
  const inKafka = offsets.reduce((a, o) => a + Number(o.high) - Number(o.low), 0);
  sock.close();
  relay.kill('SIGTERM');
  await new Promise((r) => relay.once('exit', r));
  await admin.deleteTopics({ topics: [topics.raw, topics.rejected] }).catch(() => undefined);
  await admin.disconnect();
  await rm(spoolDir, { recursive: true, force: true });

  const cpuS = proc1.cpuS - proc0.cpuS;
  const d = (k: string) => (snmp1[k] ?? 0) - (snmp0[k] ?? 0);
  const lat = /relay_batch_latency_seconds_sum (\S+)\nrelay_batch_latency_seconds_count (\S+)/.exec(p50);
  console.log(
    JSON.stringify(
      {
        target: { datagrams: N, ratePerS: RATE, workers: WORKERS, bytesPerDatagram: Math.round(bytesPer) },
        sender: {
          sent,
          sendErrors,
          sendSeconds: +sendS.toFixed(2),
          achievedRatePerS: Math.round(sent / sendS),
        },
        relay: {
          received,
          accepted,
          acceptedPerS: Math.round(accepted / sendS),
          publishedAcked: published,
          spooled,
          dropped,
          inKafkaRawTopic: inKafka,
          endToEndSeconds: +totalS.toFixed(2),
          meanBatchLatencyMs: lat ? +((Number(lat[1]) / Number(lat[2])) * 1000).toFixed(2) : null,
          batches: lat ? Number(lat[2]) : null,
        },
        kernel: {
          udpInErrors: d('InErrors'),
          udpRcvbufErrors: d('RcvbufErrors'),
          udpInDatagrams: d('InDatagrams'),
        },
        process: {
          cpuSeconds: +cpuS.toFixed(2),
          cpuPercentOfOneCore: +((cpuS / totalS) * 100).toFixed(0),
          rssMiB: +proc1.rssMiB.toFixed(0),
          peakRssMiB: +proc1.hwmMiB.toFixed(0),
        },
      },
      null,
      2,
    ),
  );
}

await main();
