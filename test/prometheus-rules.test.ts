import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    expect(promtool('check', 'config', 'prometheus.yml')).toMatch(/SUCCESS/);
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
