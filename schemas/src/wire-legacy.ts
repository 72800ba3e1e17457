import { z } from 'zod';
import { unixSecondsSchema } from './wire-v1.js';

/**
 * The legacy protocol (2018 to March 2024): Python json.dumps output, so the datagram's
 * first byte is `{`. Sources: parsl/usage_tracking/usage.py in the 2018 source, and the
 * released wheels of 2023.04.17, 2023.05.01, 2024.02.26, 2024.03.04, 2024.03.11 and
 * 2024.03.18 (the last legacy release checked).
 *
 * Launch vs closure: the closure has `end` (and t_apps/sites/failed); the launch has
 * `start`. Timestamps are time.time() floats, floored to whole seconds by decode.
 * Unknown keys pass through.
 */

const optional = <T extends z.ZodTypeAny>(schema: T) => schema.nullish();
const count = z.number().int().min(0);

export const legacyLaunchSchema = z
  .object({
    /** uuid4 string; the join key, shared with the closure. All releases. */
    uuid: z.string(),
    /** sha256(getpass.getuser())[:10]. 2018 until 2023.05.01 removed it. */
    uname: optional(z.string()),
    /** sha256(socket.gethostname())[:10]. Same releases as uname. */
    hname: optional(z.string()),
    /**
     * 2018: PARSL_TESTING=true; later hard-coded False "for protocol compatibility".
     * Dropped by 2024.02.26.
     */
    test: optional(z.boolean()),
    /** Parsl version. Not in the 2018 messages; present by the 2023 releases. */
    parsl_v: optional(z.string()),
    /** "major.minor.micro". Same releases as parsl_v. */
    python_v: optional(z.string()),
    /** platform.system(). Same releases as parsl_v. */
    os: optional(z.string()),
    /** platform.release(), e.g. "5.15.0-1034-aws". Same releases as parsl_v. */
    os_v: optional(z.string()),
    /** time.time(), a float. All releases. */
    start: optional(unixSecondsSchema),
  })
  .passthrough();
export type LegacyLaunch = z.infer<typeof legacyLaunchSchema>;

export const legacyClosureSchema = z
  .object({
    uuid: z.string(),
    /** time.time(), a float. All releases. */
    end: unixSecondsSchema,
    /** dfk.task_count: apps submitted. All releases. */
    t_apps: optional(count),
    /** Executors in the config (2018: managed sites only). All releases. */
    sites: optional(count),
    /** Apps failed or dependency-failed. All releases. */
    failed: optional(count),
    /** Always None when sent; dropped by 2024.02.26. Accepted as a number for tolerance, never used. */
    c_time: optional(z.number()),
    /** See legacyLaunchSchema.test. */
    test: optional(z.boolean()),
  })
  .passthrough();
export type LegacyClosure = z.infer<typeof legacyClosureSchema>;

/** Keys whose presence marks a legacy launch when `end` is absent. */
export const legacyLaunchMarkers = ['start', 'parsl_v', 'python_v', 'os', 'os_v', 'uname', 'hname'] as const;
