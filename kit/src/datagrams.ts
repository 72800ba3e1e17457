/** Datagrams shaped like the ones each Parsl generation sends. */
export function v1Launch(id: string, over: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    '1' +
      JSON.stringify({
        correlator: id,
        parsl_v: '2025.03.17',
        python_v: '3.12.2',
        'platform.system': 'Linux',
        tracking_level: 3,
        components: [
          { c: 'parsl.config.Config', executors_len: 1, dependency_resolver: false },
          'parsl.providers.local.local.LocalProvider',
          { c: 'parsl.executors.high_throughput.executor.HighThroughputExecutor', mpi: false },
        ],
        start: 1_790_000_000,
        ...over,
      }),
  );
}

export function v1Closure(id: string, over: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    '1' +
      JSON.stringify({
        correlator: id,
        end: 1_790_000_100,
        execution_time: 100,
        components: [{ c: 'parsl.dataflow.dflow.DataFlowKernel', app_count: 3, app_fails: 1 }],
        ...over,
      }),
  );
}

export function legacyLaunch(id: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      uuid: id,
      test: false,
      parsl_v: '1.2.0',
      python_v: '3.8.10',
      os: 'Linux',
      os_v: '5.4.0',
      start: 1_600_000_000.5,
    }),
  );
}

export function legacyClosure(id: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      uuid: id,
      end: 1_600_000_100.25,
      t_apps: 7,
      sites: 1,
      c_time: null,
      failed: 2,
      test: false,
    }),
  );
}
