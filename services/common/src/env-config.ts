import type { z } from 'zod';

export class ConfigError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the variables a service reads; one error lists every bad one with what it got.
 * Empty strings count as unset, so `FOO=` in a compose file falls back to the default.
 */
export function parseEnv<S extends z.AnyZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined>,
  makeError: (message: string) => Error = (m) => new ConfigError(m),
): z.infer<S> {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(schema.shape as Record<string, unknown>)) {
    const v = env[key];
    if (v !== undefined && v !== '') picked[key] = v;
  }
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(picked[String(i.path[0])])})`,
    );
    throw makeError(`invalid ${service} configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
