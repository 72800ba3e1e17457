import type { ZodError } from 'zod';
import type { DecodeOutcome, MessageMeta, UsageEvent } from './event.js';
import {
  MAX_EXECUTORS,
  MAX_TASK_COUNT,
  checkAtMost,
  checkClientTime,
  checkExecutionTime,
  firstOutOfBounds,
} from './bounds.js';
import type { BoundCheck } from './bounds.js';
import { normaliseComponents, pythonMinor } from './normalise.js';
import { cleanField } from './text.js';
import type { ComponentFacts } from './normalise.js';
import { sniffMessage } from './sniff.js';
import type { Protocol } from './sniff.js';
import { legacyClosureSchema, legacyLaunchMarkers, legacyLaunchSchema } from './wire-legacy.js';
import { v1ClosureSchema, v1LaunchMarkers, v1LaunchSchema } from './wire-v1.js';

/**
 * Datagram bytes -> canonical UsageEvent, for every protocol generation.
 *
 * Type policy: a field of the wrong type is rejected as bad_field naming the field,
 * rather than coerced, because a coerced value would be counted as a real fact. No
 * checked Parsl release sent numbers as strings or other variants of a field's type
 * (see wire-v1.ts / wire-legacy.ts), so there is no tolerance list; the tolerated
 * variations are absent fields, JSON null for "not sent", fractional timestamps, and
 * unknown extra keys. Every string passes the one text rule (text.ts), and every number
 * its bound (bounds.ts): a value outside it is rejected as bad_field naming the field.
 */

type Phase = UsageEvent['phase'];
type Rejected = Extract<DecodeOutcome, { kind: 'rejected' }>;

const NO_FACTS: ComponentFacts = {
  executorsLen: null,
  dependencyResolver: null,
  mpi: null,
  appCount: null,
  appFails: null,
};

function hasKey(message: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, key);
}

/**
 * Every release's closure has `end` and no release's launch has it. A message without
 * `end` is a launch only if it carries something a launch carries; an id alone is not
 * enough to be counted as a run.
 */
function phaseOf(protocol: Protocol, message: Record<string, unknown>): Phase | null {
  if (hasKey(message, 'end')) return 'closure';
  const markers: readonly string[] = protocol === 'v1' ? v1LaunchMarkers : legacyLaunchMarkers;
  return markers.some((key) => hasKey(message, key)) ? 'launch' : null;
}

function badField(error: ZodError): Rejected {
  const issue = error.issues[0];
  if (issue === undefined)
    return { kind: 'rejected', reason: 'bad_field', detail: 'schema rejected the message' };
  const path = issue.path.length > 0 ? issue.path.join('.') : '(message)';
  return { kind: 'rejected', reason: 'bad_field', detail: `${path}: ${issue.message}` };
}

function outOfBounds(check: BoundCheck): Rejected | null {
  return check.kind === 'out_of_bounds'
    ? { kind: 'rejected', reason: 'bad_field', detail: check.detail }
    : null;
}

function floorOrNull(seconds: number | null | undefined): number | null {
  return seconds === null || seconds === undefined ? null : Math.floor(seconds);
}

/** The fields no protocol-specific branch sets, with every fact unknown. */
function baseEvent(id: string, phase: Phase, protocol: Protocol, meta: MessageMeta): UsageEvent {
  return {
    workflowId: id,
    phase,
    protocol,
    trackingLevel: null,
    parslVersion: null,
    pythonVersion: null,
    pythonMinor: null,
    platform: null,
    osRelease: null,
    projectName: null,
    isTest: null,
    components: [],
    ...NO_FACTS,
    startTime: null,
    endTime: null,
    executionTime: null,
    receivedAtMs: meta.receivedAtMs,
    kafkaPartition: meta.kafkaPartition,
    kafkaOffset: meta.kafkaOffset,
  };
}

function versions(parslV: string | null | undefined, pythonV: string | null | undefined) {
  const pythonVersion = cleanField(pythonV, 'version');
  return {
    parslVersion: cleanField(parslV, 'version'),
    pythonVersion,
    pythonMinor: pythonMinor(pythonVersion),
  };
}

function decodeV1(
  id: string,
  phase: Phase,
  message: Record<string, unknown>,
  meta: MessageMeta,
): DecodeOutcome {
  const base = baseEvent(id, phase, 'v1', meta);
  if (phase === 'launch') {
    const parsed = v1LaunchSchema.safeParse(message);
    if (!parsed.success) return badField(parsed.error);
    const wire = parsed.data;
    const bad = outOfBounds(checkClientTime('start', wire.start, meta.receivedAtMs));
    if (bad) return bad;
    const normalised = normaliseComponents(wire.components ?? []);
    if (normalised.kind === 'rejected') return normalised;
    return {
      kind: 'ok',
      event: {
        ...base,
        trackingLevel: wire.tracking_level ?? null,
        ...versions(wire.parsl_v, wire.python_v),
        platform: cleanField(wire['platform.system'], 'platform'),
        projectName: cleanField(wire.project_name, 'project'),
        components: normalised.components,
        ...normalised.facts,
        startTime: floorOrNull(wire.start),
      },
    };
  }
  const parsed = v1ClosureSchema.safeParse(message);
  if (!parsed.success) return badField(parsed.error);
  const wire = parsed.data;
  const bad = outOfBounds(
    firstOutOfBounds([
      checkClientTime('end', wire.end, meta.receivedAtMs),
      checkExecutionTime(wire.execution_time),
    ]),
  );
  if (bad) return bad;
  const normalised = normaliseComponents(wire.components ?? []);
  if (normalised.kind === 'rejected') return normalised;
  const executionTime = wire.execution_time ?? null;
  return {
    kind: 'ok',
    event: {
      ...base,
      trackingLevel: wire.tracking_level ?? null,
      projectName: cleanField(wire.project_name, 'project'),
      components: normalised.components,
      ...normalised.facts,
      endTime: Math.floor(wire.end),
      // end - start on a client clock that stepped backwards: the duration is unknown.
      executionTime: executionTime !== null && executionTime >= 0 ? executionTime : null,
    },
  };
}

function decodeLegacy(
  id: string,
  phase: Phase,
  message: Record<string, unknown>,
  meta: MessageMeta,
): DecodeOutcome {
  const base = baseEvent(id, phase, 'legacy', meta);
  if (phase === 'launch') {
    const parsed = legacyLaunchSchema.safeParse(message);
    if (!parsed.success) return badField(parsed.error);
    const wire = parsed.data;
    const bad = outOfBounds(checkClientTime('start', wire.start, meta.receivedAtMs));
    if (bad) return bad;
    return {
      kind: 'ok',
      event: {
        ...base,
        ...versions(wire.parsl_v, wire.python_v),
        platform: cleanField(wire.os, 'platform'),
        osRelease: cleanField(wire.os_v, 'osRelease'),
        isTest: wire.test ?? null,
        startTime: floorOrNull(wire.start),
      },
    };
  }
  const parsed = legacyClosureSchema.safeParse(message);
  if (!parsed.success) return badField(parsed.error);
  const wire = parsed.data;
  const bad = outOfBounds(
    firstOutOfBounds([
      checkClientTime('end', wire.end, meta.receivedAtMs),
      checkAtMost('t_apps', wire.t_apps, MAX_TASK_COUNT),
      checkAtMost('failed', wire.failed, MAX_TASK_COUNT),
      checkAtMost('sites', wire.sites, MAX_EXECUTORS),
    ]),
  );
  if (bad) return bad;
  return {
    kind: 'ok',
    event: {
      ...base,
      isTest: wire.test ?? null,
      executorsLen: wire.sites ?? null,
      appCount: wire.t_apps ?? null,
      appFails: wire.failed ?? null,
      endTime: Math.floor(wire.end),
    },
  };
}

/** One datagram (as the relay put it on Kafka) -> one canonical event, or why not. Never throws. */
export function decodeDatagram(bytes: Buffer, meta: MessageMeta): DecodeOutcome {
  const sniffed = sniffMessage(bytes);
  if (sniffed.kind === 'rejected') return sniffed;
  const { protocol, id, message } = sniffed;
  const phase = phaseOf(protocol, message);
  if (phase === null) {
    return {
      kind: 'rejected',
      reason: 'unknown_phase',
      detail: `${protocol} message has no "end" and none of the launch fields`,
    };
  }
  return protocol === 'v1' ? decodeV1(id, phase, message, meta) : decodeLegacy(id, phase, message, meta);
}
