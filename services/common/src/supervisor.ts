/**
 * How many times the supervisor (infra/scripts/supervise.sh, used by `npm start`) has restarted
 * this service: it passes the count as SUPERVISOR_RESTARTS. 0 when unsupervised or unset;
 * docker-compose restarts show in `docker compose ps` instead.
 */
export function supervisorRestarts(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.SUPERVISOR_RESTARTS ?? '0');
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export const SUPERVISOR_RESTARTS_HELP =
  'restarts of this service by its supervisor since the supervisor started (infra/scripts/supervise.sh)';
