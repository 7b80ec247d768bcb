// The on-disk queue of audit messages waiting for the repository: appended and fsynced before
// emit() returns, sent in order, removed only once delivered, so nothing is lost while the
// Audit Record Repository (or the network) is down or radseal restarts.
//
// Layout (a private folder): queue.log holds the messages as RFC 5425 frames ("LEN SP MSG",
// the bytes that go on the wire); delivered.json holds how far the queue has been delivered
// ({offset, seq}). A queue that is wholly delivered and large is emptied. The messages carry
// patient identifiers (ATNA does): the folder is 0700 and its files 0600.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir, writeFileAtomic } from '../io/atomic.js';
import { octetCounted } from './syslog.js';

const ROTATE_BYTES = 8 << 20;

interface Pending {
  seq: number;
  offset: number;
  /** Frame length on disk (count, space and message). */
  length: number;
}

export class SpoolError extends Error {
  override name = 'SpoolError';
}

export class AuditSpool {
  private readonly fd: number;
  private readonly pointerPath: string;
  private readonly lockPath: string;
  private size: number;
  private deliveredOffset: number;
  private deliveredSeq: number;
  private readonly queue: Pending[] = [];
  private closed = false;
  /** What was dropped when the spool was opened (a record torn by a crash), for the caller's log. */
  readonly repaired: string | null = null;

  constructor(readonly dir: string) {
    privateDir(dir);
    this.pointerPath = join(dir, 'delivered.json');
    let pointer = { offset: 0, seq: 0 };
    if (existsSync(this.pointerPath)) {
      try {
        pointer = JSON.parse(readFileSync(this.pointerPath, 'utf8')) as typeof pointer;
      } catch {
        throw new SpoolError(`${this.pointerPath} is not valid JSON: the spool cannot tell what was delivered; move the spool folder aside`);
      }
    }
    this.lockPath = join(dir, 'lock');
    if (openHere.has(this.lockPath)) throw new SpoolError(`the audit spool ${dir} is already open in this process; give each sink its own --audit-spool`);
    takeLock(this.lockPath);
    openHere.add(this.lockPath);
    this.fd = openSync(join(dir, 'queue.log'), 'a+', 0o600);
    this.size = fstatSync(this.fd).size;
    // Emptied after full delivery, and stopped before the pointer said so: all of it was delivered.
    this.deliveredOffset = pointer.offset > this.size ? 0 : pointer.offset;
    this.deliveredSeq = pointer.seq;
    let off = this.deliveredOffset;
    let seq = this.deliveredSeq;
    const buf = Buffer.alloc(Math.max(0, this.size - off));
    if (buf.length) readSync(this.fd, buf, 0, buf.length, off);
    let pos = 0;
    while (pos < buf.length) {
      const sp = buf.indexOf(0x20, pos);
      const len = sp > pos && sp - pos <= 10 ? Number(buf.subarray(pos, sp).toString('ascii')) : NaN;
      if (!Number.isInteger(len) || len <= 0 || sp + 1 + len > buf.length) {
        // A write cut short by a crash: the message was never reported as queued, so it is dropped.
        this.repaired = `dropped ${buf.length - pos} byte(s) of a message torn by a crash at offset ${off}`;
        ftruncateSync(this.fd, off);
        fsyncSync(this.fd);
        this.size = off;
        break;
      }
      const length = sp + 1 + len - pos;
      this.queue.push({ seq: ++seq, offset: off, length });
      off += length;
      pos += length;
    }
  }

  /** The spool sequence number the next message gets (numbers every message ever queued here). */
  get nextSeq(): number {
    return this.deliveredSeq + this.queue.length + 1;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues one message (durably: fsynced before it returns); returns its sequence number. */
  append(message: Uint8Array): number {
    if (this.closed) throw new SpoolError('the audit spool is closed');
    const frame = octetCounted(message);
    let off = 0;
    while (off < frame.length) off += writeSync(this.fd, frame, off, frame.length - off);
    fsyncSync(this.fd);
    const seq = this.nextSeq;
    this.queue.push({ seq, offset: this.size, length: frame.length });
    this.size += frame.length;
    return seq;
  }

  /** The i-th message waiting (0 = the oldest), as its wire frame. */
  frame(i: number): { seq: number; frame: Buffer } | undefined {
    const p = this.queue[i];
    if (!p) return undefined;
    const buf = Buffer.alloc(p.length);
    readSync(this.fd, buf, 0, p.length, p.offset);
    return { seq: p.seq, frame: buf };
  }

  /** The oldest `count` messages reached the repository. */
  markDelivered(count: number): void {
    if (count <= 0) return;
    const done = this.queue.splice(0, Math.min(count, this.queue.length));
    const last = done[done.length - 1]!;
    this.deliveredOffset = last.offset + last.length;
    this.deliveredSeq = last.seq;
    if (this.queue.length === 0 && this.size >= ROTATE_BYTES) {
      ftruncateSync(this.fd, 0);
      fsyncSync(this.fd);
      this.size = 0;
      this.deliveredOffset = 0;
    }
    writeFileAtomic(this.pointerPath, Buffer.from(JSON.stringify({ offset: this.deliveredOffset, seq: this.deliveredSeq }) + '\n'), { mode: 0o600 });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    openHere.delete(this.lockPath);
    try {
      unlinkSync(this.lockPath);
    } catch {
      /* already gone */
    }
  }
}

const openHere = new Set<string>();

/** One process per spool (numbering and delivery are this process's): a lock whose pid is gone is taken over. */
function takeLock(path: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      let alive = false;
      try {
        if (pid > 0 && pid !== process.pid) {
          process.kill(pid, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (alive) throw new SpoolError(`the audit spool ${path.replace(/\/lock$/, '')} is in use by process ${pid}; give this command its own --audit-spool`);
      unlinkSync(path);
    }
  }
  throw new SpoolError(`cannot lock ${path}`);
}
