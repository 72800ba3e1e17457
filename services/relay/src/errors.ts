import { PipelineError } from '@parsl-usage/common';

/**
 * The relay's error hierarchy. `retriable` decides between "spool and try again later"
 * and "drop and count": a batch that can never be accepted must not block the spool head.
 */
export class RelayError extends PipelineError {}

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
