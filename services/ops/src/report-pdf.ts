/**
 * Prints the HTML report to PDF with Debian's headless Chromium (installed by
 * infra/scripts/setup-host.sh), with the flags the project's browser tests use: no sandbox
 * (root), no GPU, no network of its own. A throw-away profile lets reports run side by side.
 */
import { CHROMIUM_PATH, HEADLESS_CHROMIUM_FLAGS } from '@parsl-usage/common/chromium';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const DEFAULT_CHROMIUM = CHROMIUM_PATH;
const TIMEOUT_MS = 120_000; // a 2-core machine shared with other work prints a report in ~5 s

export async function printPdf(
  htmlPath: string,
  pdfPath: string,
  chromium = DEFAULT_CHROMIUM,
): Promise<void> {
  const profile = await mkdtemp(join(tmpdir(), 'report-chromium-'));
  try {
    const args = [
      ...HEADLESS_CHROMIUM_FLAGS,
      '--no-pdf-header-footer',
      `--user-data-dir=${profile}`,
      `--print-to-pdf=${pdfPath}`,
      pathToFileURL(htmlPath).href,
    ];
    const { code, stderr } = await run(chromium, args);
    const ok = code === 0 && (await stat(pdfPath).catch(() => null))?.isFile() === true;
    if (!ok) {
      const last = stderr.trim().split('\n').pop() ?? '';
      throw new Error(`chromium could not print ${pdfPath} (exit ${code})${last ? `: ${last}` : ''}`);
    }
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4_000);
    });
    child.once('error', (err) => reject(new Error(`cannot start ${cmd}: ${err.message}`)));
    child.once('close', (code) => resolve({ code, stderr }));
  });
}
