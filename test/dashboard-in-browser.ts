/**
 * For the page tests in Chromium (test/dashboard-layout.test.ts, test/api-v1-page.test.ts): the
 * fixture history in a fresh database, a dashboard over it and a browser, started before the
 * file's tests and stopped after them.
 */
import { afterAll, beforeAll } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_LAUNCH } from '@parsl-usage/kit/chromium';
import { clickhouse, freshDatabase } from './setup/env.js';
import {
  END,
  fixture,
  FROM,
  insertHistory,
  startDashboard,
  type RunningDashboard,
} from './dashboard-support.js';

export interface DashboardInBrowser {
  /** the page with the fixture's range, weekly, top 8 */
  readonly pageUrl: string;
  newPage(width: number): Promise<Page>;
}

export function dashboardInBrowser(prefix: string): DashboardInBrowser {
  let admin: ClickHouseClient | undefined;
  let d: RunningDashboard | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    const db = await freshDatabase(prefix);
    admin = clickhouse('admin');
    await insertHistory(admin, db, fixture());
    d = await startDashboard(admin, db);
    browser = await chromium.launch(CHROMIUM_LAUNCH);
  });
  afterAll(async () => {
    await browser?.close();
    await d?.app.stop();
    await admin?.close();
  });
  const started = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error('dashboardInBrowser: used before its beforeAll ran');
    return x;
  };
  return {
    get pageUrl() {
      return `${started(d).base}/?from=${FROM}&to=${END}&granularity=week&top=8`;
    },
    newPage: (width) => started(browser).newPage({ viewport: { width, height: 900 } }),
  };
}
