// Loader hooks for load-trace.mjs (they run on the loader thread): every ES module loaded.
import { appendFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  if (process.env.RADSEAL_LOAD_TRACE) appendFileSync(process.env.RADSEAL_LOAD_TRACE, `${url}\n`);
  return nextLoad(url, context);
}
