import type { LaunchOptions } from 'playwright-core';

/** Debian's headless Chromium as the dashboard's browser test and benchmark drive it (no network of its own). */
export const CHROMIUM_LAUNCH: LaunchOptions = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
};
