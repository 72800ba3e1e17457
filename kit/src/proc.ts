/**
 * Child processes for the soak: the relay and the aggregator run as their own node processes
 * (as in production), so that a SIGKILL is a real SIGKILL and their CPU and RSS are their own.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s
const execFileP = promisify(execFile);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Udp counters of this network namespace (host-wide: other UDP traffic is counted too). */
export async function udpCounters(): Promise<Record<string, number>> {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}

export interface PidSample {
  /** user + system CPU, seconds */
  cpuS: number;
  rssMiB: number;
}

export async function pidSample(pid: number): Promise<PidSample | null> {
  try {
    const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return {
      cpuS: (Number(stat[11]) + Number(stat[12])) / CLK_TCK,
      rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
    };
  } catch {
    return null; // exited
  }
}

/** A pid and all of its descendants (cluster workers, a container's server under its init). */
export async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const text = await readFile(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8');
      out.push(...text.trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // exited
    }
  }
  return out;
}

/**
 * CPU and RSS of a role (e.g. "aggregator") across every process it had during the run:
 * restarts give new pids, and the CPU of a pid that died is kept at its last sample.
 */
export class ResourceMeter {
  private readonly cpuByPid = new Map<number, number>();
  private rssSum = 0;
  private rssSamples = 0;
  peakRssMiB = 0;

  /** CPU a pid had already used when it was first seen, if it was running before the meter. */
  private readonly baseline = new Map<number, number>();
  private firstRecord = true;

  record(samples: Array<[number, PidSample]>): void {
    let rss = 0;
    for (const [pid, s] of samples) {
      // Processes already running at the first sample (a container, this process) count from
      // then on; processes that appear later (restarts) are new and count from zero.
      if (this.firstRecord) this.baseline.set(pid, s.cpuS);
      this.cpuByPid.set(pid, s.cpuS - (this.baseline.get(pid) ?? 0));
      rss += s.rssMiB;
    }
    if (samples.length > 0) {
      this.firstRecord = false;
      this.rssSum += rss;
      this.rssSamples += 1;
      this.peakRssMiB = Math.max(this.peakRssMiB, rss);
    }
  }

  get cpuS(): number {
    let t = 0;
    for (const v of this.cpuByPid.values()) t += v;
    return t;
  }

  get meanRssMiB(): number {
    return this.rssSamples === 0 ? 0 : this.rssSum / this.rssSamples;
  }
}

/** Prometheus text → name{labels} → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

export async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
  return parseMetrics(await res.text());
}

/** Sum of every series of a family, or of the one with these exact labels. */
export function metricSum(m: Map<string, number>, name: string, labels?: string): number {
  let sum = 0;
  for (const [k, v] of m) {
    if (labels !== undefined) {
      if (k === `${name}{${labels}}`) sum += v;
    } else if (k === name || k.startsWith(`${name}{`)) sum += v;
  }
  return sum;
}

export interface ServiceOptions {
  name: string;
  /** relay or aggregator */
  service: 'relay' | 'aggregator';
  env: Record<string, string>;
  logPath: string;
  /** Restart after an exit nobody asked for, as a service manager (Restart=always) would. */
  supervise: boolean;
}

const live = new Set<ChildProcess>();

/** For a CLI's signal handler: SIGKILL every service process this process started and that still runs. */
let shuttingDown = false;

export function killStartedServices(final = true): void {
  if (final) shuttingDown = true; // no supervisor restarts from here on
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * On Ctrl-C or SIGTERM: kill the services this process started and run `cleanup` (which may be
 * set later: it is read when the signal comes), then exit 130. Leaves nothing behind.
 */
export function cleanUpOnInterrupt(cleanup: () => () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killStartedServices();
      void cleanup()().finally(() => process.exit(130));
    });
  }
}

/** One service role; it may be killed and restarted any number of times. */
export class Service {
  child: ChildProcess | undefined;
  readonly meter = new ResourceMeter();
  starts = 0;
  unexpectedExits = 0;
  private expectingExit = false;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({
    code: null,
    signal: null,
  });
  private readonly log: WriteStream;
  private tail = '';
  private closed = false;

  constructor(readonly opts: ServiceOptions) {
    this.log = createWriteStream(opts.logPath, { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const child = spawn(process.execPath, [`services/${this.opts.service}/dist/main.js`], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...this.opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.starts += 1;
    this.expectingExit = false;
    const onData = (d: Buffer): void => {
      this.log.write(d);
      this.tail = (this.tail + d.toString()).slice(-4_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.log.write(`[bench] ${this.opts.name} pid ${child.pid} exited code=${code} signal=${signal}\n`);
        if (!this.expectingExit && !this.closed) {
          this.unexpectedExits += 1;
          if (this.opts.supervise && !shuttingDown)
            setTimeout(() => this.closed || shuttingDown || this.running || this.start(), 1_000);
        }
        resolve({ code, signal });
      }),
    );
  }

  /** Sends the signal and waits for the exit (SIGKILL after `graceMs`). */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    graceMs = 30_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited;
    this.expectingExit = true;
    this.child?.kill(signal);
    const t = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  async sample(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined || !this.running) return;
    const out: Array<[number, PidSample]> = [];
    for (const p of await processTree(pid)) {
      const s = await pidSample(p);
      if (s) out.push([p, s]);
    }
    this.meter.record(out);
  }

  output(): string {
    return this.tail;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop('SIGTERM');
    await new Promise<void>((r) => this.log.end(() => r()));
  }
}

export async function podman(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('podman', args, { timeout: 120_000 });
  return stdout.trim();
}

/** The host pid of a container's init process, or null when it is not running. */
export async function containerPid(name: string): Promise<number | null> {
  try {
    const pid = Number(await podman('inspect', '-f', '{{.State.Pid}}', name));
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
