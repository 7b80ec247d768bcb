// Durable, all-or-nothing file writes: temp file in the same folder, fsync,
// rename over the target, fsync the folder. A crash leaves either the old
// state or the complete new file, never half of one.
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
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
  const fd = openSync(tmp, 'wx', mode);
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
