/**
 * Every configuration file docs/DEPLOYMENT.md ships is checked by its own tool: compose files by
 * docker-compose, Prometheus's by promtool, Alertmanager's by amtool, the TLS proxy by nginx.
 * The tools are Debian's, installed by infra/scripts/setup-host.sh (its test part).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

/** Runs a tool; a missing tool fails with what to install, not with ENOENT. */
function run(tool: string, args: string[], cwd = ROOT): { status: number; output: string } {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new Error(
      `${tool} is not installed: run bash infra/scripts/setup-host.sh (it installs Debian's package)`,
    );
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

const tmp = mkdtempSync(join(tmpdir(), 'deploy-configs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the deployment guide’s configuration files', () => {
  it('docker-compose accepts docker-compose.yml with infra/deploy/docker-compose.prod.yml', () => {
    const r = run('docker-compose', [
      '-f',
      'docker-compose.yml',
      '-f',
      'infra/deploy/docker-compose.prod.yml',
      '--env-file',
      'infra/deploy/production.env',
      '--profile',
      'monitoring',
      'config',
      '-q',
    ]);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
    // The published addresses the guide promises: UDP on every address, the rest on loopback.
    const config = run('docker-compose', [
      '-f',
      'docker-compose.yml',
      '-f',
      'infra/deploy/docker-compose.prod.yml',
      '--env-file',
      'infra/deploy/production.env',
      'config',
    ]).output;
    expect(config).toMatch(
      /published: 50077\n\s+target: 50077\n\s+protocol: udp|0\.0\.0\.0:50077:50077\/udp/,
    );
    expect(config).not.toMatch(/0\.0\.0\.0:(8123|8080|9090|9093|9092)/);
    expect(config).toContain('CLICKHOUSE_REQUIRE_PASSWORDS');
  });

  it('promtool accepts the Prometheus configuration and the rules', () => {
    const c = run('promtool', ['check', 'config', 'infra/prometheus/prometheus.yml']);
    expect(c.output).toMatch(/SUCCESS/);
    expect(c.status).toBe(0);
    const r = run('promtool', [
      'check',
      'rules',
      'infra/prometheus/alerts.yml',
      'infra/prometheus/recording.yml',
    ]);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
    // The compose copy names its rules at their path in the container: the same files, placed so.
    const dir = join(tmp, 'prometheus');
    mkdirSync(dir, { recursive: true });
    const text = execFileSync('sed', ['s#/etc/prometheus/rules/#rules/#', 'infra/compose/prometheus.yml'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    mkdirSync(join(dir, 'rules'));
    for (const f of ['alerts.yml', 'recording.yml'])
      copyFileSync(join(ROOT, 'infra/prometheus', f), join(dir, 'rules', f));
    execFileSync('sh', ['-c', `cat > ${join(dir, 'prometheus.yml')}`], { input: text });
    const cc = run('promtool', ['check', 'config', 'prometheus.yml'], dir);
    expect(cc.output).toMatch(/SUCCESS/);
    expect(cc.status).toBe(0);
  });

  it('amtool accepts the Alertmanager configurations', () => {
    // The shipped file carries a placeholder that compose and start.sh fill with ALERT_WEBHOOK_URL.
    const filled = join(tmp, 'alertmanager.yml');
    execFileSync(
      'sh',
      [
        '-c',
        `sed 's|__ALERT_WEBHOOK_URL__|https://alerts.example.org/x|' infra/alertmanager/alertmanager.yml > ${filled}`,
      ],
      {
        cwd: ROOT,
      },
    );
    for (const f of [filled, 'infra/alertmanager/alertmanager-smtp.example.yml']) {
      const r = run('amtool', ['check-config', f]);
      expect(r.output, f).toMatch(/SUCCESS/);
      expect(r.status, f).toBe(0);
    }
  });

  it('nginx -t accepts infra/deploy/nginx.conf', () => {
    // The certificate is relative to the file's directory: a throw-away one beside a copy.
    const dir = join(tmp, 'nginx');
    mkdirSync(join(dir, 'tls'), { recursive: true });
    copyFileSync(join(ROOT, 'infra/deploy/nginx.conf'), join(dir, 'nginx.conf'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(dir, 'tls/privkey.pem'),
        '-out',
        join(dir, 'tls/fullchain.pem'),
      ],
      { stdio: 'ignore' },
    );
    const r = run('nginx', ['-t', '-c', join(dir, 'nginx.conf')]);
    expect(r.output).toMatch(/test is successful/);
    expect(r.status).toBe(0);
  });
});
