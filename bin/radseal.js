#!/usr/bin/env node
// The CLI runs from the compiled host (npm ci runs `prepare`, which builds it): the start-up
// bundle when the build made one (scripts/bundle-cli.mjs), else the modules tsc wrote. A bundle
// older than main.js predates the last tsc run and would run old code: it is passed over.
import { existsSync, statSync } from 'node:fs';
const main = new URL('../dist/host/cli/main.js', import.meta.url);
const bundle = new URL('../dist/host/cli/main.bundle.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('radseal: not built yet; run `npm ci` (or `npm run build`) in the radseal folder\n');
  process.exit(2);
}
const fresh = (() => {
  try {
    return statSync(bundle).mtimeMs >= statSync(main).mtimeMs;
  } catch {
    return false;
  }
})();
await import((fresh ? bundle : main).href);
