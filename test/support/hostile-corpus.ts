/**
 * Nasty datagrams, each with what the pipeline must do with it: store it exactly as the text
 * rule and the bounds say (schemas/src/text.ts, bounds.ts), or reject it with a named reason at
 * a named stage. Ids carry `prefix` so that a run's rows are its own.
 */
export type Expected =
  | { kind: 'stored'; id: string; columns: Record<string, unknown> }
  | { kind: 'rejected'; stage: 'relay' | 'aggregator'; reason: string };

export interface Case {
  name: string;
  bytes: Buffer;
  expect: Expected;
}

const v1 = (fields: Record<string, unknown>): Buffer => Buffer.from('1' + JSON.stringify(fields));
/** JSON text written by hand, for escapes JSON.stringify would not produce. */
const v1Text = (text: string): Buffer => Buffer.from('1' + text);

export function hostileCorpus(prefix: string, nowMs: number): Case[] {
  const t = Math.floor(nowMs / 1000);
  const id = (n: string): string => `${prefix}-${n}`;
  const launch = (n: string, extra: Record<string, unknown> = {}): Buffer =>
    v1({
      correlator: id(n),
      parsl_v: '2025.03.17',
      python_v: '3.12.2',
      'platform.system': 'Linux',
      tracking_level: 1,
      ...extra,
    });
  const stored = (n: string, columns: Record<string, unknown>): Expected => ({
    kind: 'stored',
    id: id(n),
    columns,
  });
  const relay = (reason: string): Expected => ({ kind: 'rejected', stage: 'relay', reason });
  const agg = (reason: string): Expected => ({ kind: 'rejected', stage: 'aggregator', reason });
  const dfk = (attrs: Record<string, unknown>) => [{ c: 'parsl.dataflow.dflow.DataFlowKernel', ...attrs }];

  return [
    // encodings
    {
      name: 'invalid UTF-8',
      bytes: Buffer.concat([
        v1Text(`{"correlator":"${id('u1')}","parsl_v":"`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}'),
      ]),
      expect: relay('bad_utf8'),
    },
    {
      name: 'a surrogate as UTF-8 bytes (CESU-8)',
      bytes: Buffer.concat([
        v1Text(`{"correlator":"${id('u2')}","parsl_v":"`),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]),
      expect: relay('bad_utf8'),
    },
    {
      name: 'overlong UTF-8 for "/"',
      bytes: Buffer.concat([
        v1Text(`{"correlator":"${id('u3')}","parsl_v":"`),
        Buffer.from([0xc0, 0xaf]),
        Buffer.from('"}'),
      ]),
      expect: relay('bad_utf8'),
    },
    {
      name: 'UTF-8 byte-order mark',
      bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), v1({ correlator: id('u4') })]),
      expect: relay('bad_prefix'),
    },
    {
      name: 'UTF-16 text',
      bytes: Buffer.from(`1{"correlator":"${id('u5')}"}`, 'utf16le'),
      expect: relay('bad_json'),
    },
    // escapes: stored, cleaned by the text rule
    {
      name: 'lone high surrogate in project_name',
      bytes: v1Text(
        `{"correlator":"${id('e1')}","parsl_v":"2025.03.17","tracking_level":1,"project_name":"poison\\ud800pill"}`,
      ),
      expect: stored('e1', { project_name: 'poison\ufffdpill' }),
    },
    {
      name: 'lone low surrogate in platform',
      bytes: v1Text(
        `{"correlator":"${id('e2')}","parsl_v":"2025.03.17","tracking_level":1,"platform.system":"\\udc00Linux"}`,
      ),
      expect: stored('e2', { platform: '\ufffdLinux' }),
    },
    {
      name: 'reversed pair in a component',
      bytes: v1Text(
        `{"correlator":"${id('e3')}","parsl_v":"2025.03.17","tracking_level":2,"components":["parsl.executors.X\\udc00\\ud800"]}`,
      ),
      expect: stored('e3', { executors: ['parsl.executors.X\ufffd\ufffd'] }),
    },
    {
      name: 'NUL and controls in versions',
      bytes: v1Text(
        `{"correlator":"${id('e4')}","parsl_v":"2025.\\u000003.17","python_v":"3.12\\u0007.2","tracking_level":1}`,
      ),
      expect: stored('e4', { parsl_version: '2025.03.17', python_version: '3.12.2', python_minor: '3.12' }),
    },
    {
      name: 'U+2028, quotes and backslashes kept',
      bytes: launch('e5', { project_name: 'a\u2028b "q" \\ \'s\'' }),
      expect: stored('e5', { project_name: 'a\u2028b "q" \\ \'s\'' }),
    },
    {
      name: 'astral and combining characters kept',
      bytes: launch('e6', { project_name: '😀 e\u0301 项目' }),
      expect: stored('e6', { project_name: '😀 e\u0301 项目' }),
    },
    {
      name: 'a 1000-character project name is cut to 256',
      bytes: launch('e7', { project_name: 'p'.repeat(1000) }),
      expect: stored('e7', { project_name: 'p'.repeat(256) }),
    },
    {
      name: 'duplicate keys: the last wins (JSON.parse)',
      bytes: v1Text(`{"correlator":"${id('e8')}","parsl_v":"1","parsl_v":"2025.03.17","tracking_level":1}`),
      expect: stored('e8', { parsl_version: '2025.03.17' }),
    },
    // numbers out of range
    {
      name: 'app_count 1e300',
      bytes: v1({ correlator: id('n1'), end: t, components: dfk({ app_count: 1e300 }) }),
      expect: agg('bad_field'),
    },
    {
      name: 'app_fails negative',
      bytes: v1({ correlator: id('n2'), end: t, components: dfk({ app_fails: -1 }) }),
      expect: agg('bad_field'),
    },
    {
      name: 'executors_len 1e6',
      bytes: launch('n3', { components: [{ c: 'parsl.config.Config', executors_len: 1e6 }] }),
      expect: agg('bad_field'),
    },
    {
      name: 'execution_time 1e12',
      bytes: v1({ correlator: id('n4'), end: t, execution_time: 1e12 }),
      expect: agg('bad_field'),
    },
    { name: 'start in 1970', bytes: launch('n5', { start: 0 }), expect: agg('bad_field') },
    {
      name: 'end a year ahead',
      bytes: v1({ correlator: id('n6'), end: t + 366 * 86_400 }),
      expect: agg('bad_field'),
    },
    {
      name: 'a number too big for a double',
      bytes: v1Text(`{"correlator":"${id('n7')}","end":1e400}`),
      expect: agg('bad_field'),
    },
    {
      name: 'legacy t_apps 2^53',
      bytes: Buffer.from(JSON.stringify({ uuid: id('n8'), end: t, t_apps: 2 ** 53 })),
      expect: agg('bad_field'),
    },
    { name: 'tracking_level 4', bytes: launch('n9', { tracking_level: 4 }), expect: agg('bad_field') },
    {
      name: 'app_count exactly at its bound is stored',
      bytes: v1({ correlator: id('n10'), end: t, components: dfk({ app_count: 1_000_000_000 }) }),
      expect: stored('n10', { app_count: '1000000000', status: 'closure_only' }),
    },
    // wrong types
    {
      name: 'tracking_level as a string',
      bytes: launch('w1', { tracking_level: '3' }),
      expect: agg('bad_field'),
    },
    {
      name: 'components as an object',
      bytes: launch('w2', { components: { c: 'x' } }),
      expect: agg('bad_field'),
    },
    { name: 'correlator as a number', bytes: v1({ correlator: 42, parsl_v: 'x' }), expect: relay('bad_id') },
    {
      name: 'project_name as a list',
      bytes: launch('w3', { project_name: ['a'] }),
      expect: agg('bad_field'),
    },
    { name: 'a JSON array', bytes: v1Text('[1,2,3]'), expect: relay('not_object') },
    { name: 'not JSON', bytes: v1Text('{correlator: nope'), expect: relay('bad_json') },
    { name: 'no phase', bytes: v1({ correlator: id('w4') }), expect: agg('unknown_phase') },
    {
      name: 'components nested 1000 deep',
      bytes: launch('w5', { components: JSON.parse('['.repeat(1000) + ']'.repeat(1000)) as unknown }),
      expect: agg('bad_field'),
    },
    // sizes and ids
    { name: 'empty datagram', bytes: Buffer.alloc(0), expect: relay('empty') },
    {
      name: 'a 40 KB datagram',
      bytes: launch('s1', { pad: 'x'.repeat(40_000) }),
      expect: relay('too_large'),
    },
    {
      name: 'a 300-character id',
      bytes: v1({ correlator: 'i'.repeat(300), parsl_v: 'x' }),
      expect: relay('bad_id'),
    },
    {
      name: 'an id with a space',
      bytes: v1({ correlator: `${id('s2')} x`, parsl_v: 'x' }),
      expect: relay('bad_id'),
    },
    {
      name: 'an id with a NUL escape',
      bytes: v1Text(`{"correlator":"${id('s3')}\\u0000","parsl_v":"x"}`),
      expect: relay('bad_id'),
    },
    {
      name: 'unknown protocol byte',
      bytes: Buffer.from(`2{"correlator":"${id('s4')}"}`),
      expect: relay('bad_prefix'),
    },
    {
      name: '300 components',
      bytes: launch('s5', { components: Array.from({ length: 300 }, (_, i) => `parsl.executors.E${i}`) }),
      expect: agg('bad_field'),
    },
  ];
}

/** Honest runs to interleave with the corpus: every one must land. */
export function goodRuns(
  prefix: string,
  n: number,
  nowMs: number,
): { id: string; datagrams: Buffer[]; status: string }[] {
  const t = Math.floor(nowMs / 1000);
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}-good-${i}`;
    const launch = v1({
      correlator: id,
      parsl_v: '2025.03.17',
      python_v: '3.12.2',
      'platform.system': 'Linux',
      tracking_level: i % 2 === 0 ? 3 : 1,
      project_name: `project-${i % 5}`,
      components: [
        { c: 'parsl.config.Config', executors_len: 1 },
        'parsl.executors.high_throughput.executor.HighThroughputExecutor',
      ],
      start: t - 30,
    });
    if (i % 2 === 1) return { id, datagrams: [launch], status: 'launched' };
    const closure = v1({
      correlator: id,
      end: t,
      execution_time: 30,
      components: [{ c: 'parsl.dataflow.dflow.DataFlowKernel', app_count: i, app_fails: 0 }],
    });
    return { id, datagrams: [launch, closure], status: 'completed' };
  });
}
