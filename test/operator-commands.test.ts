/**
 * Every operator command of the README's "Other commands" table, run as the README shows it
 * (its npm script's `node services/ops/dist/<name>-cli.js` with the documented
 * arguments, in a child process) on the defaults `npm start` sets up: database parsl_usage,
 * users admin and analyst with their local dev passwords, no other environment than where the
 * servers are. The ClickHouse is a private one from the harness image, so that parsl_usage is
 * this file's alone (other tests read and write parsl_usage on the shared one); Kafka is the
 * shared one, with topic names of this file's own.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeLog, facts } from './analytics-support.js';
import { CH_USERS, REPO_ROOT, freshName, kafkaBrokers } from './setup/env.js';

const CLICKHOUSE_IMAGE = process.env.CLICKHOUSE_IMAGE ?? 'localhost/parsl-usage/clickhouse:18.16';

interface Command {
  script: string;
  args: string[];
}

/** The commands that share cli-frame.ts (backup and restore have tests of their own). */
const OPERATOR = ['migrate', 'report', 'reprocess', 'retention', 'forget-project'];

/** `npm run NAME -- ARGS` rows of the README's "Other commands" table, for the commands above. */
async function readmeCommands(): Promise<Command[]> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('Other commands'));
  return [...table.matchAll(/^\| `npm run ([\w:-]+)(?: -- ([^`]*))?` \|/gm)]
    .map((m) => ({ script: m[1] ?? '', args: (m[2] ?? '').split(' ').filter(Boolean) }))
    .filter((c) => OPERATOR.includes(c.script));
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('operator commands, as the README shows them', () => {
  let container: { stop: (o: { timeout: number }) => Promise<unknown> } | undefined;
  let url = '';
  let admin: ClickHouseClient;
  let cwd = '';
  let scripts: Record<string, string> = {};
  let commands: Command[] = [];
  const topics = { AGG_RAW_TOPIC: freshName('raw'), AGG_REJECTED_TOPIC: freshName('rejected') };

  /** A command as its npm script runs it, with only PATH and where the servers are (plus `env`). */
  function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
    const [node, file] = (scripts[script] ?? '').split(' ');
    expect(node).toBe('node');
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, file ?? ''), ...args], {
        cwd,
        env: {
          PATH: process.env.PATH ?? '',
          CLICKHOUSE_URL: url,
          KAFKA_BROKERS: kafkaBrokers().join(','),
          ...topics,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = { stdout: '', stderr: '' };
      child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, ...out }));
    });
  }

  async function text(query: string): Promise<string> {
    return (await (await admin.query({ query, format: 'TabSeparated' })).text()).trim();
  }

  beforeAll(async () => {
    process.env.DOCKER_HOST ??= 'unix:///run/podman/podman.sock';
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
    const { GenericContainer, Wait } = await import('testcontainers');
    const started = await new GenericContainer(CLICKHOUSE_IMAGE)
      .withExposedPorts(8123)
      .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
      .withStartupTimeout(120_000)
      .start();
    container = started;
    url = `http://127.0.0.1:${started.getMappedPort(8123)}`;
    admin = createClient({ url, ...CH_USERS.admin });
    cwd = await mkdtemp(join(tmpdir(), 'operator-'));
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    scripts = pkg.scripts;
    commands = await readmeCommands();
  }, 180_000);

  afterAll(async () => {
    await admin?.close();
    await container?.stop({ timeout: 5_000 });
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('the README lists each operator command, an npm script running its CLI from dist', () => {
    expect(commands.map((c) => c.script).sort()).toEqual([...OPERATOR].sort());
    for (const c of commands) expect(scripts[c.script]).toBe(`node services/ops/dist/${c.script}-cli.js`);
  });

  it('--help on every command: usage on stdout, exit 0', async () => {
    for (const c of commands) {
      const r = await run(c.script, ['--help']);
      expect([c.script, r.code, r.stderr]).toEqual([c.script, 0, '']);
      expect(r.stdout).toMatch(/^usage: /);
      expect(r.stdout).toMatch(/CLICKHOUSE_PASSWORD/);
    }
  });

  it('each command runs with its documented arguments on the local defaults', async () => {
    const byName = new Map(commands.map((c) => [c.script, c.args]));
    const documented = (s: string): string[] => byName.get(s) ?? [];

    const migrate = await run('migrate', documented('migrate'));
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('clickhouse migrations applied');
    expect(
      await text("SELECT count() FROM system.tables WHERE database = 'parsl_usage' AND name = 'workflows'"),
    ).toBe('1');

    // A month of history in the month the README's report example names.
    const month = documented('report')[documented('report').indexOf('--month') + 1] ?? '';
    expect(month).toMatch(/^\d{4}-\d{2}$/);
    const log = new ChangeLog(admin, 'parsl_usage.workflow_changes');
    await log.put(
      ...Array.from({ length: 6 }, (_, i) =>
        facts(`op-${i}`, {
          day: `${month}-1${i}`,
          project_name: i < 2 ? 'opsproject' : '',
          python_minor: '3.12',
        }),
      ),
    );

    // The report reads as analyst with its local dev password: no CLICKHOUSE_USER/PASSWORD given.
    const report = await run('report', documented('report'));
    expect(report.code, report.stderr).toBe(0);
    const files = report.stdout.trim().split('\n');
    expect(files.map((f) => f.slice(f.lastIndexOf('.')))).toEqual(['.md', '.csv', '.html', '.pdf']);
    for (const f of files) expect(f.startsWith(join(cwd, 'reports'))).toBe(true);
    expect(await readFile(files[0] ?? '', 'utf8')).toContain('| Workflow runs | 6 |');
    expect((await stat(files[3] ?? '')).size).toBeGreaterThan(10_000);
    const year = await run('report', ['--year', month.slice(0, 4), '--out', 'reports/']);
    expect(year.code, year.stderr).toBe(0);

    const retention = await run('retention', documented('retention'));
    expect(retention.code, retention.stderr).toBe(0);
    expect(JSON.parse(retention.stdout)).toMatchObject({ dryRun: false });

    const forget = await run(
      'forget-project',
      documented('forget-project').map((a) => (a === 'NAME' ? 'opsproject' : a)),
    );
    expect(forget.code, forget.stderr).toBe(0);
    expect(await text("SELECT count() FROM parsl_usage.workflows WHERE project_name = 'opsproject'")).toBe(
      '0',
    );
    expect(await text('SELECT count() FROM parsl_usage.workflows')).toBe('4');

    const reprocess = await run('reprocess', documented('reprocess'));
    expect(reprocess.code, reprocess.stderr).toBe(0);
    expect(reprocess.stdout).toContain('"msg":"reprocessed"');
  });

  it('fails in one line, without a stack trace, with a non-zero exit code', async () => {
    for (const c of commands) {
      const args = c.args.map((a) => (a === 'NAME' ? 'opsproject' : a));
      const bad = await run(c.script, args, {
        CLICKHOUSE_PASSWORD: 'not-the-password',
        PROVISION_WAIT_MS: '0',
      });
      expect([c.script, bad.code]).toEqual([c.script, 1]);
      const lines = bad.stderr.trim().split('\n');
      expect(lines, c.script).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^${c.script}: .*(password|Authentication failed)`, 'i'));
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    }
    const usage = await run('report', ['--month', '2026-13', '--out', 'reports/']);
    expect([usage.code, usage.stderr]).toEqual([
      2,
      'report: --month must be YYYY-MM, e.g. 2026-10 (see --help)\n',
    ]);
    const unknown = await run('retention', ['--days', '400', '--force']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });
});
