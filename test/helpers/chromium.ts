/**
 * A page in Debian's headless Chromium, driven by playwright-core, with a
 * new empty profile (user-data dir) that `close` removes: what the page
 * printed on its console as errors, the requests that failed, and every
 * request it made (a self-contained page makes none but its own file).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface OpenedPage {
  page: Page;
  consoleErrors: string[];
  failedRequests: string[];
  requests: string[];
  close(): Promise<void>;
}

/** Why Chromium cannot run here, or null. */
export function chromiumSkipReason(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} not installed (scripts/install-deps.sh)`;
}

/** Opens the file `path` and waits for its load event. */
export async function openFile(path: string, viewport = { width: 1280, height: 900 }): Promise<OpenedPage> {
  const profile = mkdtempSync(join(tmpdir(), 'vg-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  const failedRequests: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('requestfailed', (r) => failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => requests.push(r.url()));
  const close = async (): Promise<void> => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  } catch (e) {
    await close();
    throw e;
  }
  return { page, consoleErrors, failedRequests, requests, close };
}
