import { DEFAULT_MIGRATIONS_DIR, loadMigrations } from './migrate.js';
import { rollupTargets, versionsView, type RollupTarget, type RollupView } from './rollup-views.js';

/** The views the repair checks, read from the migration files (the same the database ran). */
export async function loadViewDefinitions(
  database: string,
  dir: string = DEFAULT_MIGRATIONS_DIR,
): Promise<{ targets: RollupTarget[]; versions: RollupView }> {
  const statements = (await loadMigrations(dir, database)).flatMap((m) => m.statements);
  return { targets: rollupTargets(statements, database), versions: versionsView(statements, database) };
}
