// What the proxy has already taken responsibility for, across crashes. Before an
// object is sealed, "serial, SOP Instance UID, SHA-256 of the data set as
// received" is appended and fsynced; the serial names the object in the outbox.
// When the same bytes arrive again (the modality resends after a crash, or sends
// twice), the outbox is asked whether that serial is durable: if so the object
// is answered Success without a second seal; if not (the crash came before the
// outbox write), it is sealed again under the same serial. So no object is lost,
// none is sealed twice, and none is half-written (the outbox writes atomically).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const JOURNAL_FILE = 'proxy-received.log';

export interface JournalEntry {
  serial: number;
  sopInstanceUid: string;
  sha256Hex: string;
}

const keyOf = (sopInstanceUid: string, sha256Hex: string) => `${sopInstanceUid}\u0000${sha256Hex}`;

export class ReceivedJournal {
  readonly path: string;
  private readonly byKey = new Map<string, JournalEntry>();
  private maxSerial = 0;

  constructor(dir: string) {
    this.path = join(dir, JOURNAL_FILE);
    if (!existsSync(this.path)) return;
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      const m = /^(\d+)\t([0-9.]+)\t([0-9a-f]{64})$/.exec(line);
      // A torn last line (crash mid-append) is ignored: its object was never answered.
      if (!m) continue;
      const e: JournalEntry = { serial: Number(m[1]), sopInstanceUid: m[2]!, sha256Hex: m[3]! };
      this.byKey.set(keyOf(e.sopInstanceUid, e.sha256Hex), e);
      this.maxSerial = Math.max(this.maxSerial, e.serial);
    }
  }

  find(sopInstanceUid: string, sha256Hex: string): JournalEntry | undefined {
    return this.byKey.get(keyOf(sopInstanceUid, sha256Hex));
  }

  /** A serial above every journaled one for which `taken` is false (the outbox may hold older objects). */
  nextSerial(taken: (serial: number) => boolean): number {
    let s = this.maxSerial + 1;
    while (taken(s)) s++;
    return s;
  }

  /** Records (durably, before sealing) that this object gets this serial. */
  record(e: JournalEntry): void {
    if (!/^[0-9.]+$/.test(e.sopInstanceUid)) throw new RangeError(`SOP Instance UID "${e.sopInstanceUid}" is not a UID`);
    const fd = openSync(this.path, 'a', 0o640);
    try {
      writeSync(fd, `${e.serial}\t${e.sopInstanceUid}\t${e.sha256Hex}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.byKey.set(keyOf(e.sopInstanceUid, e.sha256Hex), e);
    this.maxSerial = Math.max(this.maxSerial, e.serial);
  }
}
