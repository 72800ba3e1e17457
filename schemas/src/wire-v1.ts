import { z } from 'zod';

/**
 * Protocol "1": the byte 0x31 then the UTF-8 output of Python's json.dumps (ASCII only,
 * since ensure_ascii is on). Sources: parsl/usage_tracking/usage.py in Parsl 2024.06.03,
 * 2024.06.10 and 2025.03.17 (checked in the released wheels). 2024.03.18 still sent the
 * legacy protocol, so protocol 1 first shipped between 2024.03.25 and 2024.06.03.
 *
 * Launch vs closure: every release's closure has `end` and no launch has it. Launches
 * always carry `parsl_v`, `python_v` and `platform.system`; `start` only at level 3.
 *
 * Unknown keys pass through: Parsl adds fields without bumping the protocol byte
 * (tracking_level and execution_time in 2024.06.10, project_name later in 2024: absent in
 * 2024.06.10, present in 2025.03.17; October 2024 per the project's history).
 * Every field is optional on the wire, because some release left each one out; which
 * facts a message must have is decided in decode.ts, not here.
 */

/** Unix seconds; upper bound 2100-01-01 keeps values inside ClickHouse DateTime. */
export const MAX_UNIX_SECONDS = 4_102_444_800;

/** Absent and JSON null (Python None) both mean "not sent". */
const optional = <T extends z.ZodTypeAny>(schema: T) => schema.nullish();

/**
 * Client clock in unix seconds. Parsl sends int(time.time()) in protocol 1; fractions are
 * tolerated (and floored in decode) so a float sender is not rejected for a sub-second.
 */
export const unixSecondsSchema = z.number().finite().min(0).max(MAX_UNIX_SECONDS);

/**
 * One entry of `components`: a class name, an object whose "c" is the class name and whose
 * other keys are that component's usage information, or a nested list of entries. Nested
 * lists are flattened by normaliseComponents (iteratively, with a depth bound), so this
 * schema does not recurse into them.
 */
export const wireComponentItemSchema = z.union([z.string(), z.object({ c: z.string() }).passthrough()]);
export type WireComponentItem = z.infer<typeof wireComponentItemSchema>;

/**
 * The same test as wireComponentItemSchema for values from JSON.parse, without zod: a union
 * that tries z.string() first builds a full error for every object entry before it tries the
 * object, and that was a quarter of all decoding time. wire-v1.test.ts checks that both agree.
 */
export function isWireComponentItem(x: unknown): x is WireComponentItem {
  if (typeof x === 'string') return true;
  return (
    typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as { c?: unknown }).c === 'string'
  );
}
export const wireComponentSchema = z.union([wireComponentItemSchema, z.array(z.unknown())]);
export type WireComponent = z.infer<typeof wireComponentSchema>;

export const v1LaunchSchema = z
  .object({
    /** uuid4 string; the join key, shared with the closure. All releases. */
    correlator: z.string(),
    /** Parsl version, zero-padded date form ("2024.06.03"). All releases. */
    parsl_v: optional(z.string()),
    /** f"{major}.{minor}.{micro}". All releases. */
    python_v: optional(z.string()),
    /** platform.system(): "Linux", "Darwin", "Windows". All releases. */
    'platform.system': optional(z.string()),
    /** 1..3 (level 0 sends nothing). Since 2024.06.10; absent before. */
    tracking_level: optional(z.number().int().min(1).max(3)),
    /** Config.project_name, only when set. Since late 2024 (not in 2024.06.10; in 2025.03.17). */
    project_name: optional(z.string()),
    /** Level >= 2 since 2024.06.10; always before that. */
    components: optional(z.array(z.unknown())),
    /** int(time.time()): level 3 since 2024.06.10; always before that. */
    start: optional(unixSecondsSchema),
  })
  .passthrough();
export type V1Launch = z.infer<typeof v1LaunchSchema>;

export const v1ClosureSchema = z
  .object({
    correlator: z.string(),
    /** int(time.time()). All releases. The closure is only sent at level 3 (since 2024.06.10). */
    end: unixSecondsSchema,
    /**
     * Seconds, end - start of the same client clock, so it can be negative when the clock
     * steps back; decode treats a negative value as unknown. Since 2024.06.10.
     */
    execution_time: optional(z.number().finite()),
    /**
     * Never sent in a closure by any release checked (the level lives on the launch); read
     * if a future release adds it.
     */
    tracking_level: optional(z.number().int().min(1).max(3)),
    /** The DataFlowKernel entry (app_count, app_fails) first, then the config's. All releases. */
    components: optional(z.array(z.unknown())),
    /** Only when set; same releases as the launch's project_name. */
    project_name: optional(z.string()),
  })
  .passthrough();
export type V1Closure = z.infer<typeof v1ClosureSchema>;

/** Keys whose presence marks a protocol-1 launch when `end` is absent. */
export const v1LaunchMarkers = ['parsl_v', 'python_v', 'platform.system', 'tracking_level', 'start'] as const;
