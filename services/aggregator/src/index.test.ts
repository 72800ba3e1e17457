import { describe, expect, it } from 'vitest';
import * as aggregator from './index.js';

describe('the public API (what services/ops uses)', () => {
  it.each([
    'aggregatorEnvSchema',
    'migrationsDirEnv',
    'JoinWindow',
    'factsOf',
    'processBatch',
    'applyMigrations',
    'loadMigrations',
    'DEFAULT_MIGRATIONS_DIR',
    'provision',
    'createClickHouseSink',
    'offsetOf',
    'positionOf',
  ])('exports %s', (name) => {
    expect(aggregator).toHaveProperty(name);
    expect((aggregator as Record<string, unknown>)[name]).toBeDefined();
  });

  it('exports nothing else', () => {
    expect(Object.keys(aggregator).sort()).toEqual(
      [
        'DEFAULT_MIGRATIONS_DIR',
        'JoinWindow',
        'aggregatorEnvSchema',
        'applyMigrations',
        'createClickHouseSink',
        'factsOf',
        'loadMigrations',
        'migrationsDirEnv',
        'offsetOf',
        'positionOf',
        'processBatch',
        'provision',
      ].sort(),
    );
  });
});
