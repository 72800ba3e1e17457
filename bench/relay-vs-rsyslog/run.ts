/**
 * Relay vs rsyslog (imudp + omkafka) as UDP -> Kafka forwarders, same broker, same load.
 *
 * Run (as root; rsyslog and rsyslog-kafka installed, relay built, podman image present):
 *   apt-get install -y rsyslog rsyslog-kafka
 *   npx tsc -b schemas services/relay
 *   node --import tsx bench/relay-vs-rsyslog/run.ts [--seconds 60] [--screen-seconds 10] \
 *        [--rates 50000,35000,25000,15000,10000,5000] [--out results.json] [--before <dir>]
 *
 * --before <dir>: a second relay build (e.g. a copy of services/relay/dist made before a
 *   change, kept inside the repository so that its packages resolve) runs as a third forwarder,
 *   `relay-before`, on its own topic and port, so that before and after are measured in the
 *   same run against the same rsyslog.
 *
 * What it does:
 * - starts its own Kafka broker (podman, localhost/parsl-usage/kafka:3.9.1, loopback only) and
 *   removes it at the end; one topic per forwarder, 3 partitions each;
 * - starts the relay (services/relay/dist/main.js, per-source rate limit raised out of the way:
 *   one sender address) and rsyslogd in the foreground (-n) with its own config, pid file and
 *   work directory (bench/relay-vs-rsyslog/rsyslog.conf.template), on other UDP ports;
 * - load: bench/relay-vs-rsyslog/sender.ts in a separate process, launch+closure pairs shaped by
 *   kit/src/datagrams.ts. Trials alternate: at each rate the relay gets a trial, then
 *   rsyslog gets the identical one (never both at once: on 2 cores a concurrent run would
 *   measure who wins the scheduler);
 * - search: short screening trials from the highest rate down until each forwarder passes
 *   (loss < 0.1 %), then a full-length confirmation at that rate, stepping down on failure;
 * - loss = sent - datagrams that reached Kafka (end-offset deltas, after the forwarder stops
 *   moving; for the relay, which packs several datagrams into one record, the records read back
 *   and their entries counted, topic-datagrams.ts); kernel drops = the receiving socket's `drops` in /proc/net/udp; CPU and RSS from
 *   /proc/<pid>; relay publish p99 from its relay_batch_latency_seconds histogram.
 * Results go to stdout and bench/relay-vs-rsyslog/<out> (default results.json).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { datagramsBetween, partitionEnds, type PartitionEnds } from './topic-datagrams.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('./', import.meta.url));
const CLK_TCK = 100;
const LOSS_LIMIT = 0.001;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}
const SECONDS = Number(arg('seconds', '60'));
const SCREEN_SECONDS = Number(arg('screen-seconds', '10'));
const OUT = arg('out', 'results.json');
const BEFORE = arg('before', '');
const RATES = arg('rates', '50000,35000,25000,15000,10000,5000')
  .split(',')
  .map(Number)
  .sort((a, b) => b - a);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freeTcp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function freeUdp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function procStats(pid: number): Promise<{ cpuS: number; rssMiB: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return {
    cpuS: (Number(stat[11]) + Number(stat[12])) / CLK_TCK,
    rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
  };
}

/** The `drops` counter of the UDP socket bound to 127.0.0.1:<port> (host network namespace). */
async function socketDrops(port: number): Promise<number> {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of (await readFile('/proc/net/udp', 'utf8')).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === hex) drops += Number(f.at(-1));
  }
  return drops;
}

async function rcvbufErrors(): Promise<number> {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

async function endOffsets(admin: Admin, topic: string): Promise<number> {
  const offs = await admin.fetchTopicOffsets(topic);
  return offs.reduce((a, o) => a + Number(o.high), 0);
}

/** Histogram buckets (le -> cumulative count) of one relay metric. */
async function relayHistogram(httpPort: number, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const hit = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`).exec(line);
    if (hit) m.set(hit[1]!, Number(hit[2]));
  }
  return m;
}

function p99(before: Map<string, number>, after: Map<string, number>): string {
  const les = [...after.keys()];
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  if (total <= 0) return 'n/a';
  for (const le of les) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= 0.99 * total)
      return le === '+Inf' ? '> max bucket' : `≤ ${Number(le) * 1000} ms`;
  }
  return 'n/a';
}

interface Target {
  name: 'relay' | 'relay-before' | 'rsyslog';
  port: number;
  topic: string;
  pid: () => number;
  httpPort?: number;
  /**
   * Counts the datagrams a trial added, for a forwarder that packs several into one record
   * (topic-datagrams.ts); without it, records are datagrams (end-offset deltas).
   */
  packed?: {
    ends: () => Promise<PartitionEnds>;
    count: (from: PartitionEnds, to: PartitionEnds) => Promise<number>;
  };
}

interface Trial {
  target: string;
  rate: number;
  seconds: number;
  sent: number;
  achievedRate: number;
  inKafka: number;
  lost: number;
  lossPct: number;
  socketDrops: number;
  hostRcvbufErrors: number;
  cpuPctOfCore: number;
  /** CPU seconds of the forwarder over the trial per datagram that reached Kafka, in us: less
   * sensitive than the loss to how much of the shared machine the forwarder was given. */
  cpuUsPerDatagram: number;
  rssMiB: number;
  publishP99: string;
  pass: boolean;
}

async function trial(admin: Admin, t: Target, rate: number, seconds: number): Promise<Trial> {
  const off0 = await endOffsets(admin, t.topic);
  const ends0 = t.packed ? await t.packed.ends() : undefined;
  const drops0 = await socketDrops(t.port);
  const rcv0 = await rcvbufErrors();
  const p0 = await procStats(t.pid());
  const h0 = t.httpPort ? await relayHistogram(t.httpPort, 'relay_batch_latency_seconds') : undefined;
  const t0 = performance.now();
  const sender = spawn(
    process.execPath,
    ['--import', 'tsx', join(HERE, 'sender.ts'), String(t.port), String(rate), String(seconds)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  sender.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let rssPeak = 0;
  const sampler = setInterval(() => {
    procStats(t.pid())
      .then((s) => (rssPeak = Math.max(rssPeak, s.rssMiB)))
      .catch(() => {});
  }, 1000);
  const code = await new Promise<number | null>((r) => sender.once('exit', r));
  if (code !== 0) throw new Error(`sender exited ${code}`);
  const s = JSON.parse(out.trim()) as { sent: number; sendErrors: number; seconds: number };
  // Drain: until Kafka holds everything sent, or the count has not moved for 3 s (30 s cap).
  let last = -1;
  let stableSince = performance.now();
  const drainDeadline = performance.now() + 30_000;
  for (;;) {
    const n = (await endOffsets(admin, t.topic)) - off0;
    if (n !== last) {
      last = n;
      stableSince = performance.now();
    }
    if (n >= s.sent || performance.now() - stableSince > 3_000 || performance.now() > drainDeadline) break;
    await sleep(250);
  }
  const wallS = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const p1 = await procStats(t.pid());
  if (t.packed && ends0) last = await t.packed.count(ends0, await t.packed.ends());
  const h1 = t.httpPort ? await relayHistogram(t.httpPort, 'relay_batch_latency_seconds') : undefined;
  const lost = s.sent - last;
  const drops = (await socketDrops(t.port)) - drops0;
  const res: Trial = {
    target: t.name,
    rate,
    seconds,
    sent: s.sent,
    achievedRate: Math.round(s.sent / s.seconds),
    inKafka: last,
    lost,
    lossPct: (100 * lost) / s.sent,
    socketDrops: drops,
    hostRcvbufErrors: (await rcvbufErrors()) - rcv0,
    // over the whole trial: sending and draining
    cpuPctOfCore: Math.round((100 * (p1.cpuS - p0.cpuS)) / wallS),
    cpuUsPerDatagram: last > 0 ? Math.round((1e6 * (p1.cpuS - p0.cpuS)) / last) : 0,
    rssMiB: Math.round(Math.max(rssPeak, p1.rssMiB)),
    publishP99: h0 && h1 ? p99(h0, h1) : 'n/a',
    // below the loss limit, and the sender really offered (almost) the asked rate
    pass: lost / s.sent < LOSS_LIMIT && s.sent / s.seconds >= 0.95 * rate,
  };
  console.log(JSON.stringify(res));
  return res;
}

async function main(): Promise<void> {
  const suffix = Date.now().toString(36);
  const kafkaPort = await freeTcp();
  const container = `relay-vs-rsyslog-kafka-${suffix}`;
  const work = await mkdtemp(join(tmpdir(), 'relay-vs-rsyslog-'));
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await sleep(1000);
    await exec('podman', ['rm', '-f', container]).catch(() => {});
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    await exec('podman', [
      'run',
      '-d',
      '--rm',
      '--name',
      container,
      '-p',
      `127.0.0.1:${kafkaPort}:${kafkaPort}`,
      '-e',
      `KAFKA_LISTENERS=PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
      '-e',
      `KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:${kafkaPort}`,
      'localhost/parsl-usage/kafka:3.9.1',
    ]);
    for (let i = 0; ; i++) {
      const { stdout, stderr } = await exec('podman', ['logs', container]);
      if ((stdout + stderr).includes('Kafka Server started')) break;
      if (i > 240) throw new Error('Kafka did not start');
      await sleep(500);
    }
    const brokers = `127.0.0.1:${kafkaPort}`;
    const kafka = new Kafka({ clientId: 'relay-vs-rsyslog', brokers: [brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = {
      relay: `bench_relay_${suffix}`,
      relayBefore: `bench_relay_before_${suffix}`,
      rejected: `bench_rejected_${suffix}`,
      rsyslog: `bench_rsyslog_${suffix}`,
    };
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.relay, numPartitions: 3 },
        { topic: topics.rejected, numPartitions: 1 },
        { topic: topics.rsyslog, numPartitions: 3 },
        { topic: topics.relayBefore, numPartitions: 3 },
      ],
    });

    // The relay (and the build before a change, when asked)
    const startRelay = async (main: string, topic: string, spool: string) => {
      const udp = await freeUdp();
      const http = await freeTcp();
      const child = spawn(process.execPath, [main], {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          PATH: process.env.PATH ?? '',
          RELAY_UDP_PORT: String(udp),
          RELAY_HTTP_PORT: String(http),
          KAFKA_BROKERS: brokers,
          RELAY_RAW_TOPIC: topic,
          RELAY_REJECTED_TOPIC: topics.rejected,
          RELAY_SPOOL_DIR: join(work, spool),
          RELAY_RATE_PER_SOURCE: '1000000000',
          RELAY_BURST_PER_SOURCE: '1000000000',
          LOG_LEVEL: 'warn',
        },
      });
      children.push(child);
      for (let i = 0; ; i++) {
        const ok = await fetch(`http://127.0.0.1:${http}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (i > 150) throw new Error(`relay ${main} did not become healthy`);
        await sleep(200);
      }
      return { udp, http, child };
    };
    const relay = await startRelay('services/relay/dist/main.js', topics.relay, 'spool');
    const before = BEFORE
      ? await startRelay(join(BEFORE, 'main.js'), topics.relayBefore, 'spool-before')
      : undefined;

    // rsyslog: same receive buffer as the relay gets (min(8 MiB, net.core.rmem_max)).
    const rmemMax = Number((await readFile('/proc/sys/net/core/rmem_max', 'utf8')).trim());
    const rsyslogUdp = await freeUdp();
    const conf = (await readFile(join(HERE, 'rsyslog.conf.template'), 'utf8'))
      .replaceAll('@WORKDIR@', work)
      .replaceAll('@PORT@', String(rsyslogUdp))
      .replaceAll('@RCVBUF@', String(Math.min(8 * 1024 * 1024, rmemMax)))
      .replaceAll('@BROKER@', brokers)
      .replaceAll('@TOPIC@', topics.rsyslog);
    await writeFile(join(work, 'rsyslog.conf'), conf);
    const rsyslog = spawn(
      '/usr/sbin/rsyslogd',
      ['-n', '-f', join(work, 'rsyslog.conf'), '-i', join(work, 'rsyslogd.pid')],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    children.push(rsyslog);
    // rsyslog is ready when its UDP socket is bound and one probe datagram reached Kafka.
    for (let i = 0; ; i++) {
      const probe = createSocket('udp4');
      await new Promise<void>((r) =>
        probe.send(Buffer.from('1{"correlator":"probe"}'), rsyslogUdp, '127.0.0.1', () => r()),
      );
      probe.close();
      await sleep(500);
      if ((await endOffsets(admin, topics.rsyslog)) > 0) break;
      if (rsyslog.exitCode !== null) throw new Error('rsyslogd exited');
      if (i > 60) throw new Error('rsyslog never published');
    }

    const targets: Target[] = [
      {
        name: 'relay',
        port: relay.udp,
        topic: topics.relay,
        pid: () => relay.child.pid!,
        httpPort: relay.http,
        packed: {
          ends: () => partitionEnds(kafka, topics.relay),
          count: (from, to) => datagramsBetween(kafka, topics.relay, from, to),
        },
      },
      { name: 'rsyslog', port: rsyslogUdp, topic: topics.rsyslog, pid: () => rsyslog.pid! },
    ];
    if (before)
      targets.splice(1, 0, {
        name: 'relay-before',
        port: before.udp,
        topic: topics.relayBefore,
        pid: () => before.child.pid!,
        httpPort: before.http,
      });
    // Warm-up, not counted: JIT, producer connections and partition metadata on both sides.
    for (const t of targets) await trial(admin, t, 2000, 3);
    const loadAvg = (await readFile('/proc/loadavg', 'utf8')).trim();
    const trials: Trial[] = [];
    const candidate = new Map<string, number>();
    // Screening: highest rate first; both forwarders at each rate until each has passed once.
    for (const rate of RATES) {
      for (const t of targets) {
        if (candidate.has(t.name)) continue;
        const r = await trial(admin, t, rate, SCREEN_SECONDS);
        trials.push(r);
        if (r.pass) candidate.set(t.name, rate);
      }
      if (candidate.size === targets.length) break;
    }
    // Confirmation at full length, stepping down on failure.
    const confirmed = new Map<string, Trial>();
    for (const t of targets) {
      const start = candidate.get(t.name);
      if (start === undefined) continue;
      for (const rate of RATES.filter((r) => r <= start)) {
        const r = await trial(admin, t, rate, SECONDS);
        trials.push(r);
        if (r.pass) {
          confirmed.set(t.name, r);
          break;
        }
      }
    }
    const ours = confirmed.get('relay');
    const previous = confirmed.get('relay-before');
    const theirs = confirmed.get('rsyslog');
    const summary = {
      date: new Date().toISOString(),
      seconds: SECONDS,
      screenSeconds: SCREEN_SECONDS,
      rates: RATES,
      rmemMax,
      loadAvgAtStart: loadAvg,
      relayMaxRate: ours?.rate ?? null,
      relayBeforeMaxRate: previous?.rate ?? null,
      before: BEFORE || null,
      rsyslogMaxRate: theirs?.rate ?? null,
      ratio: ours && theirs ? ours.rate / theirs.rate : null,
      trials,
    };
    // An absolute --out is taken as it is; a relative one is under this folder.
    await writeFile(resolve(HERE, OUT), JSON.stringify(summary, null, 2) + '\n');
    console.log(
      JSON.stringify({
        relayMaxRate: summary.relayMaxRate,
        relayBeforeMaxRate: summary.relayBeforeMaxRate,
        rsyslogMaxRate: summary.rsyslogMaxRate,
        ratio: summary.ratio,
      }),
    );
    console.log(
      '| forwarder | rate asked | achieved | seconds | sent | in Kafka | lost | socket drops | CPU % core | CPU us/datagram | RSS MiB | publish p99 | pass |',
    );
    for (const r of trials) {
      console.log(
        `| ${r.target} | ${r.rate} | ${r.achievedRate} | ${r.seconds} | ${r.sent} | ${r.inKafka} | ${r.lost} (${r.lossPct.toFixed(3)} %) | ${r.socketDrops} | ${r.cpuPctOfCore} | ${r.cpuUsPerDatagram} | ${r.rssMiB} | ${r.publishP99} | ${r.pass ? 'yes' : 'no'} |`,
      );
    }
    await admin.disconnect();
  } finally {
    await cleanup();
  }
}

await main();
