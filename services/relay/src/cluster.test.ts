import { describe, expect, it } from 'vitest';
import { workerConfig } from './cluster.js';
import { loadConfig } from './config.js';

const base = (env: Record<string, string>) =>
  loadConfig({ RELAY_SPOOL_DIR: '/var/spool/relay', RELAY_HTTP_PORT: '9464', ...env });

describe('workerConfig', () => {
  it('leaves a single relay as it is configured', () => {
    const config = base({ RELAY_WORKERS: '1' });
    expect(workerConfig(config)).toBe(config);
  });

  it.each([
    // workers, index, spool directory, HTTP port
    ['2', '0', '/var/spool/relay/worker-0', 9464],
    ['2', '1', '/var/spool/relay/worker-1', 9465],
    ['4', '3', '/var/spool/relay/worker-3', 9467],
  ])('of %s workers, worker %s: its own spool and port', (workers, index, dir, port) => {
    const config = base({ RELAY_WORKERS: workers, RELAY_WORKER_INDEX: index });
    const wc = workerConfig(config);
    expect(wc.spool.dir).toBe(dir);
    expect(wc.http.port).toBe(port);
    // Everything else, the shared UDP port included, stays as configured.
    expect({ ...wc, spool: config.spool, http: config.http }).toEqual(config);
    expect(wc.spool.maxBytes).toBe(config.spool.maxBytes);
    expect(wc.http.host).toBe(config.http.host);
    // The configured value is not modified.
    expect(config.spool.dir).toBe('/var/spool/relay');
  });

  it('keeps port 0 (a free port each) for every worker', () => {
    const wc = workerConfig(base({ RELAY_WORKERS: '3', RELAY_WORKER_INDEX: '2', RELAY_HTTP_PORT: '0' }));
    expect(wc.http.port).toBe(0);
    expect(wc.spool.dir).toBe('/var/spool/relay/worker-2');
  });
});
