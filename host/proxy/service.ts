// The sealing proxy: a Storage SCP the modality sends to instead of PACS.
// Each object is sealed (host/proxy/seal-received.ts), written durably to the
// outbox, and only then answered Success; the outbox's persistent queue forwards
// it to PACS (host/net/forwarder.ts). Objects are handled one at a time, in
// arrival order, across associations.
import { createHash } from 'node:crypto';
import { startStoreScp, type ReceivedObject, type StoreAnswer, type StoreScp } from '../net/scp.js';
import type { DicomTls } from '../net/tls.js';
import { Outbox, type OutboxEntry } from '../net/outbox.js';
import { Forwarder } from '../net/forwarder.js';
import type { PacsTarget } from '../net/destination.js';
import { requestTimestamp } from '../net/tsa-client.js';
import { DEFAULT_TILE_SIZE, type DeviceIdentity, type TechnologistIdentity } from '../seal/seal.js';
import { ReceivedJournal } from './journal.js';
import { Refusal } from './refusal.js';
import { sealedHeadLength, sealReceived } from './seal-received.js';
import { sealRoom } from './mark-buffer.js';
import { DataSetDigester, type StreamDigest } from './stream-digest.js';
import { PixelDraft } from './pixel-draft.js';
import { warmTileThread } from './tile-thread.js';

export interface ProxyOptions {
  host: string;
  port: number;
  aeTitle: string;
  /** Calling AE titles allowed to send (host/net/scp.ts callerProblem); empty: any. */
  allowedCallers?: string[];
  /** TLS for the modality's associations. */
  tls?: DicomTls;
  device: DeviceIdentity;
  outboxDir: string;
  /** PACS targets; each gets every object (host/net/forwarder.ts). */
  forward?: PacsTarget | readonly PacsTarget[];
  watermarkKey?: Uint8Array;
  /** The technologist logged in at this workstation now, if any: co-signs what arrives. */
  technologist?: () => TechnologistIdentity | undefined;
  /** RFC 3161 TSA for the device signature; an outage seals without a timestamp (and logs it). */
  timestampUrl?: string;
  tileSize?: number;
  log?: (m: string) => void;
  forwardBackoffMs?: { min: number; max: number };
}

export interface ProxyStats {
  received: number;
  sealed: number;
  alreadySigned: number;
  duplicates: number;
  refused: number;
  timestamped: number;
  /** Sealed objects whose pixels were hashed while they arrived (host/proxy/stream-digest.ts). */
  hashedOnArrival: number;
  /** Sealed objects whose file was encoded around the received pixels, in their buffer (no copy of them). */
  encodedInPlace: number;
  /** Sealed objects whose device signature's SHA-512 MAC was hashed while the pixels arrived. */
  macOnArrival: number;
  /** Objects whose MAC was predicted on arrival but the prediction did not hold: hashed again after the last fragment. */
  macMissed: number;
  /**
   * Sealed objects whose pixels went to the outbox before the seal was done: as they arrived, or (the site mark) once
   * marked, while the MAC was hashed. Only the head and tail were written after the seal.
   */
  writtenOnArrival: number;
  /** Objects whose pixels were written on arrival but the draft was not used (written whole after the seal, or not at all). */
  writeMissed: number;
}

const TSA_TIMEOUT_MS = 3000;
const TSA_PAUSE_MS = 30000;
/** A sending modality's gap between fragments or objects (it answers our Success with the next object at once). */
const MODALITY_QUIET_MS = 250;
const MAX_FORWARD_HOLD_MS = 10000;
const FORWARD_HOLD_STEP_MS = 50;

export class ProxyService {
  readonly outbox: Outbox;
  readonly journal: ReceivedJournal;
  readonly forwarder: Forwarder | null;
  readonly stats: ProxyStats = { received: 0, sealed: 0, alreadySigned: 0, duplicates: 0, refused: 0, timestamped: 0, hashedOnArrival: 0, encodedInPlace: 0, macOnArrival: 0, macMissed: 0, writtenOnArrival: 0, writeMissed: 0 };
  private scp: StoreScp | null = null;
  /** Told of every object the modality sent and what it was answered (the audit trail). */
  onAnswered: ((obj: ReceivedObject, answer: StoreAnswer) => void) | null = null;
  /** Told of every association (or TLS connection) refused (the audit trail's Security Alert). */
  onAssociationRefused: ((r: { callingAe: string | null; address: string | null; reason: string }) => void) | null = null;
  private readonly tileSize: number;
  private chain: Promise<unknown> = Promise.resolve();
  private tsaPausedUntil = 0;
  private forwardHeldSince: number | null = null;
  private readonly log: (m: string) => void;

  constructor(private readonly o: ProxyOptions) {
    this.log = o.log ?? (() => {});
    this.tileSize = o.tileSize ?? DEFAULT_TILE_SIZE;
    this.outbox = new Outbox(o.outboxDir);
    if (this.outbox.removedPartials.length) this.log(`proxy: removed ${this.outbox.removedPartials.length} half-written file(s) left by a crash`);
    this.journal = new ReceivedJournal(o.outboxDir);
    this.forwarder = o.forward
      ? new Forwarder(this.outbox, o.forward, {
        log: this.log, minBackoffMs: o.forwardBackoffMs?.min ?? 1000, maxBackoffMs: o.forwardBackoffMs?.max ?? 60000,
        yieldTo: () => this.forwardHold(),
      })
      : null;
  }

  /** Starts forwarding what is queued and listening; returns the port. */
  async start(): Promise<number> {
    const pending = this.outbox.pending().length;
    if (pending) this.log(`proxy: ${pending} sealed object(s) waiting in the outbox from before`);
    this.forwarder?.start();
    if (this.tileSize > 0) warmTileThread(); // tile tables: of the pixels as they arrive, or of the marked ones
    try {
      this.scp = await this.listen();
    } catch (err) {
      // Nothing may keep a service that cannot listen alive (the port taken, say): systemd must see it fail.
      await this.forwarder?.stop();
      throw err;
    }
    return this.scp.port;
  }

  private listen(): Promise<StoreScp> {
    return startStoreScp({
      host: this.o.host, port: this.o.port, aeTitle: this.o.aeTitle, allowedCallers: this.o.allowedCallers, tls: this.o.tls, log: this.log,
      // Nothing here keeps a view of an object's bytes once it is answered (the outbox wrote the sealed file, the
      // audit read what it needs): its buffer takes a later object (no fresh 19 MB of memory per object).
      recycleBuffers: true,
      // Hashes (journal key, pixels as received, tile table, the device signature's MAC) are made while the fragments arrive.
      // With the site mark the pixels change after arrival (the tile table and the MAC are over the marked ones): neither then,
      // and the draft takes the marked pixels once they are final. The sender's AE title is in the sealed file's meta, so it
      // shapes the head the draft is written after.
      observe: (transferSyntaxUid, sender) => new DataSetDigester(transferSyntaxUid, this.o.watermarkKey ? 0 : this.tileSize, {
        technologist: () => this.o.technologist?.(), hashPixels: !this.o.watermarkKey,
        draft: (prefix, length, tech) => this.openDraft(prefix, length, tech, sender.callingAe),
      }),
      // Room for the sealed file around the received pixels (meta, elements and operator attributes before; attestation,
      // tile table and signatures after); a tile table of tiny tiles would need more than its share: such a file is encoded afresh.
      room: (bytes) => sealRoom(bytes, this.tileSize),
      onAssociationRefused: (r) => this.onAssociationRefused?.(r),
      onStore: (obj) => this.serially(() => this.handle(obj)).then((answer) => {
        this.onAnswered?.(obj, answer);
        return answer;
      }),
    });
  }

  async stop(): Promise<void> {
    await this.scp?.close();
    await this.chain.catch(() => undefined);
    await this.forwarder?.stop();
  }

  /**
   * Forwarding waits while a modality is sending (an object in flight, or a fragment within
   * MODALITY_QUIET_MS on an open association): on a workstation's few cores, reading and sending
   * the previous object to PACS would take CPU from receiving, hashing and writing the next one,
   * and the modality waits for those; PACS waits seconds at most. A modality that never pauses
   * still has one object forwarded every MAX_FORWARD_HOLD_MS.
   */
  private forwardHold(): number {
    const a = this.scp?.activity();
    const now = performance.now();
    const busy = !!a && a.associations > 0 && (a.objectInFlight || now - a.lastFragmentAt < MODALITY_QUIET_MS);
    if (!busy) {
      this.forwardHeldSince = null;
      return 0;
    }
    this.forwardHeldSince ??= now;
    if (now - this.forwardHeldSince < MAX_FORWARD_HOLD_MS) return FORWARD_HOLD_STEP_MS;
    this.forwardHeldSince = null; // this one goes; the next waits again
    return 0;
  }

  /** A draft of the sealed file in the outbox for the pixels to go to as they arrive (docs/PROXY.md, "Performance"). */
  private openDraft(prefix: Uint8Array, pixelLength: number, technologist: TechnologistIdentity | undefined, callingAe: string): PixelDraft | undefined {
    let file;
    try {
      file = this.outbox.openDraft();
    } catch (err) {
      this.log(`proxy: no draft in the outbox (${(err as Error).message}); the object is written after the seal`);
      return undefined;
    }
    const head = sealedHeadLength(prefix, pixelLength, callingAe, { device: this.o.device, technologist, tileSize: this.tileSize, watermarkKey: this.o.watermarkKey });
    return new PixelDraft(file, head, pixelLength, this.o.watermarkKey ? 'given later' : 'as received');
  }

  /**
   * Completes the draft (its pixels written as they arrived, or the marked ones given to it), when the
   * sealed file has `written` (the very bytes the draft holds) exactly where the draft put them: after
   * the predicted head; else aborts it. The entry once durable, or null (the caller puts the object whole).
   */
  private async putFromDraft(draft: PixelDraft, deviceId: string, serial: number, sealed: Uint8Array, written: Uint8Array | undefined): Promise<OutboxEntry | null> {
    const head = await draft.take();
    const why = head === undefined ? 'the draft could not be written'
      : !written || sealed.buffer !== written.buffer || written.length !== draft.pixelLength ? 'the sealed file was not encoded around the pixels written'
      : sealed.byteOffset + head !== written.byteOffset || sealed.length < head + written.length ? 'the sealed head is not the length predicted when the pixels started (e.g. another technologist or calling AE by now)'
      : null;
    const entry = why === null ? await this.outbox.putDraft(deviceId, serial, draft.file, [
      { bytes: sealed.subarray(0, head), position: 0 },
      { bytes: sealed.subarray(head! + written!.length), position: head! + written!.length },
    ], sealed.length) : null;
    if (entry) {
      this.stats.writtenOnArrival++;
      return entry;
    }
    if (why !== null) await draft.abort();
    this.stats.writeMissed++;
    this.log(`proxy: pixels written on arrival not used: ${why ?? 'a write of the draft failed'}; the object is written whole`);
    return null;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async handle(obj: ReceivedObject<DataSetDigester>): Promise<StoreAnswer> {
    this.stats.received++;
    const who = `${obj.sopInstanceUid} from ${obj.callingAe} (${obj.remoteAddress})`;
    const digest = await obj.observer?.finish();
    const draft = digest?.pixels?.draft;
    try {
      return await this.sealAndPut(obj, who, digest, draft);
    } finally {
      await draft?.abort(); // nothing once put (a published draft is no longer in tmp/)
    }
  }

  private async sealAndPut(obj: ReceivedObject<DataSetDigester>, who: string, digest: StreamDigest | undefined, draft: PixelDraft | undefined): Promise<StoreAnswer> {
    const wholeSha256Hex = () => createHash('sha256').update(obj.dataSet).digest('hex');
    const sha256Hex = digest?.journalKey ?? wholeSha256Hex();
    const part10 = obj.part10();
    const deviceId = this.o.device.deviceId;
    const known = this.journal.find(obj.sopInstanceUid, sha256Hex, wholeSha256Hex);
    if (known && this.outbox.has(deviceId, known.serial)) {
      // Durable already (answered before, or the answer was lost in a crash): never sealed twice.
      this.stats.duplicates++;
      this.log(`proxy: ${who} already sealed as serial ${known.serial}; Success without sealing again`);
      return { status: 0 };
    }
    const serial = known?.serial ?? this.journal.nextSerial((s) => this.outbox.has(deviceId, s));
    // The line is written once the seal has decided to store the object (a refused one leaves none) and
    // fsynced while it is signed: nothing is published (nor answered) before it is durable, and nothing
    // returns before it settles (the next object must see the serial taken and the key known).
    let journaled: Promise<void> | undefined;
    const journal = known ? undefined : () => {
      journaled = this.journal.record({ serial, sopInstanceUid: obj.sopInstanceUid, sha256Hex });
      void journaled.catch(() => undefined);
    };
    const dataSetOffset = obj.dataSet.byteOffset - part10.byteOffset;
    // The seal may encode the file around the received pixels, in their buffer: what lies outside them is kept
    // (a few KB) so that the object as received can still be read afterwards (the audit trail reads it).
    const pixels = digest?.pixels && { start: dataSetOffset + digest.pixels.offset, length: digest.pixels.length };
    const outside = pixels && [part10.slice(0, pixels.start), part10.slice(pixels.start + pixels.length)] as const;
    // The pixel value the draft holds: as received (written while it arrived), or the marked one given to it.
    let written = draft?.pixels === 'as received' && pixels ? part10.subarray(pixels.start, pixels.start + pixels.length) : undefined;
    let outcome;
    try {
      outcome = await sealReceived(
        {
          part10, callingAe: obj.callingAe, remoteAddress: obj.remoteAddress, serial,
          streamed: digest?.pixels && { pixels: digest.pixels, dataSetOffset },
          mayOverwrite: outside !== undefined,
        },
        {
          device: this.o.device, watermarkKey: this.o.watermarkKey, technologist: this.o.technologist?.(), tileSize: this.tileSize,
          timestamp: this.o.timestampUrl ? (sig) => this.timestamp(sig, who) : undefined,
          onAccepted: journal,
          onMarkedPixels: draft?.pixels === 'given later' ? (value) => {
            written = value;
            draft.give(value);
          } : undefined,
        },
      );
    } catch (err) {
      await journaled?.catch(() => undefined);
      if (!(err instanceof Refusal)) throw err;
      this.stats.refused++;
      this.log(`proxy: ${who} refused (status ${err.status.toString(16).toUpperCase()}H): ${err.reason}`);
      return { status: err.status, comment: err.comment };
    }
    let entry;
    try {
      if (!known && !journaled) throw new Error('internal: the seal stored an object it never accepted (no journal line)');
      await journaled;
      if (outcome.bytes.buffer === part10.buffer && outcome.bytes !== part10) {
        this.stats.encodedInPlace++;
        asReceivedAgain(obj, part10.subarray(pixels!.start, pixels!.start + pixels!.length), outside!);
      }
      // A draft given no pixels (the site mark did not apply to these) is dropped without a word: the object is put whole.
      entry = (draft && written && outcome.kind === 'sealed' ? await this.putFromDraft(draft, deviceId, serial, outcome.bytes, written) : null)
        ?? this.outbox.put(deviceId, serial, outcome.bytes);
    } finally {
      if (outcome.kind === 'sealed') outcome.release?.(); // written (or failed): its buffer may serve the next object
    }
    // Durable now (file and folder fsynced): only now may the modality forget the object.
    if (outcome.kind === 'already-signed') {
      this.stats.alreadySigned++;
      this.log(`proxy: ${who} already carries digital signatures: forwarded untouched -> ${entry.name}`);
    } else {
      this.stats.sealed++;
      if (outcome.hashedOnArrival) this.stats.hashedOnArrival++;
      if (outcome.macOnArrival === 'streamed') this.stats.macOnArrival++;
      else if (outcome.macOnArrival === 'missed') this.stats.macMissed++;
      const what = `${outcome.encoding.toLowerCase()} pixels, ${outcome.frames} frame(s)${outcome.watermarked ? ', watermarked' : ''}${outcome.coSignedBy ? `, co-signed by ${outcome.coSignedBy}` : ''}`;
      this.log(`proxy: ${who} sealed (${what}) -> ${entry.name}${outcome.notes.length ? `; ${outcome.notes.join('; ')}` : ''}`);
    }
    this.forwarder?.kick();
    return { status: 0 };
  }

  private async timestamp(signature: Uint8Array, who: string): Promise<Uint8Array | null> {
    if (Date.now() < this.tsaPausedUntil) return null;
    try {
      const token = await requestTimestamp(this.o.timestampUrl!, signature, TSA_TIMEOUT_MS);
      this.stats.timestamped++;
      return token;
    } catch (e) {
      this.tsaPausedUntil = Date.now() + TSA_PAUSE_MS;
      this.log(`proxy: ${who}: no certified timestamp (${(e as Error).message}); sealed with the device's own time; the TSA is tried again in ${TSA_PAUSE_MS / 1000} s`);
      return null;
    }
  }
}

/**
 * The sealed file was encoded around the received Pixel Data in the object's own buffer: the object's
 * other bytes there are the sealed file's now. Its part10() and dataSet give it as received again,
 * rebuilt (one copy) only if someone asks.
 */
function asReceivedAgain(obj: ReceivedObject, pixelValue: Uint8Array, [head, tail]: readonly [Uint8Array, Uint8Array]): void {
  const dataSetLength = obj.dataSet.length;
  let again: Uint8Array | undefined;
  const part10 = () => (again ??= Buffer.concat([head, pixelValue, tail]));
  obj.part10 = part10;
  Object.defineProperty(obj, 'dataSet', { get: () => part10().subarray(part10().length - dataSetLength), configurable: true });
}
