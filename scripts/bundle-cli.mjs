// The command line's start-up in one file: dist/host/cli/main.js and everything it imports
// statically (commander, the command modules and their option definitions) bundled into
// dist/host/cli/main.bundle.js, which bin/radseal.js runs. Node 20 reads, resolves and compiles
// each ES module separately; one file saves about a fifth of `radseal --help`. What commands load
// when they run (`import(...)`, loadOnUse) stays in its own files under dist/: the bundle lives
// beside the command modules, so their relative specifiers still name the same files, and the
// few dynamic imports of other folders are rewritten relative to it.
//
// One command is the exception: `radseal seal` runs once per frame, and its action
// (host/cli/seal-action.ts) imports about thirty modules (keys, DICOM, core, seal). They are
// bundled too, into dist/host/cli/seal-action.bundle.js, which the start-up bundle's seal command
// loads when it runs; what those modules import on use (watermark, PNG, boards, time-stamps)
// becomes chunks beside it (seal-chunk-*.js), so no module of the seal is loaded twice. `radseal
// verify`'s action (host/cli/verify-action.ts) is bundled the same way (verify-action.bundle.js,
// the verifier itself and the verify pool as verify-chunk-*.js, loaded when used). Packages
// stay in node_modules (one instance, shared with what loads them on use). Every bundled module
// keeps its own import.meta.url (rewritten to its file under dist/), so what it resolves from
// there (loadOnUse, the project folder, worker files) is unchanged.
//   node scripts/bundle-cli.mjs        (npm run build:host runs it after tsc)
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'host');
const outdir = join(dist, 'cli');
const entry = join(outdir, 'main.js');
const sealEntry = join(outdir, 'seal-action.js');
const SEAL_BUNDLE = 'seal-action.bundle';
const SEAL_CHUNK_PREFIX = 'seal-chunk-';
const verifyEntry = join(outdir, 'verify-action.js');
const VERIFY_BUNDLE = 'verify-action.bundle';
const VERIFY_CHUNK_PREFIX = 'verify-chunk-';
const poolDir = join(dist, 'ingest', 'pool');
const WORKER_BUNDLE = 'verify-worker.bundle';
const isBare = (path) => !path.startsWith('.') && !path.startsWith('/');

/** A dynamic import from the start-up graph stays a file of its own, named relative to the bundle (the seal's action: its bundle). */
const lazyStaysOutside = {
  name: 'lazy-stays-outside',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => {
      if (a.kind !== 'dynamic-import') return undefined;
      if (isBare(a.path)) return { path: a.path, external: true };
      const target = resolve(a.resolveDir, a.path);
      if (target === sealEntry) return { path: `./${SEAL_BUNDLE}.js`, external: true };
      if (target === verifyEntry) return { path: `./${VERIFY_BUNDLE}.js`, external: true };
      const path = relative(outdir, target);
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

/** In the seal's bundle: packages stay in node_modules; the dynamic imports of its own modules become chunks. */
const packagesStayOutside = {
  name: 'packages-stay-outside',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => (a.kind !== 'entry-point' && isBare(a.path) ? { path: a.path, external: true } : undefined));
  },
};

// Every output file of a build lies in one folder (`into`), so a module's own URL is its path
// relative to that folder, resolved against the URL of whichever output file holds it.
const ownUrlIn = (into) => ({
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (a) => {
      if (!a.path.startsWith(dist + sep)) return undefined;
      const source = readFileSync(a.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const rel = relative(into, a.path).split(sep).join('/');
      const url = `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
});
const ownUrl = ownUrlIn(outdir);

const common = {
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // commander is CommonJS: its require() of Node's built-ins needs a require in an ES module.
  banner: { js: "import { createRequire as radsealCreateRequire } from 'node:module';\nconst require = radsealCreateRequire(import.meta.url);" },
};

// An earlier build's files go first: a build that fails half-way leaves no start-up bundle (bin/
// then runs the modules), never one whose seal bundle is missing or older; chunks would accumulate.
/** The commands' own bundles, each with the chunks of what it loads on use. */
const actions = [
  { entry: sealEntry, bundle: SEAL_BUNDLE, chunkPrefix: SEAL_CHUNK_PREFIX },
  { entry: verifyEntry, bundle: VERIFY_BUNDLE, chunkPrefix: VERIFY_CHUNK_PREFIX },
];
for (const f of readdirSync(outdir)) {
  if (f === 'main.bundle.js' || actions.some((a) => f === `${a.bundle}.js` || f.startsWith(a.chunkPrefix))) rmSync(join(outdir, f));
}
rmSync(join(poolDir, `${WORKER_BUNDLE}.js`), { force: true });
for (const a of actions) {
  await build({
    ...common,
    entryPoints: { [a.bundle]: a.entry },
    splitting: true,
    chunkNames: `${a.chunkPrefix}[name]-[hash]`,
    plugins: [packagesStayOutside, ownUrl],
  });
}
await build({ ...common, entryPoints: { 'main.bundle': entry }, plugins: [lazyStaysOutside, ownUrl] });
// The verify pool's worker thread: each worker loads its modules itself (a thread shares none with
// the main one), so `radseal verify DIR` pays their loading once per worker before its first object.
// One file beside verify-worker.js (io/worker.ts startWorker runs it when it is not older than that module).
await build({ ...common, outdir: poolDir, entryPoints: { [WORKER_BUNDLE]: join(poolDir, 'verify-worker.js') }, plugins: [packagesStayOutside, ownUrlIn(poolDir)] });
