import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // Tests run against the TypeScript sources of the workspace packages, not their build output.
  resolve: {
    alias: [
      { find: /^@parsl-usage\/schemas$/, replacement: here('./schemas/src/index.ts') },
      { find: /^@parsl-usage\/common$/, replacement: here('./services/common/src/index.ts') },
      { find: /^@parsl-usage\/schemas\/(.+)$/, replacement: here('./schemas/src') + '/$1.ts' },
      { find: /^@parsl-usage\/common\/(.+)$/, replacement: here('./services/common/src') + '/$1.ts' },
      { find: /^@parsl-usage\/kit\/(.+)$/, replacement: here('./kit/src') + '/$1.ts' },
      // A service's public API (src/index.ts), and its modules for white-box tests (issue 26).
      {
        find: /^@parsl-usage\/(relay|aggregator|ops|dashboard)\/internal\/(.+)$/,
        replacement: here('./services') + '/$1/src/$2.ts',
      },
      {
        find: /^@parsl-usage\/(relay|aggregator|ops|dashboard)$/,
        replacement: here('./services') + '/$1/src/index.ts',
      },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['schemas/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
          // Property and model tests are CPU-bound: on a loaded 2-core machine some neared the
          // 5 s default (a permutation test took 7 s at load average 15).
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Tests share one Kafka and one ClickHouse; each uses its own topic and database.
          fileParallelism: false,
        },
      },
    ],
  },
});
