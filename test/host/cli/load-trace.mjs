// `node --import ./load-trace.mjs …`: records every module a process loads, one path or URL a
// line, in the file named by RADSEAL_LOAD_TRACE: ES modules through a loader hook
// (load-trace-hooks.mjs), and whatever is require()d — radseal's load-on-use helper included —
// through Module._load. Tests use it to check that a command loads only what it needs.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

register('./load-trace-hooks.mjs', import.meta.url);

const file = process.env.RADSEAL_LOAD_TRACE;
const Module = createRequire(import.meta.url)('node:module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments);
  if (file) {
    let where = request;
    try {
      where = Module._resolveFilename(request, parent, isMain);
    } catch {
      // a built-in, or resolved some other way: the request names it well enough
    }
    appendFileSync(file, `${where}\n`);
  }
  return loaded;
};
