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

/**
 * The one rule for a connection reset on a stale keep-alive socket: a socket the server had
 * already closed (ClickHouse 18.16 closes idle ones after 3 s, the client evicts its own after
 * 2.5 s, and a loaded host's timers can miss that margin) fails the next request before any
 * answer. Two defences, used by every service that talks to ClickHouse:
 *  - a long-lived client drops such sockets instead of reusing them (STALE_SOCKET_KEEP_ALIVE:
 *    the aggregator's inserts once paid a retry for each, BENCHMARKS.md, aggregator run 3);
 *  - an idempotent read that still meets one is tried once more on a new socket (retryOnReset).
 * A write is retried only through withRetry, which counts ECONNRESET and EPIPE as retriable.
 */
export const STALE_SOCKET_KEEP_ALIVE = { eagerly_destroy_stale_sockets: true } as const;

/** A connection reset before any answer (see STALE_SOCKET_KEEP_ALIVE). */
export function isConnectionReset(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up';
}

/** `read` once more if it failed with a connection reset; only for reads, which are idempotent. */
export async function retryOnReset<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!isConnectionReset(err)) throw err;
    return read();
  }
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
