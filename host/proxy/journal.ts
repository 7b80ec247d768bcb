// What the proxy has already taken responsibility for, across crashes. Before an
// object is sealed, "serial, SOP Instance UID, key of the data set as received"
// is appended and fsynced (the key: host/proxy/stream-digest.ts journalKey, `p:`
// and a SHA-256 with the pixel value standing in by its own SHA-256, or the
// SHA-256 of the whole data set, which older lines all are); the serial names the object in the outbox.
// When the same bytes arrive again (the modality resends after a crash, or sends
// twice), the outbox is asked whether that serial is durable: if so the object
// is answered Success without a second seal; if not (the crash came before the
// outbox write), it is sealed again under the same serial. So no object is lost,
// none is sealed twice, and none is half-written (the outbox writes atomically).
import { closeSync, existsSync, fsync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const JOURNAL_FILE = 'proxy-received.log';

export interface JournalEntry {
  serial: number;
  sopInstanceUid: string;
  /** The data set's key: `p:` + hex (pixel value by its hash) or hex (SHA-256 of the whole data set). */
  sha256Hex: string;
}

const KEY = /^(?:p:)?[0-9a-f]{64}$/;

const keyOf = (sopInstanceUid: string, sha256Hex: string) => `${sopInstanceUid}\u0000${sha256Hex}`;

export class ReceivedJournal {
  readonly path: string;
  private readonly byKey = new Map<string, JournalEntry>();
  /** SOP Instance UIDs with a line keyed by the whole data set's SHA-256 (an older proxy's, or no pixels found). */
  private readonly wholeKeyed = new Set<string>();
  private maxSerial = 0;
  /** The file ends inside a line (a crash mid-append): the next line must not continue it. */
  private torn = false;

  constructor(dir: string) {
    this.path = join(dir, JOURNAL_FILE);
    if (!existsSync(this.path)) return;
    const text = readFileSync(this.path, 'utf8');
    this.torn = text.length > 0 && !text.endsWith('\n');
    for (const line of text.split('\n')) {
      const m = /^(\d+)\t([0-9.]+)\t((?:p:)?[0-9a-f]{64})$/.exec(line);
      // A torn last line (crash mid-append) is ignored: its object was never answered.
      if (!m) continue;
      this.remember({ serial: Number(m[1]), sopInstanceUid: m[2]!, sha256Hex: m[3]! });
    }
  }

  private remember(e: JournalEntry): void {
    this.byKey.set(keyOf(e.sopInstanceUid, e.sha256Hex), e);
    if (!e.sha256Hex.startsWith('p:')) this.wholeKeyed.add(e.sopInstanceUid);
    this.maxSerial = Math.max(this.maxSerial, e.serial);
  }

  /**
   * The entry for this object: by `key`; when that is a pixel-hash key and a line for this UID is
   * keyed by the whole data set's SHA-256 (written by an older proxy), also by `wholeSha256Hex()`,
   * so an object taken before an upgrade is still known after it.
   */
  find(sopInstanceUid: string, key: string, wholeSha256Hex?: () => string): JournalEntry | undefined {
    const found = this.byKey.get(keyOf(sopInstanceUid, key));
    if (found || !key.startsWith('p:') || !wholeSha256Hex || !this.wholeKeyed.has(sopInstanceUid)) return found;
    return this.byKey.get(keyOf(sopInstanceUid, wholeSha256Hex()));
  }

  /** A serial above every journaled one for which `taken` is false (the outbox may hold older objects). */
  nextSerial(taken: (serial: number) => boolean): number {
    let s = this.maxSerial + 1;
    while (taken(s)) s++;
    return s;
  }

  /**
   * Records that this object gets this serial: the line is written at once, and the promise resolves
   * once it is fsynced (on the thread pool, so that the caller seals meanwhile; it must await it
   * before the sealed object is published). The entry counts for find() and nextSerial() only once
   * durable (a line that never became durable must not let a resend skip journaling); the serial
   * is taken at once.
   */
  record(e: JournalEntry): Promise<void> {
    if (!/^[0-9.]+$/.test(e.sopInstanceUid)) throw new RangeError(`SOP Instance UID "${e.sopInstanceUid}" is not a UID`);
    if (!KEY.test(e.sha256Hex)) throw new RangeError(`journal key "${e.sha256Hex}" is not a data set key`);
    const fd = openSync(this.path, 'a', 0o640);
    try {
      writeSync(fd, `${this.torn ? '\n' : ''}${e.serial}\t${e.sopInstanceUid}\t${e.sha256Hex}\n`);
      this.torn = false;
      // The serial is taken from now on, durable or not: no later object may get it.
      this.maxSerial = Math.max(this.maxSerial, e.serial);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new Promise<void>((resolve, reject) => fsync(fd, (err) => {
      closeSync(fd);
      if (err) return reject(err);
      this.remember(e);
      resolve();
    }));
  }
}
