#!/usr/bin/env node
// The CLI runs from the compiled host (npm ci runs `prepare`, which builds it): the start-up
// bundle when the build made one (scripts/bundle-cli.mjs), else the modules tsc wrote. The bundle
// comes with the seal's and verify's own bundles, which those commands load; when any is missing, or
// older than main.js (they predate the last tsc run and would run old code), all are passed over.
import { existsSync, statSync } from 'node:fs';
const main = new URL('../dist/host/cli/main.js', import.meta.url);
const bundles = ['main.bundle.js', 'seal-action.bundle.js', 'verify-action.bundle.js'].map((f) => new URL(`../dist/host/cli/${f}`, import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('radseal: not built yet; run `npm ci` (or `npm run build`) in the radseal folder\n');
  process.exit(2);
}
const fresh = (() => {
  try {
    const built = statSync(main).mtimeMs;
    return bundles.every((b) => statSync(b).mtimeMs >= built);
  } catch {
    return false;
  }
})();
await import((fresh ? bundles[0] : main).href);
