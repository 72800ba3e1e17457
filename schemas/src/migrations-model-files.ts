/**
 * Reads a migrations directory for migrations-model.ts: every `.sql` file, in file-name order
 * (the order migrate applies them in).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseMigrations,
  schemaModel,
  type Migration,
  type MigrationFile,
  type SchemaModel,
} from './migrations-model.js';

export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const fileName of names) files.push({ fileName, text: await readFile(join(dir, fileName), 'utf8') });
  return files;
}

/** The migrations of `dir` and the schema they build, with `${db}` replaced by `database`. */
export async function loadMigrationsModel(
  dir: string,
  database: string,
): Promise<{ migrations: Migration[]; schema: SchemaModel }> {
  const migrations = parseMigrations(await readMigrationFiles(dir), database);
  const schema = schemaModel(
    migrations.flatMap((m) => m.statements),
    database,
  );
  return { migrations, schema };
}
