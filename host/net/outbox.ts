// Durable outbox: sealed objects are written so that a crash at any instant
// (kill -9, power loss) leaves either the complete object or nothing.
//
//   tmp/.<name>.<rand>.tmp    write all bytes, fsync(file)
//   link -> ready/<seq>-<device>-<serial>.dcm (never over a file), fsync(ready/)   <- durable from here
//   append "<device>\t<serial>" to sealed.log, fsync(sealed.log)
//
// ready/ is the persistent, ordered send queue (seq is a zero-padded counter);
// after a successful send the object moves to sent/ (or is deleted); one PACS refuses
// for good moves to dead-letter/ (host/net/dead-letter.ts). Leftovers
// in tmp/ are half-written by definition and are removed on open. The set of
// sealed (device, serial) keys = sealed.log ∪ ready/ ∪ sent/ ∪ dead-letter/, so a frame the
// device resends after a crash is recognised and never sealed twice.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, privateDir, writeFileAtomic } from '../io/atomic.js';
import { countDeadLetters, DEAD_LETTER_FOLDER, parkDeadLetter } from './dead-letter.js';

export interface OutboxEntry {
  seq: number;
  deviceId: string;
  serial: number;
  path: string;
  name: string;
}

const NAME_RE = /^(\d{12})-(.+)-(\d+)\.dcm$/;

/** Device ids go into file names: keep [A-Za-z0-9._], escape the rest as %XX. */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}
function unsafeName(s: string): string {
  return s.replace(/%([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

export interface OutboxOptions {
  /** Keep delivered objects in sent/ (default) or delete them. */
  keepSent?: boolean;
  /** Days a delivered object stays in sent/ before pruneSent() removes it (default 7). */
  keepSentDays?: number;
}

export const DEFAULT_KEEP_SENT_DAYS = 7;
const DAY_MS = 86_400_000;

export class Outbox {
  readonly tmpDir: string;
  readonly readyDir: string;
  readonly sentDir: string;
  readonly deadLetterDir: string;
  readonly journal: string;
  private nextSeq = 1;
  private readonly sealed = new Set<string>();
  /** Half-written files found (and removed) in tmp/ when the outbox was opened. */
  readonly removedPartials: string[] = [];

  constructor(readonly dir: string, private readonly o: OutboxOptions = {}) {
    this.tmpDir = join(dir, 'tmp');
    this.readyDir = join(dir, 'ready');
    this.sentDir = join(dir, 'sent');
    this.deadLetterDir = join(dir, DEAD_LETTER_FOLDER);
    this.journal = join(dir, 'sealed.log');
    for (const d of [dir, this.tmpDir, this.readyDir, this.sentDir]) mkdirSync(d, { recursive: true });
    privateDir(this.deadLetterDir); // patients' objects PACS refused: owner-only
    for (const f of readdirSync(this.tmpDir)) {
      unlinkSync(join(this.tmpDir, f));
      this.removedPartials.push(f);
    }
    if (this.removedPartials.length) fsyncDir(this.tmpDir);
    if (existsSync(this.journal)) {
      for (const line of readFileSync(this.journal, 'utf8').split('\n')) {
        const [d, s] = line.split('\t');
        if (d && s && /^\d+$/.test(s)) this.sealed.add(`${d}\u0000${Number(s)}`);
        // A torn last line (crash mid-append) is ignored; ready/ still knows the object.
      }
    }
    for (const dirName of [this.readyDir, this.sentDir, this.deadLetterDir]) {
      for (const f of readdirSync(dirName)) {
        const m = NAME_RE.exec(f);
        if (!m) continue;
        this.nextSeq = Math.max(this.nextSeq, Number(m[1]) + 1);
        this.sealed.add(`${unsafeName(m[2])}\u0000${Number(m[3])}`);
      }
    }
  }

  has(deviceId: string, serial: number): boolean {
    return this.sealed.has(`${deviceId}\u0000${serial}`);
  }

  /** Writes a sealed object durably; returns its entry once file and folder are fsynced. */
  put(deviceId: string, serial: number, bytes: Uint8Array): OutboxEntry {
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(12, '0')}-${safeName(deviceId)}-${serial}.dcm`;
    const path = join(this.readyDir, name);
    writeFileAtomic(path, bytes, { mode: 0o640, tmpDir: this.tmpDir, noClobber: true });
    this.remember(deviceId, serial);
    return { seq, deviceId, serial, path, name };
  }

  /**
   * Records (device, serial) as sealed in the journal, durably: for a frame kept elsewhere until it
   * can be sealed (held for a technologist), so the device's resends are recognised meanwhile.
   */
  remember(deviceId: string, serial: number): void {
    this.sealed.add(`${deviceId}\u0000${serial}`);
    const jfd = openSync(this.journal, 'a', 0o640);
    try {
      writeSync(jfd, `${deviceId}\t${serial}\n`);
      fsyncSync(jfd);
    } finally {
      closeSync(jfd);
    }
  }

  /** Whether a sealed object of (device, serial) is in ready/, sent/ or dead-letter/ (a scan: for rare checks). */
  holdsObject(deviceId: string, serial: number): boolean {
    for (const dirName of [this.readyDir, this.sentDir, this.deadLetterDir]) {
      for (const f of readdirSync(dirName)) {
        const m = NAME_RE.exec(f);
        if (m && unsafeName(m[2]!) === deviceId && Number(m[3]) === serial) return true;
      }
    }
    return false;
  }

  /**
   * Removes delivered objects older than the retention from sent/ (their age counts from delivery);
   * sealed.log still knows them, so a resent frame is never sealed again. Returns the names removed.
   */
  pruneSent(now = Date.now()): string[] {
    const cutoff = now - (this.o.keepSentDays ?? DEFAULT_KEEP_SENT_DAYS) * DAY_MS;
    const removed: string[] = [];
    for (const f of readdirSync(this.sentDir)) {
      const path = join(this.sentDir, f);
      try {
        if (statSync(path).mtimeMs > cutoff) continue;
        unlinkSync(path);
        removed.push(f);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (removed.length) fsyncDir(this.sentDir);
    return removed;
  }

  /** Objects waiting to be sent, oldest first. */
  pending(): OutboxEntry[] {
    return readdirSync(this.readyDir)
      .map((f) => ({ f, m: NAME_RE.exec(f) }))
      .filter((x) => x.m)
      .map(({ f, m }) => ({ seq: Number(m![1]), deviceId: unsafeName(m![2]), serial: Number(m![3]), path: join(this.readyDir, f), name: f }))
      .sort((a, b) => a.seq - b.seq);
  }

  /** Records a delivery: moves the object to sent/ (or deletes it), durably. */
  markSent(e: OutboxEntry): void {
    if (this.o.keepSent === false) {
      // The key is already in sealed.log, so deleting cannot lead to a reseal.
      unlinkSync(e.path);
    } else {
      const sent = join(this.sentDir, e.name);
      renameSync(e.path, sent);
      const now = new Date();
      utimesSync(sent, now, now); // retention counts from delivery, not from sealing
      fsyncDir(this.sentDir);
    }
    fsyncDir(this.readyDir);
  }

  /** PACS refuses the object for good: park it in dead-letter/ with the reason beside it. */
  deadLetter(e: OutboxEntry, note: { target: string; reason: string }): string {
    return parkDeadLetter(e.path, this.deadLetterDir, { name: e.name, ...note });
  }

  /** Objects parked in dead-letter/. */
  deadLettered(): number {
    return countDeadLetters(this.deadLetterDir);
  }
}
