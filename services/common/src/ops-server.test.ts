import { afterEach, describe, expect, it } from 'vitest';
import { OpsServer } from './ops-server.js';

describe('OpsServer', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  it.each([
    ['GET', '/healthz', 200, '{"healthy":true,"checks":{"a":1}}'],
    ['GET', '/healthz?x=1', 200, '{"healthy":true,"checks":{"a":1}}'],
    ['GET', '/metrics', 200, 'm_total 1\n'],
    ['GET', '/other', 404, ''],
    ['POST', '/healthz', 405, ''],
  ])('%s %s -> %i', async (method, path, status, body) => {
    server = new OpsServer({
      host: '127.0.0.1',
      port: 0,
      health: () => ({ healthy: true, checks: { a: 1 } }),
      metrics: () => Promise.resolve('m_total 1\n'),
    });
    const { port } = await server.start();
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(body);
  });

  it('answers 503 when unhealthy, and stop() is idempotent', async () => {
    server = new OpsServer({
      host: '127.0.0.1',
      port: 0,
      health: () => ({ healthy: false }),
      metrics: () => '',
    });
    const { port } = await server.start();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(503);
    await Promise.all([server.stop(), server.stop()]);
  });
});
