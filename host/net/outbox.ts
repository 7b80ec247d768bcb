// Durable outbox: sealed objects are written so that a crash at any instant
// (kill -9, power loss) leaves either the complete object or nothing.
//
//   tmp/.<name>.<rand>.tmp    write all bytes, fsync(file)
//   link -> ready/<seq>-<device>-<serial>.dcm (never over a file), fsync(ready/)   <- durable from here
//   append "<device>\t<serial>" to sealed.log, fsync(sealed.log)
//
// ready/ is the persistent, ordered send queue (seq is a zero-padded counter);
// after a successful send the object moves to sent/ (or is deleted); one PACS refuses
// for good moves to dead-letter/ (host/net/dead-letter.ts).
//
// Forwarded to several PACS targets, each target keeps its own durable delivery state:
//   delivery/<target>.log    names of the objects that target acknowledged (append, fsync)
//   dead-letter/<target>/    objects that target refused for good (hard links, reason beside)
// An object leaves ready/ only when every target has settled it: to sent/ when every target
// acknowledged it, else out of the queue (each refusal stays in its target's dead-letter folder).
// The last target to settle an object needs no log line: the move out of ready/ is its record.
// An outbox from before (ready/ + sent/, no delivery/) is a queue no target has settled yet. Leftovers
// in tmp/ are half-written by definition and are removed on open. The set of
// sealed (device, serial) keys = sealed.log ∪ ready/ ∪ sent/ ∪ dead-letter/, so a frame the
// device resends after a crash is recognised and never sealed twice.
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DraftFile, fsyncDir, privateDir, writeFileAtomic, type FileBytes } from '../io/atomic.js';
import { countDeadLetters, DEAD_LETTER_FOLDER, linkDeadLetter, parkDeadLetter } from './dead-letter.js';
import { makeDirs } from '../io/dirs.js';

export interface OutboxEntry {
  seq: number;
  deviceId: string;
  serial: number;
  path: string;
  name: string;
}

const NAME_RE = /^(\d{12})-(.+)-(\d+)\.dcm$/;
/** Sealed objects: owner and group (the forwarder's service group) only. */
const OBJECT_MODE = 0o640;

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
  readonly deliveryDir: string;
  /** Per target (its key): names of the queued objects it acknowledged. */
  private readonly delivered = new Map<string, Set<string>>();
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
    this.deliveryDir = join(dir, 'delivery');
    for (const d of [dir, this.tmpDir, this.readyDir, this.sentDir]) makeDirs(d);
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
    for (const dirName of this.objectFolders()) {
      for (const f of readdirSync(dirName)) {
        const m = NAME_RE.exec(f);
        if (!m) continue;
        this.nextSeq = Math.max(this.nextSeq, Number(m[1]) + 1);
        this.sealed.add(`${unsafeName(m[2])}\u0000${Number(m[3])}`);
      }
    }
    this.compactDeliveryLogs();
  }

  /** Every folder a sealed object of this outbox can be in. */
  private objectFolders(): string[] {
    const perTarget = readdirSync(this.deadLetterDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(this.deadLetterDir, d.name));
    return [this.readyDir, this.sentDir, this.deadLetterDir, ...perTarget];
  }

  has(deviceId: string, serial: number): boolean {
    return this.sealed.has(`${deviceId}\u0000${serial}`);
  }

  /**
   * Writes a sealed object durably (one buffer, or pieces written one after the other: a seal's head,
   * the frame's pixels where they lie, its tail); returns its entry once file and folder are fsynced.
   */
  put(deviceId: string, serial: number, bytes: FileBytes): OutboxEntry {
    const entry = this.nextEntry(deviceId, serial);
    writeFileAtomic(entry.path, bytes, { mode: OBJECT_MODE, tmpDir: this.tmpDir, noClobber: true });
    this.remember(deviceId, serial);
    return entry;
  }

  /**
   * A draft of a sealed object in tmp/, written while the object still arrives (its pixels at their
   * final offsets); it becomes the object only by putDraft, and a restart removes it like any partial.
   */
  openDraft(): DraftFile {
    return DraftFile.open(this.tmpDir, { mode: OBJECT_MODE });
  }

  /**
   * put() for an object whose bytes are partly in `draft` already: `pieces` complete it (the rest of
   * the file), it is cut to `length`, fsynced and linked into ready/ under put's name, ready/ fsynced,
   * the journal line written: the same durability as put. Null when a draft write failed (the draft
   * is removed and nothing is queued: the caller puts the object instead).
   */
  async putDraft(deviceId: string, serial: number, draft: DraftFile, pieces: readonly { bytes: Uint8Array; position: number }[], length: number): Promise<OutboxEntry | null> {
    try {
      await draft.finish(pieces, length);
    } catch {
      await draft.abort();
      return null;
    }
    const entry = this.nextEntry(deviceId, serial);
    draft.publish(entry.path, { noClobber: true });
    this.remember(deviceId, serial);
    return entry;
  }

  /** The next queue position and the object's name in ready/. */
  private nextEntry(deviceId: string, serial: number): OutboxEntry {
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(12, '0')}-${safeName(deviceId)}-${serial}.dcm`;
    return { seq, deviceId, serial, path: join(this.readyDir, name), name };
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
    for (const dirName of this.objectFolders()) {
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

  /** Objects parked in dead-letter/ (and in its per-target folders). */
  deadLettered(): number {
    return countDeadLetters(this.deadLetterDir);
  }

  // ---- per-target delivery state (host/net/forwarder.ts, several targets) ----

  private logOf(target: string): string {
    return join(this.deliveryDir, `${target}.log`);
  }

  private deliveredTo(target: string): Set<string> {
    let set = this.delivered.get(target);
    if (!set) {
      set = new Set();
      if (existsSync(this.logOf(target))) {
        // A torn last line (crash mid-append) names no queued object: that target sends it again.
        for (const line of readFileSync(this.logOf(target), 'utf8').split('\n')) if (NAME_RE.test(line)) set.add(line);
      }
      this.delivered.set(target, set);
    }
    return set;
  }

  private refusedBy(target: string, e: OutboxEntry): boolean {
    return existsSync(join(this.deadLetterDir, target, e.name));
  }

  /** Whether `target` has acknowledged `e` or refused it for good. */
  settledFor(target: string, e: OutboxEntry): boolean {
    return this.deliveredTo(target).has(e.name) || this.refusedBy(target, e);
  }

  /** `target` acknowledged `e`; when it was the last of `targets` to settle it, `e` leaves ready/. */
  recordSent(target: string, e: OutboxEntry, targets: readonly string[]): void {
    const others = targets.filter((t) => t !== target);
    if (others.every((t) => this.settledFor(t, e))) {
      this.finish(e, others.every((t) => this.deliveredTo(t).has(e.name)));
      return;
    }
    if (!existsSync(this.deliveryDir)) {
      makeDirs(this.deliveryDir);
      fsyncDir(this.dir);
    }
    const fd = openSync(this.logOf(target), 'a', 0o640);
    try {
      writeSync(fd, `${e.name}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.deliveredTo(target).add(e.name);
  }

  /**
   * `target` refuses `e` for good. With one target, `e` moves to dead-letter/ as it always did;
   * with several, a link goes to dead-letter/<target>/ and `e` stays queued for the others.
   */
  recordRefused(target: string, e: OutboxEntry, note: { target: string; reason: string }, targets: readonly string[]): string {
    if (targets.length === 1) return this.deadLetter(e, note);
    const parked = linkDeadLetter(e.path, join(this.deadLetterDir, target), { name: e.name, ...note });
    if (targets.every((t) => this.settledFor(t, e))) this.finish(e, false);
    return parked;
  }

  /** Objects in ready/ that every target settled (a crash came before they left it): finish them now. */
  finishSettled(targets: readonly string[]): number {
    let n = 0;
    for (const e of this.pending()) {
      if (!targets.every((t) => this.settledFor(t, e))) continue;
      this.finish(e, targets.every((t) => this.deliveredTo(t).has(e.name)));
      n++;
    }
    return n;
  }

  /** Every target settled `e`: delivered everywhere goes to sent/; else it leaves the queue (its refusals are parked). */
  private finish(e: OutboxEntry, deliveredEverywhere: boolean): void {
    if (deliveredEverywhere) this.markSent(e);
    else {
      unlinkSync(e.path);
      fsyncDir(this.readyDir);
    }
    for (const set of this.delivered.values()) set.delete(e.name);
  }

  /**
   * Delivery logs keep only names still queued (or parked for some target, which an administrator
   * may move back into ready/: the targets that took it must not get it twice). Rewritten atomically.
   */
  private compactDeliveryLogs(): void {
    if (!existsSync(this.deliveryDir)) return;
    const live = new Set(readdirSync(this.readyDir));
    for (const d of this.objectFolders().slice(3)) for (const f of readdirSync(d)) live.add(f);
    for (const f of readdirSync(this.deliveryDir)) {
      if (!f.endsWith('.log')) continue;
      const path = join(this.deliveryDir, f);
      const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      const kept = lines.filter((l) => live.has(l));
      if (kept.length === lines.length) continue;
      writeFileAtomic(path, Buffer.from(kept.map((l) => `${l}\n`).join('')), { mode: 0o640, tmpDir: this.tmpDir });
    }
  }
}
