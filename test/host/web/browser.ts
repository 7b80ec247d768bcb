// Debian's Chromium, headless, driven by playwright-core (never a downloaded browser). One browser
// per test file: Chromium is slow to start. `ns` runs it inside a network namespace (the one the
// services under test listen in), through a two-line wrapper: playwright talks to it over pipes,
// which `ip netns exec` passes through.
import { chromium, type Browser, type Page } from 'playwright-core';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

export async function launchChromium(dir: string, ns?: string): Promise<Browser> {
  let executablePath = CHROMIUM;
  if (ns) {
    executablePath = join(dir, 'chromium-in-netns');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  // playwright gives every launch a fresh, temporary --user-data-dir of its own (it refuses one in args).
  return chromium.launch({ executablePath, args: FLAGS, timeout: 60000 });
}

/** Saves a screenshot under the test's folder and returns its size (asserted non-empty by the caller). */
export async function screenshot(page: Page, dir: string, name: string): Promise<number> {
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return statSync(path).size;
}

/** Records console errors and uncaught exceptions of a page. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** A CSS colour as rgb(r, g, b) for a #rrggbb value. */
export const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
