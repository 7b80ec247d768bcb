// Hashing a received data set while its P-DATA fragments arrive, so that the
// modality waits for the seal and the durable write only, not for three more
// passes over 19 MB after the last fragment: the journal's key (the SHA-256 of
// the data set, the pixel value standing in by its own SHA-256), and for native pixels the SHA-256 of the Pixel Data value as
// received and its per-frame tile table (a band of tile rows as soon as it is in,
// hashed in a worker thread: host/proxy/tile-thread.ts); and the device
// signature's SHA-512 MAC: when the Pixel Data value starts, the MAC stream of the
// elements before it is predicted (sealable.ts predictMac: the very transformation
// the seal applies, with the technologist logged in then) and the pixels are fed
// to it as they arrive; the seal checks the prediction before using it.
//
// A small walker over element headers finds the top-level Pixel Data value in
// the stream (explicit or implicit VR little endian, sequences of defined or
// undefined length). It only ever saves work: sealReceived uses its figures
// when they describe exactly the bytes the Part 10 reader took as Pixel Data
// (same offset, same length), and computes them itself otherwise. Anything the
// walker does not expect makes it stop walking (the journal key's hash goes on);
// it stops anyway once the Pixel Data value has ended.
import { createHash, type Hash } from 'node:crypto';
import { hasLongLength } from '../dicom/model.js';
import { UID } from '../dicom/uids.js';
import { ENCAPSULATED_SYNTAXES } from '../dicom/transfer-syntax.js';
import { wrapPart10 } from '../dicom/writer.js';
import type { TechnologistIdentity } from '../seal/seal.js';
import { TileBands } from './tile-thread.js';
import { predictMac, type PredictedMac } from './sealable.js';
import type { PixelDraft } from './pixel-draft.js';

export interface ReceivedPixelDigest {
  /** Offset of the Pixel Data value in the data set, and its length. */
  offset: number;
  length: number;
  sha256: Uint8Array;
  /** Per-frame tile tables, frame after frame (16-bit single-sample pixels filling whole frames), and the geometry they assumed. */
  tiles?: { size: number; rows: number; cols: number; frames: number; hashes: Uint8Array };
  /** The device signature's MAC, hashed up to the last pixel byte (when it could be predicted). */
  mac?: PredictedMac;
  /** The pixels written to the outbox as they arrived (when the MAC was predicted and a draft opened): the caller takes or aborts it. */
  draft?: PixelDraft;
}

/** Hash the whole-object signatures' MAC on arrival, as sealed with the technologist `technologist()` names then. */
export interface StreamMacOptions {
  technologist: () => TechnologistIdentity | undefined;
  /**
   * false: no MAC on arrival (the seal changes the pixels: the site mark), only the draft. Default true.
   */
  hashPixels?: boolean;
  /**
   * Opens a draft of the sealed file for the pixels to be written to as they arrive, given what the
   * MAC was predicted from (`prefix`: a Part 10 file up to an empty Pixel Data) and the technologist then.
   */
  draft?: (prefix: Uint8Array, pixelLength: number, technologist: TechnologistIdentity | undefined) => PixelDraft | undefined;
}

export interface StreamDigest {
  /**
   * What identifies the data set as received, for the journal (host/proxy/journal.ts): where the walker
   * found the top-level native Pixel Data whole, `p:` and the SHA-256 of the data set with the pixel
   * value replaced by its SHA-256 (one pass over the pixels instead of two; the value's length stays
   * in its header, so distinct data sets give distinct keys); else the SHA-256 of the data set.
   * Undefined when the data set ended inside the pixels (the caller hashes it whole then).
   */
  journalKey?: string;
  /** Native top-level Pixel Data, when the walker found it whole. */
  pixels?: ReceivedPixelDigest;
}

const UNDEFINED = 0xffffffff;
const PIXEL_DATA = 0x7fe00010;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
/**
 * Top-level values kept: what the tile table needs (Samples per Pixel, Number of Frames, Rows,
 * Columns, Bits Allocated) and the SOP Class and Instance UIDs (the predicted MAC's Part 10 wrapper).
 */
const KEPT = new Set([SOP_CLASS_UID, SOP_INSTANCE_UID, 0x00280002, 0x00280008, 0x00280010, 0x00280011, 0x00280100]);
/** Most data set bytes before Pixel Data kept for the MAC prediction (a few KB in practice). */
const MAX_PREFIX = 4 << 20;
/** Deeper nesting than any real data set: the walker stops (the reader decides about such an object). */
const MAX_DEPTH = 64;

/** Open sequences and items of undefined length (defined-length ones are skipped whole). */
type Level = 'sequence' | 'item';

export class DataSetDigester {
  /** The journal key's hash: every byte but the pixel value's, which its SHA-256 replaces. */
  private readonly whole = createHash('sha256');
  /** How far the fragment being walked went into `whole` (or was pixel value, left out). */
  private fed = 0;
  private pixelsReplaced = false;
  private keyBroken = false;
  private readonly explicit: boolean;
  private walking: boolean;
  /** Absolute offset of the next byte to arrive. */
  private pos = 0;
  private head = new Uint8Array(12);
  private headHave = 0;
  private headNeed = 8;
  /** Bytes of the current value still to come, and what to do with them. */
  private valueLeft = 0;
  private valueMode: 'skip' | 'keep' | 'pixels' = 'skip';
  private kept: Uint8Array | null = null;
  private keptTag = 0;
  private readonly levels: Level[] = [];
  private readonly geometry = new Map<number, Uint8Array>();
  /** Every fragment so far, while the MAC may still be predicted (references, not copies: the SCP keeps them). */
  private prefix: Uint8Array[] | null;
  private prefixBytes = 0;
  private pixels: { offset: number; length: number; hash: Hash; tiles: TileBands | null; rows: number; cols: number; frames: number; mac?: PredictedMac; draft?: PixelDraft } | null = null;
  private done: (Omit<ReceivedPixelDigest, 'tiles'> & { tiles?: Omit<NonNullable<ReceivedPixelDigest['tiles']>, 'hashes'> & { hashes: Promise<Uint8Array | null> } }) | undefined;

  /**
   * The pixels' SHA-256 is taken here, not on the tile thread with their tile rows: on two shared
   * cores with bytes arriving at memory speed (loopback) the thread then ended later after the last
   * fragment by about what this thread saved (docs/BENCHMARKS.md, "Proxy", 2026-12-03 17:10–17:50 UTC).
   */
  constructor(private readonly transferSyntaxUid: string, private readonly tileSize: number, private readonly mac?: StreamMacOptions) {
    this.explicit = transferSyntaxUid === UID.explicitVrLittleEndian || ENCAPSULATED_SYNTAXES.has(transferSyntaxUid);
    this.walking = this.explicit || transferSyntaxUid === UID.implicitVrLittleEndian;
    this.prefix = mac && this.walking ? [] : null;
  }

  update(fragment: Uint8Array): void {
    if (this.prefix) {
      this.prefix.push(fragment);
      this.prefixBytes += fragment.length;
      if (this.prefixBytes - fragment.length > MAX_PREFIX) this.prefix = null; // Pixel Data starts later than any prediction is made for
    }
    this.fed = 0;
    if (this.walking) {
      try {
        this.walk(fragment);
      } catch {
        this.stop();
      }
    }
    if (this.fed < fragment.length) this.whole.update(fragment.subarray(this.fed));
    this.pos += fragment.length;
  }

  /** Once every fragment is in: the digests (the tile table when its last band is hashed). */
  async finish(): Promise<StreamDigest> {
    if (this.walking && this.pixels) this.stop(); // the data set ended inside the pixels
    const d = this.done;
    const hex = this.whole.digest('hex');
    const journalKey = this.keyBroken ? undefined : this.pixelsReplaced ? `p:${hex}` : hex;
    if (!d) return { journalKey };
    if (!journalKey && d.draft) {
      void d.draft.abort();
      delete d.draft;
    }
    const { tiles, ...pixels } = d;
    const hashes = tiles && await tiles.hashes;
    // A band the thread could not hash leaves the table to the seal.
    return { journalKey, pixels: { ...pixels, tiles: tiles && hashes ? { ...tiles, hashes } : undefined } };
  }

  private stop(): void {
    // Pixel bytes left out of the key and their hash never put in: the key would not name these bytes.
    if (this.pixels) this.keyBroken = true;
    void (this.pixels?.draft ?? this.done?.draft)?.abort();
    this.pixels?.tiles?.abandon();
    this.walking = false;
    this.prefix = null;
    this.pixels = null;
    this.done = undefined;
  }

  private walk(b: Uint8Array): void {
    let i = 0;
    while (i < b.length && this.walking) {
      if (this.valueLeft > 0) {
        const n = Math.min(this.valueLeft, b.length - i);
        const part = b.subarray(i, i + n);
        if (this.valueMode === 'keep') this.kept!.set(part, this.kept!.length - this.valueLeft);
        else if (this.valueMode === 'pixels') {
          if (this.fed < i) this.whole.update(b.subarray(this.fed, i));
          this.fed = i + n;
          this.pixelBytes(part);
        }
        this.valueLeft -= n;
        i += n;
        if (this.valueLeft === 0) this.valueEnded();
        continue;
      }
      const n = Math.min(this.headNeed - this.headHave, b.length - i);
      this.head.set(b.subarray(i, i + n), this.headHave);
      this.headHave += n;
      i += n;
      if (this.headHave === this.headNeed) this.header(this.pos + i);
    }
  }

  /** A whole element header is in `head`; `at` is the offset just after it. */
  private header(at: number): void {
    const dv = new DataView(this.head.buffer);
    const tag = ((dv.getUint16(0, true) << 16) | dv.getUint16(2, true)) >>> 0;
    const top = this.levels.length === 0;
    if (tag === ITEM || tag === ITEM_END || tag === SEQUENCE_END) {
      const len = dv.getUint32(4, true);
      this.headHave = 0;
      this.headNeed = 8;
      const level = this.levels[this.levels.length - 1];
      if (tag === ITEM) {
        if (level !== 'sequence') throw new Error('item outside a sequence');
        if (len === UNDEFINED) this.push('item');
        else this.value(len, 'skip');
      } else {
        if (level !== (tag === ITEM_END ? 'item' : 'sequence')) throw new Error('stray delimiter');
        this.levels.pop();
      }
      return;
    }
    let vr = '';
    let len: number;
    if (this.explicit) {
      vr = String.fromCharCode(this.head[4]!, this.head[5]!);
      if (hasLongLength(vr)) {
        if (this.headNeed === 8) {
          this.headNeed = 12; // two reserved bytes and a 32-bit length follow
          return;
        }
        len = dv.getUint32(8, true);
      } else len = dv.getUint16(6, true);
    } else len = dv.getUint32(4, true);
    const headerLength = this.headNeed;
    this.headHave = 0;
    this.headNeed = 8;
    if (top && tag > PIXEL_DATA) throw new Error('elements after Pixel Data'); // trailing padding and the like: not ours to guess
    if (len === UNDEFINED) {
      // A sequence (implicit VR: any undefined length), or encapsulated pixel data: walked as one.
      if (this.explicit && vr !== 'SQ' && vr !== 'UN' && tag !== PIXEL_DATA) throw new Error(`undefined length for ${vr}`);
      if (top && tag === PIXEL_DATA) throw new Error('encapsulated pixel data');
      this.push('sequence');
      return;
    }
    if (top && tag === PIXEL_DATA) {
      this.startPixels(at, len, headerLength);
      this.value(len, 'pixels');
      return;
    }
    if (top && KEPT.has(tag) && len <= 64) {
      this.kept = new Uint8Array(len);
      this.keptTag = tag;
      this.value(len, 'keep');
      return;
    }
    this.value(len, 'skip');
  }

  private push(level: Level): void {
    if (this.levels.length >= MAX_DEPTH) throw new Error('nesting too deep');
    this.levels.push(level);
  }

  private value(len: number, mode: 'skip' | 'keep' | 'pixels'): void {
    this.valueLeft = len;
    this.valueMode = mode;
    if (len === 0) this.valueEnded();
  }

  private valueEnded(): void {
    if (this.valueMode === 'keep') this.geometry.set(this.keptTag, this.kept!);
    else if (this.valueMode === 'pixels') {
      this.endPixels();
      // Nothing after the pixels is the walker's business (a modality's block in 7FE1, trailing
      // padding): the rest only goes into the journal key, and the seal reads it.
      this.walking = false;
    }
    this.valueMode = 'skip';
    this.kept = null;
  }

  private us(tag: number): number | undefined {
    const v = this.geometry.get(tag);
    return v && v.length === 2 ? v[0]! | (v[1]! << 8) : undefined;
  }

  private startPixels(offset: number, length: number, headerLength: number): void {
    if (this.pixels || this.done) throw new Error('a second Pixel Data');
    const { mac, draft } = this.predictMac(offset, length, headerLength) ?? {};
    const rows = this.us(0x00280010) ?? 0;
    const cols = this.us(0x00280011) ?? 0;
    const framesText = this.geometry.get(0x00280008);
    const frames = framesText ? Number(Buffer.from(framesText).toString('latin1').replace(/[\0 ]+$/, '').trim()) : 1;
    const frameBytes = rows * cols * 2;
    const tilable = this.tileSize > 0 && rows > 0 && cols > 0 && (this.us(0x00280002) ?? 1) === 1 && this.us(0x00280100) === 16
      && Number.isInteger(frames) && frames >= 1 && (length === frameBytes * frames);
    const tiles = tilable ? new TileBands(rows, cols, this.tileSize, false) : null;
    this.pixels = { offset, length, hash: createHash('sha256'), tiles, rows, cols, frames, mac, draft };
  }

  /**
   * The MAC's hash fed with what the seal will sign before the pixels, from the bytes received so
   * far: those before Pixel Data and its header with the length 0, in a Part 10 wrapper for the
   * one reader. Undefined when anything is unexpected (the seal then hashes after the last fragment).
   */
  private predictMac(valueOffset: number, length: number, headerLength: number): { mac?: PredictedMac; draft?: PixelDraft } | undefined {
    const chunks = this.prefix;
    this.prefix = null;
    if (!chunks || !this.mac) return undefined;
    const start = valueOffset - headerLength;
    if (start > MAX_PREFIX) return undefined;
    const bytes = new Uint8Array(valueOffset);
    let off = 0;
    for (const c of chunks) {
      if (off >= start) break;
      bytes.set(c.subarray(0, start - off), off);
      off += Math.min(c.length, start - off);
    }
    bytes.set(this.head.subarray(0, headerLength), start);
    bytes.fill(0, valueOffset - 4); // the length: the value is not in the prefix
    const uid = (t: number) => Buffer.from(this.geometry.get(t) ?? []).toString('latin1').replace(/[\0 ]+$/, '');
    try {
      const part10 = wrapPart10({ sopClassUid: uid(SOP_CLASS_UID), sopInstanceUid: uid(SOP_INSTANCE_UID), transferSyntaxUid: this.transferSyntaxUid }, bytes);
      const technologist = this.mac.technologist();
      const mac = this.mac.hashPixels === false ? undefined : predictMac(part10, length, technologist);
      return { mac, draft: this.mac.draft?.(part10, length, technologist) };
    } catch {
      return undefined;
    }
  }

  private pixelBytes(part: Uint8Array): void {
    this.pixels!.hash.update(part);
    this.pixels!.tiles?.update(part);
    this.pixels!.mac?.hash.update(part);
    this.pixels!.draft?.write(part);
  }

  private endPixels(): void {
    const p = this.pixels!;
    this.pixels = null;
    this.pixelsReplaced = true;
    const sha256 = new Uint8Array(p.hash.digest());
    this.whole.update(sha256);
    this.done = { offset: p.offset, length: p.length, sha256, mac: p.mac, draft: p.draft,
      tiles: p.tiles ? { size: this.tileSize, rows: p.rows, cols: p.cols, frames: p.frames, hashes: p.tiles.finish().then((r) => r.hashes, () => null) } : undefined };
  }
}
