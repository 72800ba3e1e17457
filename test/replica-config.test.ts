/**
 * The coordination members of a ClickHouse replica (infra/cluster/clickhouse/replica-entrypoint.sh):
 * every member of CLICKHOUSE_ZOOKEEPER_HOSTS becomes one <node>, beside the client's session and
 * operation timeouts (10,000 and 3,000 ms unless set), the file is well-formed XML (parsed by
 * Python's expat, not by a regular expression), the former single-host variable still works, and
 * a malformed member or timeout stops the entrypoint instead of reaching the server. Then the
 * server's own check: ClickHouse 18.16 started with a rendered three-member list whose first two
 * members are closed ports reaches the third, which it could not with a list of one, and its
 * preprocessed configuration holds all three and both timeouts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { freeTcpPort } from '@parsl-usage/kit/processes';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CH_USERS, REPO_ROOT, eventually } from './setup/env.js';

const ENTRYPOINT = join(REPO_ROOT, 'infra/cluster/clickhouse/replica-entrypoint.sh');
const CLICKHOUSE_IMAGE = process.env.CLICKHOUSE_IMAGE ?? 'localhost/parsl-usage/clickhouse:18.16';
const ZOOKEEPER_IMAGE = process.env.ZOOKEEPER_IMAGE ?? 'localhost/parsl-usage/zookeeper:3.8';

interface Rendered {
  nodes: { index: string | null; host: string; port: string }[];
  sessionTimeoutMs: string;
  operationTimeoutMs: string;
  replica: string;
}

// Python's xml.etree (expat) rejects a file that is not well-formed; it prints what the server reads.
const READ_CONFIG = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'yandex', root.tag
zk = root.find('zookeeper')
print(json.dumps({
  'nodes': [{'index': n.get('index'), 'host': n.findtext('host'), 'port': n.findtext('port')}
            for n in zk.findall('node')],
  'sessionTimeoutMs': zk.findtext('session_timeout_ms'),
  'operationTimeoutMs': zk.findtext('operation_timeout_ms'),
  'replica': root.findtext('macros/replica'),
}))
`;
import { zookeeperOk } from './support/zookeeper.js';

/** Runs the entrypoint in render-only mode with `env`: its exit status, stderr and the parsed file. */
function render(env: Record<string, string>): { status: number | null; stderr: string; config?: Rendered } {
  const dir = mkdtempSync(join(tmpdir(), 'replica-config-'));
  try {
    const file = join(dir, 'zz-cluster.xml');
    const run = spawnSync('sh', [ENTRYPOINT], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        CLICKHOUSE_CLUSTER_CONFIG: file,
        CLICKHOUSE_CLUSTER_RENDER_ONLY: '1',
        CLICKHOUSE_REPLICA: 'replica-1',
        CLICKHOUSE_INTERSERVER_HOST: 'clickhouse-1',
        ...env,
      },
      encoding: 'utf8',
    });
    if (run.status !== 0) return { status: run.status, stderr: run.stderr };
    const out = execFileSync('python3', ['-c', READ_CONFIG, file], { encoding: 'utf8' });
    return { status: 0, stderr: run.stderr, config: JSON.parse(out) as Rendered };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const member = (index: number, host: string, port: number) => ({
  index: String(index),
  host,
  port: String(port),
});

describe('replica-entrypoint.sh renders every coordination member', () => {
  it.each([
    [
      'three Keepers, as docker-compose.cluster.yml passes them',
      { CLICKHOUSE_ZOOKEEPER_HOSTS: 'keeper-1:9181,keeper-2:9181,keeper-3:9181' },
      [member(1, 'keeper-1', 9181), member(2, 'keeper-2', 9181), member(3, 'keeper-3', 9181)],
    ],
    [
      'three ZooKeepers on one host, as infra/cluster/up.sh passes them',
      { CLICKHOUSE_ZOOKEEPER_HOSTS: '127.0.0.1:12181,127.0.0.1:12182,127.0.0.1:12183' },
      [member(1, '127.0.0.1', 12181), member(2, '127.0.0.1', 12182), member(3, '127.0.0.1', 12183)],
    ],
    [
      'members without a port take CLICKHOUSE_ZOOKEEPER_PORT; spaces and empty items are ignored',
      { CLICKHOUSE_ZOOKEEPER_HOSTS: ' zk-a , zk-b:2222,, zk-c', CLICKHOUSE_ZOOKEEPER_PORT: '9181' },
      [member(1, 'zk-a', 9181), member(2, 'zk-b', 2222), member(3, 'zk-c', 9181)],
    ],
    [
      'the former single host and port (compatibility)',
      { CLICKHOUSE_ZOOKEEPER_HOST: 'keeper-1', CLICKHOUSE_ZOOKEEPER_PORT: '9181' },
      [member(1, 'keeper-1', 9181)],
    ],
    [
      'the list wins over the former single host',
      { CLICKHOUSE_ZOOKEEPER_HOST: 'old', CLICKHOUSE_ZOOKEEPER_HOSTS: 'new-1,new-2' },
      [member(1, 'new-1', 2181), member(2, 'new-2', 2181)],
    ],
  ])('%s', (_name, env, nodes) => {
    const { status, stderr, config } = render(env);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(config).toEqual({
      nodes,
      sessionTimeoutMs: '10000',
      operationTimeoutMs: '3000',
      replica: 'replica-1',
    });
  });

  it('takes both client timeouts from the environment', () => {
    const { status, config } = render({
      CLICKHOUSE_ZOOKEEPER_HOSTS: 'keeper-1',
      CLICKHOUSE_ZOOKEEPER_SESSION_TIMEOUT_MS: '30000',
      CLICKHOUSE_ZOOKEEPER_OPERATION_TIMEOUT_MS: '10000',
    });
    expect(status).toBe(0);
    expect(config).toMatchObject({ sessionTimeoutMs: '30000', operationTimeoutMs: '10000' });
  });

  it.each([
    ['no member at all', {}, /set CLICKHOUSE_ZOOKEEPER_HOSTS/],
    ['only separators', { CLICKHOUSE_ZOOKEEPER_HOSTS: ' , ,' }, /no coordination member/],
    ['markup in a name', { CLICKHOUSE_ZOOKEEPER_HOSTS: 'keeper-1,<b>' }, /bad coordination member '<b>'/],
    ['a port that is no number', { CLICKHOUSE_ZOOKEEPER_HOSTS: 'keeper-1:91x1' }, /bad coordination member/],
    ['a port out of range', { CLICKHOUSE_ZOOKEEPER_HOSTS: 'keeper-1:70000' }, /bad coordination member/],
    ['a file pattern', { CLICKHOUSE_ZOOKEEPER_HOSTS: '*' }, /bad coordination member '\*'/],
    [
      'a timeout that is no number of ms',
      { CLICKHOUSE_ZOOKEEPER_HOSTS: 'keeper-1', CLICKHOUSE_ZOOKEEPER_OPERATION_TIMEOUT_MS: '3s' },
      /bad coordination timeout '3s'/,
    ],
    [
      'a zero timeout',
      { CLICKHOUSE_ZOOKEEPER_HOSTS: 'keeper-1', CLICKHOUSE_ZOOKEEPER_SESSION_TIMEOUT_MS: '0' },
      /bad coordination timeout '0'/,
    ],
  ])('refuses %s', (_name, env, message) => {
    const { status, stderr, config } = render(env);
    expect(status).toBe(1);
    expect(stderr).toMatch(message);
    expect(config).toBeUndefined();
  });

  it('docker-compose.cluster.yml gives both replicas every Keeper it deploys', () => {
    const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.cluster.yml'), 'utf8'), {
      merge: true,
    }) as { services: Record<string, { environment?: Record<string, unknown> }> };
    const keepers = Object.keys(compose.services).filter((s) => s.startsWith('keeper-'));
    expect(keepers).toEqual(['keeper-1', 'keeper-2', 'keeper-3']);
    for (const replica of ['clickhouse-1', 'clickhouse-2']) {
      const env = compose.services[replica]?.environment ?? {};
      expect(env.CLICKHOUSE_ZOOKEEPER_HOST).toBeUndefined();
      const { config } = render({
        CLICKHOUSE_ZOOKEEPER_HOSTS: String(env.CLICKHOUSE_ZOOKEEPER_HOSTS),
        CLICKHOUSE_ZOOKEEPER_SESSION_TIMEOUT_MS: String(env.CLICKHOUSE_ZOOKEEPER_SESSION_TIMEOUT_MS),
        CLICKHOUSE_ZOOKEEPER_OPERATION_TIMEOUT_MS: String(env.CLICKHOUSE_ZOOKEEPER_OPERATION_TIMEOUT_MS),
      });
      expect(config?.nodes.map((n) => n.host)).toEqual(keepers);
      // the same timeouts as the local cluster's replicas, which take the entrypoint's defaults
      expect(config).toMatchObject({ sessionTimeoutMs: '10000', operationTimeoutMs: '3000' });
    }
  });
});

describe('ClickHouse 18.16 loads the rendered members and fails over among them', () => {
  let zk: StartedTestContainer | undefined;
  let server: StartedTestContainer | undefined;
  let client: ClickHouseClient | undefined;
  let hosts = '';

  beforeAll(async () => {
    const zkPort = await freeTcpPort();
    const [closedA, closedB] = [await freeTcpPort(), await freeTcpPort()];
    const [http, tcp, interserver] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
    zk = await new GenericContainer(ZOOKEEPER_IMAGE)
      .withNetworkMode('host')
      .withEnvironment({ ZOO_CLIENT_PORT: String(zkPort) })
      .start();
    await eventually(() => zookeeperOk(zkPort), { timeoutMs: 60_000, what: 'ZooKeeper' });
    // The live member last: nothing listens on the first two, so the server reaches ZooKeeper
    // only by moving on along its list.
    hosts = `127.0.0.1:${closedA},127.0.0.1:${closedB},127.0.0.1:${zkPort}`;
    server = await new GenericContainer(CLICKHOUSE_IMAGE)
      .withNetworkMode('host')
      .withEntrypoint(['/usr/local/bin/replica-entrypoint.sh'])
      .withCommand(['clickhouse-server', '--config-file=/etc/clickhouse-server/config.xml'])
      .withEnvironment({
        CLICKHOUSE_ZOOKEEPER_HOSTS: hosts,
        CLICKHOUSE_REPLICA: 'replica-1',
        CLICKHOUSE_INTERSERVER_HOST: '127.0.0.1',
        CLICKHOUSE_INTERSERVER_PORT: String(interserver),
        CLICKHOUSE_HTTP_PORT: String(http),
        CLICKHOUSE_TCP_PORT: String(tcp),
      })
      .withCopyFilesToContainer([
        { source: ENTRYPOINT, target: '/usr/local/bin/replica-entrypoint.sh', mode: 0o755 },
      ])
      .start();
    client = createClient({
      url: `http://127.0.0.1:${http}`,
      ...CH_USERS.admin,
      log: { level: ClickHouseLogLevel.OFF },
    });
    await eventually(async () => ((await client!.ping()).success ? true : undefined), {
      timeoutMs: 60_000,
      what: 'ClickHouse',
    });
  }, 150_000);

  afterAll(async () => {
    await client?.close();
    await server?.stop({ timeout: 2_000 });
    await zk?.stop({ timeout: 2_000 });
  });

  it('reads system.zookeeper through the third member', async () => {
    // The session may need a few connection attempts (the closed members first): poll.
    const names = await eventually(
      async () => {
        try {
          const rs = await client!.query({
            query: "SELECT name FROM system.zookeeper WHERE path = '/'",
            format: 'JSONEachRow',
          });
          const rows = await rs.json<{ name: string }>();
          return rows.length > 0 ? rows.map((r) => r.name) : undefined;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 60_000, what: 'system.zookeeper' },
    );
    expect(names).toContain('zookeeper');
  });

  it('merged all three members into the configuration it runs with', async () => {
    // The server writes the configuration it merged from config.d to preprocessed_configs (or,
    // in older releases, beside config.xml).
    const { output, exitCode } = await server!.exec([
      'sh',
      '-c',
      'cat /var/lib/clickhouse/preprocessed_configs/config.xml 2>/dev/null || cat /etc/clickhouse-server/config-preprocessed.xml',
    ]);
    expect(exitCode).toBe(0);
    const ports = [...output.matchAll(/<node[^>]*>\s*<host>([^<]+)<\/host>\s*<port>(\d+)<\/port>/g)].map(
      (m) => `${m[1]}:${m[2]}`,
    );
    expect(ports.join(',')).toBe(hosts);
    // and the client's timeouts, which 18.16 reads from the same element
    expect(output).toMatch(/<session_timeout_ms>10000<\/session_timeout_ms>/);
    expect(output).toMatch(/<operation_timeout_ms>3000<\/operation_timeout_ms>/);
  });
});
