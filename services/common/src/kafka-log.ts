import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * kafkajs' log, through the service's pino logger (component "kafkajs"), so that broker
 * trouble shows in the same JSON log as everything else instead of on stderr in kafkajs' own
 * format. Levels map one to one; kafkajs' own level filter (the client's `logLevel`) still
 * applies before this.
 */
export function kafkaLogCreator(logger: Pick<Logger, 'child'>): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry): void => {
      const { message, ...extra } = log;
      if (level <= logLevel.ERROR) child.error(extra, message);
      else if (level === logLevel.WARN) child.warn(extra, message);
      else if (level === logLevel.INFO) child.info(extra, message);
      else child.debug(extra, message);
    };
}
