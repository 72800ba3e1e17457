import type { LaunchOptions } from 'playwright-core';
import { CHROMIUM_PATH, HEADLESS_CHROMIUM_FLAGS } from '@parsl-usage/common/chromium';

/** Debian's headless Chromium as the dashboard's browser test and benchmark drive it (no network of its own). */
export const CHROMIUM_LAUNCH: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  args: [...HEADLESS_CHROMIUM_FLAGS],
};
