import type { Logger } from 'pino';

/**
 * On the first SIGTERM or SIGINT: run `stop` (the service stops intake, flushes and
 * disconnects, in that order), then exit 0; exit 1 if stopping failed. Later signals are
 * ignored so that a second Ctrl-C cannot cut a flush short.
 */
export function exitOnSignals(logger: Pick<Logger, 'info' | 'error'>, stop: () => Promise<void>): void {
  let exiting = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (exiting) return;
      exiting = true;
      logger.info({ signal }, 'shutting down');
      stop()
        .then(() => process.exit(0))
        .catch((err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        });
    });
  }
}
