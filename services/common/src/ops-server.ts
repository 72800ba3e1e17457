import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What /healthz answers: `healthy` decides 200 or 503; the whole object is the JSON body. */
export type HealthBody = { healthy: boolean } & Record<string, unknown>;

export interface OpsServerOptions {
  host: string;
  port: number;
  health: () => HealthBody;
  /** Prometheus text exposition. */
  metrics: () => string | Promise<string>;
}

/**
 * The operations port every service opens: GET /healthz and GET /metrics, nothing else (405
 * for other methods, 404 for other paths; the query string is ignored). Bound to loopback by
 * default in every service's config: it is for Prometheus and the supervisor, not the public.
 */
export class OpsServer {
  private server: Server | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: OpsServerOptions) {}

  async start(): Promise<{ port: number }> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
      } else if (path === '/healthz') {
        const body = this.opts.health();
        res
          .writeHead(body.healthy ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(body));
      } else if (path === '/metrics') {
        Promise.resolve(this.opts.metrics()).then(
          (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
          () => res.writeHead(500).end(),
        );
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
