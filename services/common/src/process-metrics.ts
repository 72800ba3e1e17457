import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default metrics (CPU, resident memory, heap, garbage collection, event-loop lag,
 * open handles) in a service's own registry, so that its one /metrics carries both (each
 * service's main.ts asks for them: `new Metrics({ processMetrics: true })`, the relay's
 * `processMetrics: true`). Once per registry (prom-client refuses a second registration of a
 * name); its collectors live as long as the process, which is why the services' tests leave it off.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
}
