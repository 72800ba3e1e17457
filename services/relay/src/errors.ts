// The relay's errors; `retriable` chooses between spooling and dropping.
import { PipelineError } from '@parsl-usage/common';

/**
 * The relay's error hierarchy. `retriable` decides between "spool and try again later"
 * and "drop and count": a batch that can never be accepted must not block the spool head.
 */
export class RelayError extends PipelineError {}

/** A bad environment: common's one ConfigError (config.ts). */
export { ConfigError } from '@parsl-usage/common';

/** Kafka refused or could not be reached. */
export class PublishError extends RelayError {}

export class SpoolError extends RelayError {}
