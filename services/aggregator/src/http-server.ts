import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** /healthz and /metrics for one service. */
export function createHealthServer(opts: {
  host: string;
  port: number;
  health: () => { healthy: boolean; detail: Record<string, unknown> };
  metrics: () => string;
}): { start(): Promise<number>; stop(): Promise<void> } {
  let server: Server | null = null;
  return {
    start() {
      server = createServer((req, res) => {
        if (req.url === '/healthz') {
          const h = opts.health();
          res.writeHead(h.healthy ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ healthy: h.healthy, ...h.detail }));
        } else if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
          res.end(opts.metrics());
        } else {
          res.writeHead(404).end();
        }
      });
      const s = server;
      return new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(opts.port, opts.host, () => resolve((s.address() as AddressInfo).port));
      });
    },
    stop() {
      const s = server;
      server = null;
      if (!s) return Promise.resolve();
      return new Promise((resolve) => s.close(() => resolve()));
    },
  };
}
