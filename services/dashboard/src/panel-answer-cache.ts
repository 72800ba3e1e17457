/**
 * Panel answers through the cache: one computation however many readers ask at once. Answers
 * are kept serialized, so a warm request is a map look-up and one write, with no JSON.stringify
 * of a panel per reader; CSV is made on first demand and kept beside it.
 */
import { TtlCache, type CacheOutcome } from './cache.js';
import { computePanel, type PanelAnswer, type QueryFn } from './panel-computation.js';
import type { ParamsOutcome } from './params.js';

/** checked parameters of one panel (params.ts) */
export type PanelRequest = Extract<ParamsOutcome, { ok: true }>;

export interface CachedAnswer {
  answer: PanelAnswer & { generatedAt: string };
  json: Buffer;
  csv: Buffer | undefined;
}

export interface PanelAnswersOptions {
  query: QueryFn;
  /** checked identifier (config.ts) */
  database: string;
  unfinishedAfterDays: number;
  /** K of the privacy rule (privacy.ts); 1 names every project */
  publicMinRuns?: number;
  cacheTtlMs: number;
  cacheMaxEntries: number;
  now: () => number;
}

/** What the cache keeps of an answer: stamped with the time it was made, serialized once. */
export function cachedAnswer(computed: PanelAnswer, nowMs: number): CachedAnswer {
  const answer: PanelAnswer & { generatedAt: string } = {
    ...computed,
    generatedAt: new Date(nowMs).toISOString(),
  };
  return { answer, json: Buffer.from(JSON.stringify(answer)), csv: undefined };
}

export class PanelAnswers {
  private readonly cache: TtlCache<CachedAnswer>;

  constructor(private readonly o: PanelAnswersOptions) {
    this.cache = new TtlCache<CachedAnswer>(o.cacheTtlMs, o.cacheMaxEntries, o.now);
  }

  /** answers held */
  get size(): number {
    return this.cache.size;
  }

  get(req: PanelRequest): Promise<{ value: CachedAnswer; outcome: CacheOutcome }> {
    return this.cache.get(req.key, this.compute(req));
  }

  /** Computes the answer again while readers keep the one it replaces (for the warmer). */
  async refresh(req: PanelRequest): Promise<void> {
    await this.cache.refresh(req.key, this.compute(req));
  }

  private compute(req: PanelRequest): () => Promise<CachedAnswer> {
    return async () => {
      const { query, database, unfinishedAfterDays } = this.o;
      const publicMinRuns = this.o.publicMinRuns ?? 1;
      const computed = await computePanel(req.params, {
        query,
        database,
        unfinishedAfterDays,
        publicMinRuns,
      });
      return cachedAnswer(computed, this.o.now());
    };
  }
}
