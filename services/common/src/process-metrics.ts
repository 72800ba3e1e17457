import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * prom-client's default metrics for this process (CPU, resident memory, heap, garbage
 * collection, event-loop lag, open handles), appended to every service's /metrics. Each
 * service's own counters stay where they are (the relay's accounting identity is exact because
 * each of its counters moves in the same synchronous step as its pair, metrics.ts).
 */
export class ProcessMetrics {
  private readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * prom-client's default metrics (CPU, resident memory, heap, garbage collection, event-loop lag,
 * open handles) in a service's own registry, so that its one /metrics carries both. Once per
 * registry (prom-client refuses a second registration of a name); its collectors live as long
 * as the process, which is why the services' tests leave it off.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
}

/** A service's own exposition followed by the process metrics. */
export async function withProcessMetrics(
  own: string | Promise<string>,
  process: ProcessMetrics,
): Promise<string> {
  const text = await own;
  return `${text.endsWith('\n') ? text : `${text}\n`}${await process.render()}`;
}
