import { PipelineError } from '@parsl-usage/common';

export { PipelineError, isRetriable, settleAll, withRetry } from '@parsl-usage/common';

/** ClickHouse or Kafka could not be reached, or answered with a transient failure. */
export class TransientError extends PipelineError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
  }
}

/** The operation can never succeed as asked: bad configuration, bad SQL, schema mismatch. */
export class FatalError extends PipelineError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: false, cause });
  }
}

/**
 * ClickHouse refused the data of an insert (clickhouse-errors.ts: a parse or type error in a
 * row). Not retriable as it is: the batch is split until the offending messages are found
 * (isolation.ts), and those go to the rejected topic with reason `sink_refused`.
 */
export class RefusedError extends PipelineError {
  constructor(
    message: string,
    readonly clickhouseCode: number,
    cause?: unknown,
  ) {
    super(message, { retriable: false, cause });
  }
}
