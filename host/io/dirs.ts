// `mkdir -p` that always ends. Node's own recursive mkdir (fs.mkdirSync(path, { recursive: true }),
// Node 18–22 on Linux) spins forever at full CPU, with no error, when a folder exists but making a
// child in it fails with ENOENT, as procfs does: `radseal keygen --out /proc/keys` never returned. It
// reads ENOENT as "make the parent first", and the parent always exists. Here the missing folders are
// made one at a time below the deepest one that exists, so an ENOENT is final and is thrown.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `path` and any missing parents (new folders get `mode`, less the umask); a folder already there is fine. */
export function makeDirs(path: string, mode = 0o777): void {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw err;
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) throw err;
      at = parent;
      continue;
    }
    // Not a folder: mkdir gives the error the caller would get from Node's own (EEXIST, ENOTDIR).
    if (!isDir) mkdirSync(missing.length ? missing[missing.length - 1]! : at, { mode });
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw err;
    }
  }
}
