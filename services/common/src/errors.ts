/**
 * The one error base and the one retry of every service and CLI: an error says whether
 * retrying the same operation can succeed, and withRetry retries exactly those.
 */

export class PipelineError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable;
  }
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof PipelineError) return err.retriable;
  // Network-level failures from node's http stack are worth retrying. EHOSTUNREACH and
  // ENETUNREACH come while a container's network is rebuilt on restart (chaos runs).
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'UND_ERR_SOCKET',
    ].includes(code)
  );
}

/** Runs `op` until it succeeds or fails with a non-retriable error; exponential backoff with jitter. */
export async function withRetry<T>(
  op: () => Promise<T>,
  opts: {
    attempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
    onRetry?: (err: unknown, attempt: number) => void;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isRetriable(err) || attempt >= opts.attempts) throw err;
      opts.onRetry?.(err, attempt);
      const delay = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }
}

/**
 * Waits for every promise, then throws the first failure (in the given order). Unlike
 * Promise.all, nothing is left running when it throws: a write that is still in flight after
 * its batch was abandoned could land after the restart has read what ClickHouse holds.
 */
export async function settleAll(ops: readonly Promise<unknown>[]): Promise<void> {
  const outcomes = await Promise.allSettled(ops);
  for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
}
