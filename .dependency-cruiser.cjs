/**
 * Dependency rules (issue 15), checked by `npm run lint:deps` inside `npm test`:
 * no import cycles; services never import each other (only schemas and services/common), the
 * operator commands (services/ops) may use the aggregator only;
 * nothing that ships imports test or bench code; schemas and common import no service.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle makes modules impossible to read, test or load on their own.',
      from: { path: '^(schemas|services)/' },
      to: { circular: true },
    },
    {
      name: 'services-never-import-each-other',
      severity: 'error',
      comment: 'A service may use schemas/ and services/common/, never another service.',
      from: { path: '^services/(relay|aggregator|dashboard)/' },
      to: { path: '^services/', pathNot: ['^services/$1/', '^services/common/'] },
    },
    {
      name: 'services-never-import-each-others-packages',
      severity: 'error',
      comment: 'The same rule, for an import by package name (@parsl-usage/<service>/...).',
      from: { path: '^services/(relay|aggregator|dashboard)/' },
      to: { path: '^@parsl-usage/(relay|aggregator|ops|dashboard)(/|$)', pathNot: '^@parsl-usage/$1(/|$)' },
    },
    {
      name: 'ops-uses-only-the-aggregator',
      severity: 'error',
      comment:
        'The operator commands (services/ops) re-run the stream processor and its migrations, so they may use the aggregator, never the relay or the dashboard.',
      from: { path: '^services/ops/' },
      to: { path: ['^services/(relay|dashboard)/', '^@parsl-usage/(relay|dashboard)(/|$)'] },
    },
    {
      name: 'workspaces-meet-only-through-public-entries',
      severity: 'error',
      comment:
        "Shipped code uses another workspace only through its public entry (src/index.ts; common's cli-frame and chromium; schemas' migrations-model): a service's internals (@parsl-usage/<service>/internal/...) are for tests, benchmarks and the kit (issue 26).",
      from: { path: '^(schemas|services/[^/]+)/src/', pathNot: '\\.(test|fixture)\\.ts$' },
      to: {
        path: '^(schemas|services/[^/]+)/(src|dist)/',
        pathNot: [
          '^$1/',
          '^(schemas|services/[^/]+)/(src|dist)/index\\.(ts|js|d\\.ts)$',
          '^services/common/(src|dist)/(cli-frame|chromium)\\.(ts|js|d\\.ts)$',
          '^schemas/(src|dist)/migrations-model(-files)?\\.(ts|js|d\\.ts)$',
        ],
      },
    },
    {
      name: 'platform-imports-no-service',
      severity: 'error',
      comment: 'schemas/ and services/common/ are shared by every service, so they import none.',
      from: { path: '^(schemas|services/common)/' },
      to: {
        path: ['^services/(relay|aggregator|dashboard)/', '^@parsl-usage/(relay|aggregator|dashboard)(/|$)'],
      },
    },
    {
      name: 'common-entry-loads-only-the-runtime-platform',
      severity: 'error',
      comment:
        "common's main entry is what every service loads; the CLI frame (with its ClickHouse client) and Chromium have entries of their own (@parsl-usage/common/cli-frame, /chromium). services/common/src/entry-points.test.ts checks the relay's whole graph.",
      from: { path: '^services/common/src/index\\.ts$' },
      to: { path: '^services/common/src/(cli-frame|chromium)\\.ts$' },
    },
    {
      name: 'relay-loads-no-clickhouse-client',
      severity: 'error',
      comment: 'The relay writes to Kafka only; a ClickHouse client would be loaded for nothing.',
      from: { path: '^services/relay/src/', pathNot: '\\.test\\.ts$' },
      to: { path: '@clickhouse/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'shipped-code-imports-no-test-or-bench',
      severity: 'error',
      comment: 'Test fixtures and benchmarks never ship in a service.',
      from: { path: '^(schemas|services)/[^/]+/src/', pathNot: '\\.(test|fixture)\\.ts$' },
      to: { path: '^(test|bench)/|\\.(test|fixture)\\.ts$' },
    },
    {
      name: 'test-and-bench-share-only-the-kit',
      severity: 'error',
      comment:
        'Tests and benchmarks share code through kit/ (@parsl-usage/kit), never by importing each other.',
      from: { path: '^(test|bench)/' },
      to: { path: '^(test|bench)/', pathNot: '^$1/' },
    },
    {
      name: 'kit-imports-no-test-or-bench',
      severity: 'error',
      comment: 'The kit is what both share; it depends on neither.',
      from: { path: '^kit/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    // Workspace packages resolve to their built dist/: keep those edges (the rules read them),
    // without cruising the build output itself.
    doNotFollow: { path: ['node_modules', '/dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.eslint.json' },
    combinedDependencies: true,
    // Resolve workspace packages as node does, through their package.json "exports".
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'default'],
    },
  },
};
