// Durable, all-or-nothing file writes: temp file in the same folder, fsync,
// rename over the target, fsync the folder. A crash leaves either the old
// state or the complete new file, never half of one.
import { chmodSync, closeSync, constants, existsSync, fdatasync, fsync, fsyncSync, ftruncate, linkSync, openSync, renameSync, unlinkSync, write, writeSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { makeDirs } from './dirs.js';

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
  publish(tmp, path, opts.noClobber);
}

/** The complete, fsynced temporary file `tmp` becomes `path` (never over a file with noClobber); the folder is fsynced. */
function publish(tmp: string, path: string, noClobber?: boolean): void {
  if (noClobber) {
    try {
      linkSync(tmp, path); // fails with EEXIST rather than replace
    } finally {
      unlinkSync(tmp);
    }
  } else {
    renameSync(tmp, path);
  }
  fsyncDir(dirname(path));
}

const writeAt = promisify(write);
const ftruncateAsync = promisify(ftruncate);
const fsyncAsync = promisify(fsync);

/**
 * A file written piece by piece at given positions while its content is still arriving (the
 * proxy's pixels, before the rest of the object is known), on libuv's thread pool, in a temporary
 * folder a restart empties: it becomes a file of its final folder only by `commit`, under the
 * same rules as writeFileAtomic (complete, fsynced, linked, folder fsynced). Its writes are synced
 * now and then (fdatasync, one at a time) so that little is left for the final fsync; or, opened
 * with `durableWrites`, each write is durable when it returns (O_DSYNC).
 */
export class DraftFile {
  private inFlight = 0;
  private failure: Error | null = null;
  private unsynced = 0;
  private syncing = false;
  private closed = false;
  private aborted = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly path: string, private readonly fd: number, private readonly syncEvery: number, private readonly durableWrites: boolean) {}

  /**
   * A new, empty draft in `dir` (the temporary folder of the final one's file system).
   * `durableWrites`: for a draft written in a few large writes while the event loop is busy (a seal's
   * MAC): an fdatasync is begun only from the event loop, so it would wait for the MAC to end;
   * each O_DSYNC write instead reaches the disk on the thread pool, beside the MAC.
   */
  static open(dir: string, opts: { mode?: number; syncEvery?: number; durableWrites?: boolean } = {}): DraftFile {
    const path = join(dir, `.draft.${randomBytes(6).toString('hex')}.tmp`);
    const durableWrites = opts.durableWrites ?? false;
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (durableWrites ? constants.O_DSYNC : 0), opts.mode ?? 0o644);
    } catch (err) {
      throw openError(err, path);
    }
    return new DraftFile(path, fd, opts.syncEvery ?? 4 << 20, durableWrites);
  }

  /** Whether a write failed (the draft is then good for nothing but abort). */
  get failed(): boolean {
    return this.failure !== null;
  }

  /**
   * Writes `bytes` at `position` in the background; the caller leaves them untouched until settled()
   * or abort(). A large value goes in pieces of the sync interval, so that the first fdatasyncs run
   * while the rest is still being written.
   */
  write(bytes: Uint8Array, position: number): void {
    if (this.closed || this.failure || bytes.length === 0) return;
    if (bytes.length > this.syncEvery) {
      for (let at = 0; at < bytes.length; at += this.syncEvery) this.write(bytes.subarray(at, Math.min(at + this.syncEvery, bytes.length)), position + at);
      return;
    }
    this.inFlight++;
    write(this.fd, bytes, 0, bytes.length, position, (err, n) => {
      this.inFlight--;
      if (err) this.failure ??= err;
      else if (n < bytes.length) this.write(bytes.subarray(n), position + n);
      else {
        this.unsynced += n;
        this.maybeSync();
      }
      this.wake();
    });
  }

  private maybeSync(): void {
    if (this.durableWrites || this.syncing || this.closed || this.failure || this.unsynced < this.syncEvery) return;
    this.syncing = true;
    this.unsynced = 0;
    this.inFlight++;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      this.inFlight--;
      if (err) this.failure ??= err;
      this.wake();
    });
  }

  private wake(): void {
    if (this.inFlight > 0) return;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Every write and sync begun has ended; throws the first write error. */
  async settled(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure;
  }

  /**
   * Completes the draft: `pieces` written at their positions, the file cut to `length` and fsynced,
   * closed. Throws the first write error (then only abort() is left).
   */
  async finish(pieces: readonly { bytes: Uint8Array; position: number }[], length: number): Promise<void> {
    await this.settled();
    for (const p of pieces) {
      for (let off = 0; off < p.bytes.length; ) off += (await writeAt(this.fd, p.bytes, off, p.bytes.length - off, p.position + off)).bytesWritten;
    }
    await ftruncateAsync(this.fd, length);
    await fsyncAsync(this.fd);
    this.closed = true;
    closeSync(this.fd);
  }

  /** The finished draft becomes `path` (never over a file with noClobber), as writeFileAtomic's file does. */
  publish(path: string, opts: { noClobber?: boolean } = {}): void {
    if (!this.closed || this.inFlight > 0 || this.aborted) throw new Error('internal: a draft is published only once finished');
    this.aborted = true; // nothing of it is left to remove
    publish(this.path, path, opts.noClobber);
  }

  /** Drops the draft: waits for what is in flight (its fd must not be reused under it), closes and removes it. */
  async abort(): Promise<void> {
    if (this.aborted) return;
    this.aborted = true;
    const open = !this.closed;
    this.closed = true;
    await this.settled().catch(() => undefined);
    if (open) closeSync(this.fd);
    try { unlinkSync(this.path); } catch { /* already gone */ }
  }
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
  makeDirs(dir, 0o700);
  chmodSync(dir, 0o700);
}
