#!/usr/bin/env node
// The CLI runs from the compiled host (npm ci runs `prepare`, which builds it).
import { existsSync } from 'node:fs';
const main = new URL('../dist/host/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('radseal: not built yet; run `npm ci` (or `npm run build`) in the radseal folder\n');
  process.exit(2);
}
await import(main.href);
