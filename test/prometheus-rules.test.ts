import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './setup/env.js';

/**
 * The alerting rules (infra/prometheus/alerts.yml) through promtool, from Debian's prometheus
 * package (installed by infra/scripts/setup-host.sh): they parse, and every rule passes its
 * unit tests in alerts.test.yml.
 */
const DIR = join(REPO_ROOT, 'infra/prometheus');
const promtool = (...args: string[]): string =>
  execFileSync('promtool', args, { cwd: DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('Prometheus alerting rules', () => {
  it('parse, and the configuration that loads them is valid', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
    expect(promtool('check', 'rules', 'recording.yml')).toMatch(/SUCCESS: \d+ rules found/);
    expect(promtool('check', 'config', 'prometheus.yml')).toMatch(/SUCCESS/);
    // docker-compose's copy names paths inside the container: its syntax only.
    expect(
      promtool('check', 'config', '--syntax-only', join(REPO_ROOT, 'infra/compose/prometheus.yml')),
    ).toMatch(/SUCCESS/);
  });

  it("npm run cluster:up's configuration scrapes every instance, with the rules loaded", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-prom-'));
    try {
      const config = execFileSync(
        'bash',
        [join(REPO_ROOT, 'infra/cluster/prometheus-config.sh'), REPO_ROOT],
        {
          encoding: 'utf8',
        },
      );
      writeFileSync(join(dir, 'prometheus.yml'), config);
      expect(promtool('check', 'config', join(dir, 'prometheus.yml'))).toMatch(/SUCCESS/);
      // two relays, two aggregators, two dashboards (infra/cluster/ports.sh)
      for (const port of [19461, 19462, 19471, 19472, 18081, 18082])
        expect(config).toContain(`127.0.0.1:${port}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the recording rules pass their unit tests', () => {
    expect(promtool('test', 'rules', 'recording.test.yml')).toMatch(/SUCCESS/);
  });

  it('Alertmanager: the webhook template as start.sh renders it, and the SMTP example, are valid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alertmanager-'));
    try {
      const template = readFileSync(join(REPO_ROOT, 'infra/alertmanager/alertmanager.yml'), 'utf8');
      writeFileSync(
        join(dir, 'webhook.yml'),
        template.replaceAll('__ALERT_WEBHOOK_URL__', 'https://hooks.example.org/x'),
      );
      const amtool = (file: string): string =>
        execFileSync('amtool', ['check-config', file], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      expect(amtool(join(dir, 'webhook.yml'))).toMatch(/SUCCESS/);
      expect(amtool(join(REPO_ROOT, 'infra/alertmanager/alertmanager-smtp.example.yml'))).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert links its runbook section in docs/OPERATIONS.md', () => {
    const rules = readFileSync(join(DIR, 'alerts.yml'), 'utf8');
    const operations = readFileSync(join(REPO_ROOT, 'docs/OPERATIONS.md'), 'utf8');
    const names = [...rules.matchAll(/^\s+- alert: (\S+)$/gm)].map((m) => m[1] ?? '');
    const links = [...rules.matchAll(/runbook_url: docs\/OPERATIONS\.md#(\S+)$/gm)].map((m) => m[1]);
    expect(links).toEqual(names.map((n) => n.toLowerCase()));
    for (const n of names) expect(operations).toMatch(new RegExp(`^### ${n}\\n\\n\\S[^]{80,}?`, 'm'));
  });

  it('every rule has a unit test, and every test passes (promtool test rules)', () => {
    const rules = [...readFileSync(join(DIR, 'alerts.yml'), 'utf8').matchAll(/^\s+- alert: (\S+)$/gm)].map(
      (m) => m[1],
    );
    const tested = new Set(
      [...readFileSync(join(DIR, 'alerts.test.yml'), 'utf8').matchAll(/alertname: (\S+)$/gm)].map(
        (m) => m[1],
      ),
    );
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(rules.filter((r) => !tested.has(r))).toEqual([]);
    expect(promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });
});
