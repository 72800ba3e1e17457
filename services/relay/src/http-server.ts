import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthReport {
  healthy: boolean;
  checks: Record<string, boolean | number | string>;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  health: () => HealthReport;
  metrics: () => string;
}

/** GET /healthz and GET /metrics, nothing else. */
export class HttpServer {
  private server: Server | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: HttpServerOptions) {}

  async start(): Promise<{ port: number }> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
      } else if (path === '/healthz') {
        const report = this.opts.health();
        res
          .writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(report));
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.opts.metrics());
      } else {
        res.writeHead(404).end();
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return { port: (server.address() as AddressInfo).port };
  }

  /** Idempotent. */
  stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.closing;
  }
}
