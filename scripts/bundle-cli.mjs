// The command line's start-up in one file: dist/host/cli/main.js and everything it imports
// statically (commander, the command modules and their option definitions) bundled into
// dist/host/cli/main.bundle.js, which bin/radseal.js runs. Node 20 reads, resolves and compiles
// each ES module separately; one file saves about a fifth of `radseal --help`. What commands load
// when they run (`import(...)`, loadOnUse) stays in its own files under dist/: the bundle lives
// beside the command modules, so their relative specifiers still name the same files, and the
// few dynamic imports of other folders are rewritten relative to it.
//   node scripts/bundle-cli.mjs        (npm run build:host runs it after tsc)
import { build } from 'esbuild';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'host', 'cli', 'main.js');
const outfile = join(root, 'dist', 'host', 'cli', 'main.bundle.js');
const outdir = dirname(outfile);

const lazyStaysOutside = {
  name: 'lazy-stays-outside',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => {
      if (a.kind !== 'dynamic-import') return undefined;
      if (!a.path.startsWith('.')) return { path: a.path, external: true };
      const path = relative(outdir, resolve(a.resolveDir, a.path));
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [lazyStaysOutside],
  // commander is CommonJS: its require() of Node's built-ins needs a require in an ES module.
  banner: { js: "import { createRequire as radsealCreateRequire } from 'node:module';\nconst require = radsealCreateRequire(import.meta.url);" },
});
