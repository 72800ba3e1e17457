/**
 * The page and its scripts, read into memory at start and served from there. Chart.js's browser
 * build comes from node_modules: the page loads nothing from another host.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/static/dashboard.js': { file: join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/static/dashboard.css': { file: join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/static/chart.umd.min.js': { file: CHART_JS, type: 'text/javascript; charset=utf-8' },
};

export interface StaticAsset {
  type: string;
  body: Buffer;
}

export class StaticAssets {
  /** every path served; known before the files are read, for the route table */
  readonly paths: ReadonlySet<string> = new Set(Object.keys(STATIC));
  private readonly files = new Map<string, Buffer>();

  async load(): Promise<void> {
    for (const [path, s] of Object.entries(STATIC)) this.files.set(path, await readFile(s.file));
  }

  /** the file at `path`, once loaded */
  get(path: string): StaticAsset | undefined {
    const s = STATIC[path];
    const body = this.files.get(path);
    return s && body ? { type: s.type, body } : undefined;
  }
}
