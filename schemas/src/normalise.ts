import type { Component, ComponentKind } from './event.js';
import { MAX_EXECUTORS, MAX_TASK_COUNT } from './bounds.js';
import { cleanField } from './text.js';
import { isWireComponentItem } from './wire-v1.js';

/**
 * I/O-free normalisation shared by both protocol generations: text cleaning, the Python
 * minor version, and turning protocol-1 `components` into classified components plus the
 * few facts the dashboards group by.
 */

/** Most components kept from one message; a real config has well under 20. */
export const MAX_COMPONENTS = 256;
/**
 * Deepest list nesting accepted in `components`. Parsl's own traversal flattens lists,
 * so real messages have depth 1; a few levels of slack covers hand-rolled senders
 * while bounding the work for hostile input.
 */
export const MAX_COMPONENT_DEPTH = 8;

// "3.12.2", "3.12.2+", "3.13.0rc1", "3.12": major.minor, then anything that is not a digit.
const PYTHON_MINOR = /^(\d{1,2})\.(\d{1,3})(?!\d)/;

/** "3.12" from "3.12.2"; null when the text does not start with major.minor. */
export function pythonMinor(version: string | null): string | null {
  if (version === null) return null;
  const m = PYTHON_MINOR.exec(version.trim());
  if (m === null) return null;
  // Number() drops leading zeros so "3.012" and "3.12" group together.
  return `${Number(m[1])}.${Number(m[2])}`;
}

export function classifyComponent(cls: string): ComponentKind {
  if (cls.startsWith('parsl.executors.')) return 'executor';
  if (cls.startsWith('parsl.providers.')) return 'provider';
  if (cls.startsWith('parsl.launchers.')) return 'launcher';
  return 'other';
}

/** Facts lifted out of the components, null when no component reported them. */
export interface ComponentFacts {
  executorsLen: number | null;
  dependencyResolver: boolean | null;
  mpi: boolean | null;
  appCount: number | null;
  appFails: number | null;
}

export type ComponentsOutcome =
  | { kind: 'ok'; components: Component[]; facts: ComponentFacts }
  | { kind: 'rejected'; reason: 'bad_field'; detail: string };

const CONFIG_CLASS = 'parsl.config.Config';
const DFK_CLASS = 'parsl.dataflow.dflow.DataFlowKernel';

type Attrs = Component['attrs'];

/**
 * Attribute values that fit the canonical record. Nested objects and lists are dropped:
 * third-party executors may report anything through UsageInformation, and one odd
 * attribute should not cost the whole message. The facts read below are type-checked.
 */
function scalarAttrs(raw: Record<string, unknown>): Attrs {
  const attrs: Attrs = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'c') continue;
    const name = cleanField(key, 'attrName');
    if (name === null) continue;
    if (typeof value === 'string') attrs[name] = cleanField(value, 'attrValue');
    else if (typeof value === 'number' && Number.isFinite(value)) attrs[name] = value;
    else if (typeof value === 'boolean' || value === null) attrs[name] = value;
  }
  return attrs;
}

/** Flatten nested lists depth-first, keeping Parsl's order. Iterative: no stack growth on hostile depth. */
function flatten(
  items: readonly unknown[],
): { kind: 'ok'; flat: { path: string; item: unknown }[] } | { kind: 'rejected'; detail: string } {
  const flat: { path: string; item: unknown }[] = [];
  const stack: { list: readonly unknown[]; index: number; path: string }[] = [
    { list: items, index: 0, path: 'components' },
  ];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top === undefined) break;
    if (top.index >= top.list.length) {
      stack.pop();
      continue;
    }
    const item = top.list[top.index];
    const path = `${top.path}.${top.index}`;
    top.index += 1;
    if (Array.isArray(item)) {
      if (stack.length >= MAX_COMPONENT_DEPTH) {
        return { kind: 'rejected', detail: `${path}: lists nested deeper than ${MAX_COMPONENT_DEPTH}` };
      }
      stack.push({ list: item as unknown[], index: 0, path });
      continue;
    }
    if (flat.length >= MAX_COMPONENTS) {
      return { kind: 'rejected', detail: `components: more than ${MAX_COMPONENTS} entries` };
    }
    flat.push({ path, item });
  }
  return { kind: 'ok', flat };
}

/** An integer in [0, max] (bounds.ts), or the reason it is not. */
function boundedInt(attrs: Attrs, key: string, path: string, max: number): number | null | string {
  const value = attrs[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    return `${path}.${key}: expected a non-negative integer, got ${JSON.stringify(value)}`;
  }
  if (value > max) return `${path}.${key}: ${value} is above the bound ${max}`;
  return value;
}

function bool(attrs: Attrs, key: string, path: string): boolean | null | string {
  const value = attrs[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') return `${path}.${key}: expected a boolean, got ${JSON.stringify(value)}`;
  return value;
}

/**
 * Protocol-1 `components` -> classified components and facts.
 *
 * Items are class-name strings or {"c": class, ...attributes}; lists may nest. When a
 * class appears more than once (two Configs can only come from a non-Parsl sender) the
 * first report of a fact wins. `mpi` is true when any executor says true, false when
 * executors reported it and none said true, null when none reported it.
 */
export function normaliseComponents(items: readonly unknown[]): ComponentsOutcome {
  const flattened = flatten(items);
  if (flattened.kind === 'rejected')
    return { kind: 'rejected', reason: 'bad_field', detail: flattened.detail };

  const components: Component[] = [];
  const facts: ComponentFacts = {
    executorsLen: null,
    dependencyResolver: null,
    mpi: null,
    appCount: null,
    appFails: null,
  };
  const problem = (detail: string): ComponentsOutcome => ({ kind: 'rejected', reason: 'bad_field', detail });

  for (const { path, item } of flattened.flat) {
    if (!isWireComponentItem(item)) {
      return problem(`${path}: expected a class name or an object with a string "c", got ${describe(item)}`);
    }
    const wire = item;
    const rawCls = typeof wire === 'string' ? wire : wire.c;
    const cls = cleanField(rawCls, 'className');
    if (cls === null) return problem(`${path}: empty class name`);
    const attrs = typeof wire === 'string' ? {} : scalarAttrs(wire);
    const kind = classifyComponent(cls);
    components.push({ kind, cls, attrs });

    if (cls === CONFIG_CLASS) {
      const executorsLen = boundedInt(attrs, 'executors_len', path, MAX_EXECUTORS);
      if (typeof executorsLen === 'string') return problem(executorsLen);
      const dependencyResolver = bool(attrs, 'dependency_resolver', path);
      if (typeof dependencyResolver === 'string') return problem(dependencyResolver);
      facts.executorsLen ??= executorsLen;
      facts.dependencyResolver ??= dependencyResolver;
    } else if (cls === DFK_CLASS) {
      const appCount = boundedInt(attrs, 'app_count', path, MAX_TASK_COUNT);
      if (typeof appCount === 'string') return problem(appCount);
      const appFails = boundedInt(attrs, 'app_fails', path, MAX_TASK_COUNT);
      if (typeof appFails === 'string') return problem(appFails);
      facts.appCount ??= appCount;
      facts.appFails ??= appFails;
    } else if (kind === 'executor') {
      const mpi = bool(attrs, 'mpi', path);
      if (typeof mpi === 'string') return problem(mpi);
      if (mpi !== null) facts.mpi = facts.mpi === true || mpi;
    }
  }
  return { kind: 'ok', components, facts };
}

/** Short description of an unexpected JSON value for reject details (never the whole value). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
