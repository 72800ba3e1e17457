import type { Logger } from 'pino';

/**
 * The one signal policy of every service. On the first SIGTERM or SIGINT: run `stop` (the
 * service stops intake, flushes and disconnects, in that order), then exit 0, or 1 if stopping
 * failed. A second signal exits at once with 1 and a warning: an operator who presses Ctrl-C
 * twice means it, and cutting a flush short loses nothing (the relay's spool is on disk, and
 * the aggregator's uncommitted batch is read again and skipped by the sink's watermarks).
 *
 * `ignoreSecond` is for a relay cluster worker, which hears both the terminal's signal and the
 * one its primary passes on: only the primary turns a second signal into a forced exit.
 */
export function exitOnSignals(
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  stop: () => Promise<void>,
  opts: { ignoreSecond?: boolean; exit?: (code: number) => void } = {},
): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      if (opts.ignoreSecond) return;
      logger.warn({ signal }, 'second signal; exiting without finishing shutdown');
      exit(1);
      return;
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
