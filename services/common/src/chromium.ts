/** Debian's Chromium, which setup installs (infra/scripts/setup-host.sh). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine without network or sandbox (root in a container):
 * no background connections (refused here, many at a time), no component updates, no first-run
 * UI. The report's PDF and the dashboard's browser test and benchmark all start it with these.
 */
export const HEADLESS_CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
