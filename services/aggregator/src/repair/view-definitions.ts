import {
  rollupTargets,
  schemaModel,
  versionsView,
  type RollupTarget,
  type RollupView,
} from '@parsl-usage/schemas/migrations-model';
import { DEFAULT_MIGRATIONS_DIR, loadMigrations } from '../provision/migrate.js';

/** The views the repair checks, read from the migration files (the same the database ran). */
export async function loadViewDefinitions(
  database: string,
  dir: string = DEFAULT_MIGRATIONS_DIR,
): Promise<{ targets: RollupTarget[]; versions: RollupView }> {
  const schema = schemaModel(
    (await loadMigrations(dir, database)).flatMap((m) => m.statements),
    database,
  );
  return { targets: rollupTargets(schema), versions: versionsView(schema) };
}
