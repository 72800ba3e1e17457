/**
 * The relay's error hierarchy. `retriable` decides between "spool and try again later"
 * and "drop and count": a batch that can never be accepted must not block the spool head.
 */
export class RelayError extends Error {
  readonly retriable: boolean;

  constructor(message: string, opts: { retriable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.retriable = opts.retriable;
  }
}

export class ConfigError extends RelayError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid relay configuration:\n  ${problems.join('\n  ')}`, { retriable: false });
    this.problems = problems;
  }
}

/** Kafka refused or could not be reached. */
export class PublishError extends RelayError {}

export class SpoolError extends RelayError {}
