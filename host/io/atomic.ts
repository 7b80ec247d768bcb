// Durable, all-or-nothing file writes: temp file in the same folder, fsync,
// rename over the target, fsync the folder. A crash leaves either the old
// state or the complete new file, never half of one.
import { closeSync, existsSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to `path` atomically and durably. With `noClobber`, an
 * existing file at `path` is never replaced (the write fails with EEXIST):
 * what an outbox needs, where every object is a patient's exposure.
 */
export function writeFileAtomic(path: string, data: Uint8Array, opts: { mode?: number; noClobber?: boolean; tmpDir?: string } = {}): void {
  const mode = opts.mode ?? 0o644;
  const dir = dirname(path);
  // tmpDir (same file system) keeps half-written files apart, where a restart can find and remove them.
  const tmp = join(opts.tmpDir ?? dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (err) {
    // Name the folder the user gave, not our temporary file.
    const folder = dirname(tmp);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(folder)) throw new Error(`output folder ${folder} does not exist`);
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new Error(`cannot write in ${folder}: permission denied`);
    throw err;
  }
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  if (opts.noClobber) {
    try {
      linkSync(tmp, path); // fails with EEXIST rather than replace
    } finally {
      unlinkSync(tmp);
    }
  } else {
    renameSync(tmp, path);
  }
  fsyncDir(dir);
}

/**
 * Moves a file into another folder of the same file system, atomically (rename) and durably
 * (both folders fsynced). Never replaces a file of the same name there: it gets a numbered name.
 * Returns the new path.
 */
export function moveDurably(path: string, toDir: string, name = basename(path)): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  let target = join(toDir, name);
  for (let n = 1; existsSync(target); n++) target = join(toDir, `${stem}.${n}${ext}`);
  renameSync(path, target);
  fsyncDir(toDir);
  fsyncDir(dirname(path));
  return target;
}
