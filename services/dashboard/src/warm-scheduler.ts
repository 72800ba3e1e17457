/**
 * Keeps answers computed ahead of readers: one round at start, then a round every `everyMs`
 * (shorter than the cache's TTL, so a kept answer is renewed before it expires and no visitor
 * waits for ClickHouse). A round runs its jobs at most `concurrency` at a time, so warming never
 * takes more of ClickHouse than a browser's page load would. The jobs are asked for afresh each
 * round: the default view moves with the day.
 */
export interface WarmerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: WarmerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // never what keeps the process alive
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface WarmerOptions {
  /** the jobs of one round (each computes one answer into the cache) */
  jobs: () => Array<() => Promise<void>>;
  /** ms from the start of one round to the start of the next */
  everyMs: number;
  /** jobs in flight at once */
  concurrency: number;
  clock: WarmerClock;
  onRound?: (r: RoundReport) => void;
}

export interface RoundReport {
  startedAt: number;
  ms: number;
  jobs: number;
  failed: number;
  errors: unknown[];
}

export interface WarmerState {
  running: boolean;
  rounds: number;
  /** consecutive rounds in which some job failed */
  failingRounds: number;
  last: RoundReport | null;
}

/** rounds with failures in a row after which the warmer reports unhealthy */
export const UNHEALTHY_AFTER_FAILING_ROUNDS = 3;

export interface Warmer {
  start(): void;
  /** idempotent; waits for a round in flight */
  stop(): Promise<void>;
  isHealthy(): boolean;
  state(): WarmerState;
  /** the round in flight, or a resolved promise (for tests and the benchmark) */
  idle(): Promise<void>;
}

async function runLimited(jobs: Array<() => Promise<void>>, concurrency: number): Promise<unknown[]> {
  const errors: unknown[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (!job) continue;
      try {
        await job();
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, lane));
  return errors;
}

export function createWarmer(o: WarmerOptions): Warmer {
  if (!(o.everyMs > 0)) throw new Error(`everyMs must be positive, got ${o.everyMs}`);
  const s: WarmerState = { running: false, rounds: 0, failingRounds: 0, last: null };
  let timer: unknown = null;
  let inFlight: Promise<void> | null = null;

  async function round(): Promise<void> {
    const startedAt = o.clock.now();
    let jobs: Array<() => Promise<void>>;
    try {
      jobs = o.jobs();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      jobs = [() => Promise.reject(e)]; // counted as a failed job, never an unhandled rejection
    }
    const errors = await runLimited(jobs, o.concurrency);
    const report: RoundReport = {
      startedAt,
      ms: o.clock.now() - startedAt,
      jobs: jobs.length,
      failed: errors.length,
      errors,
    };
    s.rounds++;
    s.failingRounds = errors.length > 0 ? s.failingRounds + 1 : 0;
    s.last = report;
    o.onRound?.(report);
  }

  /** one round now, then the next everyMs after this one started (at once if this one overran) */
  function roundNow(): void {
    const startedAt = o.clock.now();
    inFlight = round().finally(() => {
      inFlight = null;
      if (s.running) schedule(Math.max(0, startedAt + o.everyMs - o.clock.now()));
    });
  }

  function schedule(delayMs: number): void {
    timer = o.clock.setTimeout(() => {
      timer = null;
      if (s.running) roundNow();
    }, delayMs);
  }

  return {
    start() {
      if (s.running) return;
      s.running = true;
      roundNow();
    },
    async stop() {
      s.running = false;
      if (timer !== null) o.clock.clearTimeout(timer);
      timer = null;
      await inFlight;
    },
    isHealthy: () => s.running && s.failingRounds < UNHEALTHY_AFTER_FAILING_ROUNDS,
    state: () => ({ ...s }),
    idle: () => inFlight ?? Promise.resolve(),
  };
}
