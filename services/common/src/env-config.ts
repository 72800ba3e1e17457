import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/** The one error of a bad environment (never retriable): every problem, each on its own line. */
export class ConfigError extends Error {
  readonly retriable = false;
  /** one line per bad variable, e.g. `RELAY_UDP_PORT: Expected number, received nan (got "x")` */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = []) {
    super(message);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The suffix of a variable that names a file holding another variable's value (a secret). */
export const FILE_SUFFIX = '_FILE';

/**
 * The variables of `keys` that are set (empty strings count as unset), with every `X_FILE` whose
 * `X` is also in `keys` replaced by the file's content: a password then never sits in the
 * environment, where `docker inspect` and /proc/<pid>/environ show it (docker-compose secrets,
 * docs/DEPLOYMENT.md). One trailing newline is dropped, as `echo pw > file` adds it. Setting
 * both `X` and `X_FILE`, or a file that cannot be read, is a problem, never a silent fallback.
 */
export function pickEnv(
  keys: readonly string[],
  env: Record<string, string | undefined>,
): { picked: Record<string, string>; problems: string[] } {
  const picked: Record<string, string> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const v = env[key];
    if (v !== undefined && v !== '') picked[key] = v;
  }
  for (const key of keys) {
    if (!key.endsWith(FILE_SUFFIX)) continue;
    const target = key.slice(0, -FILE_SUFFIX.length);
    const path = picked[key];
    if (path === undefined || !keys.includes(target)) continue;
    if (picked[target] !== undefined) {
      problems.push(`  ${key}: set ${target} or ${key}, not both`);
      continue;
    }
    try {
      picked[target] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      problems.push(`  ${key}: cannot read ${JSON.stringify(path)} (${code})`);
    }
  }
  return { picked, problems };
}

/**
 * Validates the variables a service reads; one error lists every bad one with what it got.
 * Empty strings count as unset, so `FOO=` in a compose file falls back to the default.
 * `X_FILE` variables of the schema are read as files into `X` (pickEnv).
 */
export function parseEnv<S extends z.AnyZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined>,
  makeError: (message: string, problems: readonly string[]) => Error = (m, p) => new ConfigError(m, p),
): z.infer<S> {
  const { picked, problems } = pickEnv(Object.keys(schema.shape as Record<string, unknown>), env);
  const parsed = schema.safeParse(picked);
  const lines = [
    ...problems,
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => {
          const key = String(i.path[0]);
          // A value read from a file is a secret: never echo it into a log.
          const got =
            picked[`${key}${FILE_SUFFIX}`] === undefined ? JSON.stringify(picked[key]) : '(from file)';
          return `  ${i.path.join('.')}: ${i.message} (got ${got})`;
        })),
  ];
  if (!parsed.success || problems.length > 0) {
    throw makeError(
      `invalid ${service} configuration:\n${lines.join('\n')}`,
      lines.map((l) => l.trim()),
    );
  }
  return parsed.data;
}
