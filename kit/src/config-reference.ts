/**
 * Writes docs/CONFIGURATION.md from the zod schemas every service and operator command
 * validates its environment with, so the reference cannot drift from the code:
 *   npm run docs:config            (writes the file)
 *   npm run docs:config -- --check (exit 1 when the committed file differs)
 * test/config-reference.test.ts fails when the committed file differs from what this renders.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { supervisorEnvSchema } from '@parsl-usage/common';
import { LOCAL_DEV_USERS, clickhouseEnvSchema } from '@parsl-usage/common/cli-frame';
import { aggregatorEnvSchema } from '@parsl-usage/aggregator/internal/config';
import { dashboardEnvSchema } from '@parsl-usage/dashboard/internal/config';
import { relayEnvSchema } from '@parsl-usage/relay/internal/config';
import { backupEnvSchema } from '@parsl-usage/ops/internal/backup-command';
import { forgetEnvSchema } from '@parsl-usage/ops/internal/forget-project-cli';
import { migrateEnvSchema } from '@parsl-usage/ops/internal/migrate-config';
import { reportEnvSchema } from '@parsl-usage/ops/internal/report-cli';
import { restoreEnvSchema } from '@parsl-usage/ops/internal/restore-cli';

export const REFERENCE_PATH = fileURLToPath(new URL('../../docs/CONFIGURATION.md', import.meta.url));

export interface Section {
  title: string;
  /** where the schema lives, relative to the repository root */
  source: string;
  intro: string;
  schema: z.AnyZodObject;
}

export const SECTIONS: readonly Section[] = [
  {
    title: 'relay',
    source: 'services/relay/src/config.ts',
    intro: 'The UDP relay (`node services/relay/dist/main.js`; compose service `relay`).',
    schema: relayEnvSchema,
  },
  {
    title: 'aggregator',
    source: 'services/aggregator/src/config.ts',
    intro:
      'The stream processor (`node services/aggregator/dist/main.js`; compose service `aggregator`). It writes as `ingest`.',
    schema: aggregatorEnvSchema,
  },
  {
    title: 'dashboard',
    source: 'services/dashboard/src/config.ts',
    intro:
      'The public page and its API (`node services/dashboard/dist/main.js`; compose service `dashboard`).',
    schema: dashboardEnvSchema,
  },
  {
    title: 'every service',
    source: 'services/common/src/supervisor.ts',
    intro: 'Read by the relay, the aggregator and the dashboard.',
    schema: supervisorEnvSchema,
  },
  {
    title: 'npm run migrate',
    source: 'services/ops/src/migrate-config.ts',
    intro: "Creates the topics and applies the migrations: the aggregator's variables, run as `admin`.",
    schema: migrateEnvSchema,
  },
  {
    title: 'npm run report',
    source: 'services/ops/src/report-cli.ts',
    intro: 'The funders’ report. It only reads, as `analyst`.',
    schema: reportEnvSchema,
  },
  {
    title: 'npm run reprocess, npm run retention',
    source: 'services/common/src/cli-frame.ts',
    intro: 'Maintenance commands, as `admin`.',
    schema: clickhouseEnvSchema(LOCAL_DEV_USERS.admin),
  },
  {
    title: 'npm run forget-project',
    source: 'services/ops/src/forget-project-cli.ts',
    intro: 'Deletes one project on request (docs/PRIVACY.md), as `admin`.',
    schema: clickhouseEnvSchema(LOCAL_DEV_USERS.admin).merge(forgetEnvSchema),
  },
  {
    title: 'npm run backup',
    source: 'services/ops/src/backup-command.ts',
    intro: 'Backs up the tables into a directory (docs/OPERATIONS.md), as `admin`.',
    schema: backupEnvSchema,
  },
  {
    title: 'npm run restore',
    source: 'services/ops/src/restore-cli.ts',
    intro: 'Restores a backup and moves the consumer group back to it (docs/OPERATIONS.md), as `admin`.',
    schema: backupEnvSchema.merge(restoreEnvSchema),
  },
];

export interface Row {
  name: string;
  type: string;
  /** undefined: no default (optional, or computed at run time) */
  default: unknown;
  description: string | undefined;
}

/** The schema's layers, outermost first: defaults, optionals, transforms and pipes wrap the base type. */
function layers(t: z.ZodTypeAny): z.ZodTypeAny[] {
  const out: z.ZodTypeAny[] = [];
  let cur: z.ZodTypeAny | undefined = t;
  while (cur) {
    out.push(cur);
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodNullable)
      cur = cur._def.innerType as z.ZodTypeAny;
    else if (cur instanceof z.ZodEffects) cur = cur._def.schema as z.ZodTypeAny;
    else if (cur instanceof z.ZodPipeline) cur = cur._def.in as z.ZodTypeAny;
    else cur = undefined;
  }
  return out;
}

function typeOf(base: z.ZodTypeAny): string {
  if (base instanceof z.ZodEnum) return (base.options as string[]).join(' | ');
  if (base instanceof z.ZodNumber) {
    const int = base.isInt;
    // zod's .positive() is an exclusive minimum of 0: for an integer that is 1.
    let min: string | undefined;
    let max: string | undefined;
    for (const c of base._def.checks) {
      if (c.kind === 'min') min = c.inclusive ? `${c.value}` : int ? `${c.value + 1}` : `> ${c.value}`;
      if (c.kind === 'max') max = c.inclusive ? `${c.value}` : int ? `${c.value - 1}` : `< ${c.value}`;
    }
    const kind = int ? 'integer' : 'number';
    if (min !== undefined && max !== undefined) return `${kind} ${min}–${max}`;
    if (min !== undefined) return min.startsWith('>') ? `${kind} ${min}` : `${kind} ≥ ${min}`;
    if (max !== undefined) return max.startsWith('<') ? `${kind} ${max}` : `${kind} ≤ ${max}`;
    return kind;
  }
  if (base instanceof z.ZodString) {
    if (base.isURL) return 'URL';
    return base._def.checks.some((c) => c.kind === 'regex') ? 'string (checked)' : 'string';
  }
  if (base instanceof z.ZodBoolean) return 'boolean';
  return (base._def as { typeName: string }).typeName;
}

export function rows(schema: z.AnyZodObject): Row[] {
  return Object.entries(schema.shape as Record<string, z.ZodTypeAny>).map(([name, t]) => {
    const ls = layers(t);
    const base = ls[ls.length - 1] as z.ZodTypeAny;
    const withDefault = ls.find((l): l is z.ZodDefault<z.ZodTypeAny> => l instanceof z.ZodDefault);
    let type = typeOf(base);
    // A string checked by a refinement (a list of host:port, comma-separated URLs) says so in its description.
    if (type === 'string' && ls.some((l) => l instanceof z.ZodEffects || l instanceof z.ZodPipeline))
      type = 'string (checked)';
    return {
      name,
      type,
      default: withDefault ? (withDefault._def.defaultValue as () => unknown)() : undefined,
      description: ls.map((l) => l.description).find((d) => d !== undefined),
    };
  });
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function defaultCell(v: unknown): string {
  if (v === undefined) return '—';
  if (v === '') return '(empty)';
  const text =
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return `\`${text}\``;
}

export function render(sections: readonly Section[] = SECTIONS): string {
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` (kit/src/config-reference.ts) from the zod schemas. Do not edit: test/config-reference.test.ts fails when this file differs from the schemas. -->',
    '',
    'Every variable the services and the operator commands read, one table each. Each program checks its',
    'variables at start and refuses to run with one error that lists every bad value (exit 2 for the',
    'commands). An empty value counts as unset. A variable ending in `_PASSWORD_FILE` names a file',
    'whose content is the password (docker-compose secrets, docs/DEPLOYMENT.md); set it or the',
    'password, not both. The passwords’ defaults are the local development ones of',
    'infra/clickhouse/users.d: a deployment sets every one.',
    '',
  ];
  // A variable shared by several programs may be described once (backup-command.ts's schema
  // describes none of the connection variables the others describe).
  const shared = new Map<string, string>();
  for (const s of sections)
    for (const r of rows(s.schema))
      if (r.description && !shared.has(r.name)) shared.set(r.name, r.description);
  for (const s of sections) {
    out.push(`## ${s.title}`, '', `${s.intro} Schema: ${s.source}.`, '');
    out.push('| Variable | Type | Default | Meaning |', '| --- | --- | --- | --- |');
    for (const r of rows(s.schema)) {
      out.push(
        `| \`${r.name}\` | ${cell(r.type)} | ${cell(defaultCell(r.default))} | ${cell(r.description ?? shared.get(r.name) ?? '—')} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/** Every variable named in the reference, for the docs test. */
export function documentedVariables(sections: readonly Section[] = SECTIONS): Set<string> {
  return new Set(sections.flatMap((s) => Object.keys(s.schema.shape as Record<string, unknown>)));
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const text = render();
  if (process.argv.includes('--check')) {
    if (readFileSync(REFERENCE_PATH, 'utf8') !== text) {
      process.stderr.write('docs/CONFIGURATION.md is stale: run npm run docs:config\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(REFERENCE_PATH, text);
    process.stdout.write(`wrote ${REFERENCE_PATH}\n`);
  }
}
