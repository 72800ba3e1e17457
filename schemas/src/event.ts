import { z } from 'zod';

/**
 * The canonical usage event: what every protocol generation of every Parsl
 * release is normalised to, before the join. Unknown facts are null, never guessed.
 */
export const componentKindSchema = z.enum(['executor', 'provider', 'launcher', 'other']);
export type ComponentKind = z.infer<typeof componentKindSchema>;

export const componentSchema = z.object({
  kind: componentKindSchema,
  /** Fully qualified class name, e.g. parsl.executors.high_throughput.executor.HighThroughputExecutor */
  cls: z.string(),
  attrs: z.record(z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type Component = z.infer<typeof componentSchema>;

export const usageEventSchema = z.object({
  workflowId: z.string(),
  phase: z.enum(['launch', 'closure']),
  protocol: z.enum(['v1', 'legacy']),
  /** 1..3; null when the client did not send it (legacy, and protocol 1 before 2024.06). */
  trackingLevel: z.number().int().min(1).max(3).nullable(),
  parslVersion: z.string().nullable(),
  pythonVersion: z.string().nullable(),
  /** "3.12" from "3.12.2" */
  pythonMinor: z.string().nullable(),
  /** platform.system() for protocol 1, `os` for legacy */
  platform: z.string().nullable(),
  /** legacy `os_v` */
  osRelease: z.string().nullable(),
  projectName: z.string().nullable(),
  /** legacy `test` flag */
  isTest: z.boolean().nullable(),
  components: z.array(componentSchema),
  executorsLen: z.number().int().nullable(),
  dependencyResolver: z.boolean().nullable(),
  /** true when any executor reported mpi=true */
  mpi: z.boolean().nullable(),
  appCount: z.number().int().nullable(),
  appFails: z.number().int().nullable(),
  /** Client clock, whole unix seconds. */
  startTime: z.number().int().nullable(),
  endTime: z.number().int().nullable(),
  /** Seconds. */
  executionTime: z.number().nullable(),
  /** Server clock at the relay, unix ms. */
  receivedAtMs: z.number().int(),
  kafkaPartition: z.number().int(),
  /** Kafka offsets are int64: kept as a decimal string. */
  kafkaOffset: z.string(),
});
export type UsageEvent = z.infer<typeof usageEventSchema>;

/** Where a message came from: what decode needs besides the bytes. */
export interface MessageMeta {
  receivedAtMs: number;
  kafkaPartition: number;
  kafkaOffset: string;
}

export type DecodeOutcome =
  { kind: 'ok'; event: UsageEvent } | { kind: 'rejected'; reason: RejectReason; detail: string };

export const rejectReasons = [
  'empty',
  'too_large',
  'bad_prefix',
  'bad_utf8',
  'bad_json',
  'not_object',
  'no_id',
  'bad_id',
  'bad_field',
  'unknown_phase',
] as const;
export type RejectReason = (typeof rejectReasons)[number];
