// Durable, all-or-nothing file writes: temp file in the same folder, fsync,
// rename over the target, fsync the folder. A crash leaves either the old
// state or the complete new file, never half of one.
import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
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

export interface AtomicWriteOptions {
  /** File mode (default 0644; PHI and keys: 0600). */
  mode?: number;
  /** Never replace an existing file: fail with EEXIST instead. */
  noClobber?: boolean;
  /** Folder for the temporary file (same file system). */
  tmpDir?: string;
}

// tmpDir (same file system) keeps half-written files apart, where a restart can find and remove them.
const tempPathFor = (path: string, opts: AtomicWriteOptions) => join(opts.tmpDir ?? dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);

/** Why the temporary file could not be created, naming the folder the user gave, not our temporary file. */
function openError(err: unknown, tmp: string): unknown {
  const folder = dirname(tmp);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' && !existsSync(folder)) return new Error(`output folder ${folder} does not exist`);
  if (code === 'EACCES') return new Error(`cannot write in ${folder}: permission denied`);
  return err;
}

/**
 * A file's bytes: one buffer, or pieces written one after the other (a DICOM object's head, its
 * pixels where they lie and its tail, host/dicom/writer.ts encodePart10Parts), so a large value
 * need not be copied into one buffer first. The file is their concatenation, with one fsync.
 */
export type FileBytes = Uint8Array | readonly Uint8Array[];

const piecesOf = (data: FileBytes): readonly Uint8Array[] => (data instanceof Uint8Array ? [data] : data);

/**
 * Writes `data` to `path` atomically and durably. With `noClobber`, an
 * existing file at `path` is never replaced (the write fails with EEXIST):
 * what an outbox needs, where every object is a patient's exposure.
 */
export function writeFileAtomic(path: string, data: FileBytes, opts: AtomicWriteOptions = {}): void {
  const mode = opts.mode ?? 0o644;
  const dir = dirname(path);
  const tmp = tempPathFor(path, opts);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (err) {
    throw openError(err, tmp);
  }
  try {
    for (const piece of piecesOf(data)) {
      let off = 0;
      while (off < piece.length) off += writeSync(fd, piece, off, piece.length - off);
    }
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
 * writeFileAtomic without blocking the event loop: the write and the fsyncs run in libuv's
 * thread pool, so a server stays responsive while a large object goes to disk. Same guarantees.
 */
export async function writeFileAtomicAsync(path: string, data: FileBytes, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = tempPathFor(path, opts);
  let file;
  try {
    file = await open(tmp, 'wx', opts.mode ?? 0o644);
  } catch (err) {
    throw openError(err, tmp);
  }
  try {
    for (const piece of piecesOf(data)) {
      let off = 0;
      while (off < piece.length) off += (await file.write(piece, off, piece.length - off)).bytesWritten;
    }
    await file.sync();
  } catch (err) {
    await file.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await file.close();
  if (opts.noClobber) {
    try {
      await link(tmp, path); // fails with EEXIST rather than replace
    } finally {
      await unlink(tmp);
    }
  } else {
    await rename(tmp, path);
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
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

/** Creates (or tightens) a folder for PHI or keys: owner-only access (0700), whatever the umask. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}
