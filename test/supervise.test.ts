import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, eventually } from './setup/env.js';

/**
 * infra/scripts/supervise.sh, which `npm start` runs every service under: a service that exits
 * is started again with backoff, each restart is a log line, the count reaches the service as
 * SUPERVISOR_RESTARTS, and SIGTERM stops the service and the supervisor with it.
 */
describe('supervise.sh', () => {
  it('restarts a crashing service with backoff, logs each restart, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'supervise-'));
    const service = join(dir, 'service.sh');
    // Exits with 3 on its first two runs, then runs until SIGTERM (and records that it got it).
    writeFileSync(
      service,
      `echo "run restarts=$SUPERVISOR_RESTARTS"
n=$(cat ${dir}/runs 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/runs
[ "$n" -lt 2 ] && exit 3
trap 'echo stopped > ${dir}/stopped; exit 0' TERM
echo ready
sleep 300 & wait`,
    );
    const sup = spawn('bash', [join(REPO_ROOT, 'infra/scripts/supervise.sh'), 'demo', 'bash', service], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    sup.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => sup.once('exit', (code) => resolve(code)));
    await eventually(() => (out.includes('ready') ? true : undefined), { timeoutMs: 15_000 });
    expect(out).toContain('run restarts=2');
    const restarts = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { child: string; exitCode: number; restarts: number; backoffS: number });
    expect(restarts).toEqual([
      expect.objectContaining({ child: 'demo', exitCode: 3, restarts: 1, backoffS: 1 }),
      expect.objectContaining({ child: 'demo', exitCode: 3, restarts: 2, backoffS: 2 }),
    ]);
    sup.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readFileSync(join(dir, 'stopped'), 'utf8').trim()).toBe('stopped');
    expect(readFileSync(join(dir, 'runs'), 'utf8').trim()).toBe('3');
  }, 30_000);
});
