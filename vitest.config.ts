import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const schemasSrc = fileURLToPath(new URL('./schemas/src/index.ts', import.meta.url));

export default defineConfig({
  resolve: { alias: { '@parsl-usage/schemas': schemasSrc } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['schemas/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
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
