/**
 * promtool (Debian's prometheus package, installed by infra/scripts/setup-host.sh) for the
 * metrics tests of every service: whether /metrics text parses as Prometheus reads it.
 */
import { execFileSync } from 'node:child_process';

export function havePromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Exit 0 (clean) or 3 (lint findings only); a text Prometheus cannot parse exits 1. */
export function promtoolCheck(text: string): { status: number; findings: string } {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
    return { status: 0, findings: '' };
  } catch (e) {
    const err = e as { status: number; stdout: Buffer; stderr: Buffer };
    return { status: err.status, findings: `${err.stdout.toString()}${err.stderr.toString()}` };
  }
}

/** prom-client's default metrics every service's /metrics must carry (a sample of them). */
export const PROCESS_METRICS = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_gc_duration_seconds',
] as const;
