import { z } from 'zod';

/**
 * How many times the supervisor (infra/scripts/supervise.sh, used by `npm start`) has restarted
 * this service: it passes the count as SUPERVISOR_RESTARTS. 0 when unsupervised or unset;
 * docker-compose restarts show in `docker compose ps` instead.
 */
export function supervisorRestarts(env: NodeJS.ProcessEnv = process.env): number {
  // Lenient on purpose: the supervisor sets it, not an operator, and a metric is no reason to refuse a start.
  const r = supervisorEnvSchema.shape.SUPERVISOR_RESTARTS.safeParse(env.SUPERVISOR_RESTARTS || undefined);
  return r.success ? r.data : 0;
}

/** Read by every service; listed in docs/CONFIGURATION.md. */
export const supervisorEnvSchema = z.object({
  SUPERVISOR_RESTARTS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      'set by infra/scripts/supervise.sh (npm start), never by operators: restarts so far, for the metric',
    ),
});

export const SUPERVISOR_RESTARTS_HELP =
  'restarts of this service by its supervisor since the supervisor started (infra/scripts/supervise.sh)';
