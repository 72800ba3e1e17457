// Several relay workers on one UDP port (node:cluster): each worker's config, and the primary.
import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RelayConfig } from './config.js';

/**
 * What one worker of several uses: its own spool directory (a spool has exactly one writer)
 * and its own HTTP port (base + index), so each worker's /metrics can be scraped; the UDP
 * port is shared.
 */
export function workerConfig(config: RelayConfig): RelayConfig {
  if (config.workers <= 1) return config;
  const i = config.workerIndex;
  return {
    ...config,
    spool: { ...config.spool, dir: join(config.spool.dir, `worker-${i}`) },
    http: { ...config.http, port: config.http.port === 0 ? 0 : config.http.port + i },
  };
}

const RESPAWN_DELAY_MS = 1_000;

/**
 * The cluster primary: forks RELAY_WORKERS workers that bind the same UDP port (the primary
 * owns the socket and shares it), restarts a worker that dies, and on SIGTERM/SIGINT passes
 * the signal on and waits for every worker's orderly stop.
 */
export function runPrimary(config: RelayConfig, logger: Logger): void {
  let shuttingDown = false;
  const byIndex = new Map<number, Worker>();

  const fork = (index: number): void => {
    const worker = cluster.fork({ RELAY_WORKER_INDEX: String(index) });
    byIndex.set(index, worker);
    worker.on('exit', (code, signal) => {
      byIndex.delete(index);
      if (shuttingDown) {
        if (byIndex.size === 0) process.exit(0);
        return;
      }
      logger.error({ index, code, signal }, 'relay worker died; restarting');
      setTimeout(() => fork(index), RESPAWN_DELAY_MS);
    });
  };

  for (let i = 0; i < config.workers; i++) fork(i);
  logger.info({ workers: config.workers, port: config.udp.port }, 'relay primary started');

  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal; killing workers without finishing shutdown');
      for (const w of byIndex.values()) w.process.kill('SIGKILL');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, 'stopping workers');
    if (byIndex.size === 0) process.exit(0);
    for (const w of byIndex.values()) w.process.kill('SIGTERM');
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
