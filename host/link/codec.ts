// radseal link protocol, version 2 (docs/LINK.md): pure encode/decode functions
// and an incremental parser that resynchronises after garbage. No I/O here.
import { crc32c, crc32cCombine } from './crc32c.js';

export const PROTOCOL_VERSION = 2;

/**
 * The body CRC is CRC-32C over the header's first 20 bytes and then the body: it binds the body to
 * its header. With a CRC of the body alone (version 1), a packet cut short after its header and
 * followed by another packet took, for a 20-byte body, the next header and its CRC as a valid
 * body, and a chunk header followed, after the right number of lost bytes, by the next chunk's
 * body passed too: line noise forged packets (found by fuzzing).
 */
export function bodyCrc(headerCrc: number, data: Uint8Array, start = 0, end = data.length): number {
  return crc32c(data, headerCrc, start, end);
}
/** Sync word "RSLK" opening every packet. */
export const SYNC = Uint8Array.of(0x52, 0x53, 0x4c, 0x4b);
export const HEADER_BYTES = 24;
export const TRAILER_BYTES = 4;
/** Largest body a v1 packet may carry (a chunk of at most 1 MiB plus nothing else). */
export const MAX_BODY_BYTES = 1 << 20;

export const enum PacketType {
  Begin = 0x02,
  Chunk = 0x03,
  End = 0x04,
  Credit = 0x10,
  Nak = 0x11,
  Ack = 0x12,
  Status = 0x13,
  Error = 0x1f,
}

export const PACKET_TYPE_NAMES: Record<number, string> = {
  0x02: 'BEGIN', 0x03: 'CHUNK', 0x04: 'END', 0x10: 'CREDIT', 0x11: 'NAK', 0x12: 'ACK', 0x13: 'STATUS', 0x1f: 'ERROR',
};

export const enum NakReason {
  /** Ranges list chunks to resend. */
  Missing = 1,
  /** Whole-frame digest mismatch: resend every chunk. */
  Digest = 2,
  /** Host does not know this frame (e.g. it restarted): start again with BEGIN. */
  Unknown = 3,
  /** Frame refused (bad geometry, over the memory budget): do not retry. */
  Rejected = 4,
}

export const enum AckFlags {
  /** The sealed object is durable on the host (always set on a v1 ACK). */
  Durable = 1,
  /** The frame had already been sealed; this BEGIN/END was a duplicate. */
  Duplicate = 2,
}

export const enum StatusCode {
  /** Every chunk arrived and the digest matched; sealing is in progress. Keep waiting. */
  Received = 1,
  /** No frame buffer free; BEGIN again later. */
  Busy = 2,
}

export interface Packet {
  version: number;
  type: number;
  flags: number;
  serial: number;
  index: number;
  body: Uint8Array;
}

export interface FrameGeometry {
  deviceId: string;
  rows: number;
  cols: number;
  bitsStored: number;
  bytesPerPixel: number;
  chunkBytes: number;
  chunkCount: number;
  totalBytes: number;
  /** What the generator/detector measured for this exposure, when it reports it (BEGIN extension record 1). */
  exposure?: LinkExposure;
}

/**
 * Exposure values a detector may report with a frame (docs/LINK.md §2, BEGIN extension record 1):
 * each is sent only when measured, and becomes the matching DICOM attribute; none is ever guessed.
 */
export interface LinkExposure {
  /** Peak kilovoltage, kV (KVP). */
  kvp?: number;
  /** Tube current-time product, µAs (Exposure in µAs; Exposure in mAs = µAs / 1000). */
  exposureUas?: number;
  /** Exposure Index (IEC 62494-1). */
  exposureIndex?: number;
  /** Distance source to detector, mm. */
  distanceSourceToDetectorMm?: number;
}

/** BEGIN extension record types (type u8, length u8, value); a receiver skips types it does not know. */
export const BeginRecord = { Exposure: 1 } as const;
/** Record 1: four u32 LE, in 0.01 kV, µAs, 0.01 EI units and 0.1 mm; NOT_REPORTED where not measured. */
const EXPOSURE_RECORD_BYTES = 16;
const NOT_REPORTED = 0xffffffff;
const EXPOSURE_SCALES: ReadonlyArray<[keyof LinkExposure, number]> = [['kvp', 100], ['exposureUas', 1], ['exposureIndex', 100], ['distanceSourceToDetectorMm', 10]];

function exposureRecord(e: LinkExposure): Uint8Array {
  const out = new Uint8Array(2 + EXPOSURE_RECORD_BYTES);
  const dv = new DataView(out.buffer);
  out[0] = BeginRecord.Exposure;
  out[1] = EXPOSURE_RECORD_BYTES;
  EXPOSURE_SCALES.forEach(([k, scale], i) => {
    const v = e[k];
    const n = v === undefined ? NOT_REPORTED : Math.round(v * scale);
    if (v !== undefined && !(Number.isFinite(v) && n >= 0 && n < NOT_REPORTED)) throw new RangeError(`link: exposure ${k} ${v} cannot be sent`);
    dv.setUint32(2 + i * 4, n, true);
  });
  return out;
}

function decodeExposureRecord(v: Uint8Array): LinkExposure {
  if (v.length !== EXPOSURE_RECORD_BYTES) throw new LinkProtocolError(`BEGIN exposure record of ${v.length} bytes, expected ${EXPOSURE_RECORD_BYTES}`);
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const e: LinkExposure = {};
  EXPOSURE_SCALES.forEach(([k, scale], i) => {
    const n = dv.getUint32(i * 4, true);
    if (n !== NOT_REPORTED) e[k] = n / scale;
  });
  return e;
}

/** Encodes one packet: header (with its CRC), body, body CRC. */
export function encodePacket(type: number, serial: number, index: number, body: Uint8Array = EMPTY, flags = 0, version = PROTOCOL_VERSION): Uint8Array {
  if (body.length > MAX_BODY_BYTES) throw new RangeError(`link: body of ${body.length} bytes exceeds the protocol's limit of ${MAX_BODY_BYTES}`);
  const out = new Uint8Array(HEADER_BYTES + body.length + TRAILER_BYTES);
  writePacket(out, 0, type, serial, index, body, undefined, flags, version);
  return out;
}

/**
 * Writes one packet into `out` at `pos` (HEADER_BYTES + body.length + TRAILER_BYTES bytes) and
 * returns its length. The body is copied once, straight from the caller's view (a sender builds
 * packets in a reused write buffer, no intermediate packet). `knownBodyCrc`: the plain CRC-32C of
 * the body when the caller already has it (a device computes each chunk's once per exposure); it
 * is combined with the header's CRC instead of a second pass over the body.
 */
export function writePacket(out: Uint8Array, pos: number, type: number, serial: number, index: number, body: Uint8Array, knownBodyCrc?: number, flags = 0, version = PROTOCOL_VERSION): number {
  if (body.length > MAX_BODY_BYTES) throw new RangeError(`link: body of ${body.length} bytes exceeds the protocol's limit of ${MAX_BODY_BYTES}`);
  const dv = new DataView(out.buffer, out.byteOffset + pos, HEADER_BYTES + body.length + TRAILER_BYTES);
  out.set(SYNC, pos);
  out[pos + 4] = version;
  out[pos + 5] = type;
  dv.setUint16(6, flags, true);
  dv.setUint32(8, serial >>> 0, true);
  dv.setUint32(12, index >>> 0, true);
  dv.setUint32(16, body.length, true);
  const headerCrc = crc32c(out, 0, pos, pos + 20);
  dv.setUint32(20, headerCrc, true);
  out.set(body, pos + HEADER_BYTES);
  const crc = knownBodyCrc === undefined ? bodyCrc(headerCrc, body) : crc32cCombine(headerCrc, knownBodyCrc, body.length);
  dv.setUint32(HEADER_BYTES + body.length, crc, true);
  return HEADER_BYTES + body.length + TRAILER_BYTES;
}

const EMPTY = new Uint8Array(0);
const te = new TextEncoder();
const td = new TextDecoder();

export function encodeBegin(serial: number, g: FrameGeometry): Uint8Array {
  const id = te.encode(g.deviceId);
  if (id.length === 0 || id.length > 64) throw new RangeError('link: device id must be 1..64 bytes');
  const body = new Uint8Array(1 + id.length + 2 + 2 + 1 + 1 + 4 + 4 + 4);
  const dv = new DataView(body.buffer);
  body[0] = id.length;
  body.set(id, 1);
  let o = 1 + id.length;
  dv.setUint16(o, g.rows, true); o += 2;
  dv.setUint16(o, g.cols, true); o += 2;
  body[o++] = g.bitsStored;
  body[o++] = g.bytesPerPixel;
  dv.setUint32(o, g.chunkBytes, true); o += 4;
  dv.setUint32(o, g.chunkCount, true); o += 4;
  dv.setUint32(o, g.totalBytes, true);
  return encodePacket(PacketType.Begin, serial, 0, g.exposure ? concatBytes(body, exposureRecord(g.exposure)) : body);
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function decodeBegin(body: Uint8Array): FrameGeometry {
  if (body.length < 1) throw new LinkProtocolError('BEGIN body empty');
  const n = body[0];
  if (n === 0 || n > 64 || body.length < 1 + n + 18) throw new LinkProtocolError(`BEGIN body of ${body.length} bytes does not match device id length ${n}`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let o = 1 + n;
  const deviceId = td.decode(body.subarray(1, 1 + n));
  const rows = dv.getUint16(o, true); o += 2;
  const cols = dv.getUint16(o, true); o += 2;
  const bitsStored = body[o++];
  const bytesPerPixel = body[o++];
  const chunkBytes = dv.getUint32(o, true); o += 4;
  const chunkCount = dv.getUint32(o, true); o += 4;
  const totalBytes = dv.getUint32(o, true);
  o += 4;
  const g: FrameGeometry = { deviceId, rows, cols, bitsStored, bytesPerPixel, chunkBytes, chunkCount, totalBytes };
  // Extension records after the fixed fields (docs/LINK.md §2): each whole, each type at most once.
  const seen = new Set<number>();
  while (o < body.length) {
    if (o + 2 > body.length || o + 2 + body[o + 1]! > body.length) throw new LinkProtocolError(`BEGIN extension record at byte ${o} runs past the body`);
    const type = body[o]!;
    const value = body.subarray(o + 2, o + 2 + body[o + 1]!);
    if (seen.has(type)) throw new LinkProtocolError(`BEGIN extension record ${type} twice`);
    seen.add(type);
    if (type === BeginRecord.Exposure) g.exposure = decodeExposureRecord(value);
    o += 2 + value.length;
  }
  return g;
}

/** Checks a BEGIN's numbers against each other and against the receiver's limits; returns a reason or null. */
export function geometryProblem(g: FrameGeometry, limits: { maxChunkBytes: number; maxFrameBytes: number; maxRows: number; maxCols: number }): string | null {
  if (g.rows < 1 || g.cols < 1) return `rows/cols ${g.rows}x${g.cols} must be positive`;
  if (g.rows > limits.maxRows || g.cols > limits.maxCols) return `geometry ${g.rows}x${g.cols} exceeds the board's ${limits.maxRows}x${limits.maxCols}`;
  if (g.bitsStored < 1 || g.bitsStored > 16) return `bitsStored ${g.bitsStored} outside 1..16`;
  if (g.bytesPerPixel !== 2) return `bytesPerPixel ${g.bytesPerPixel} unsupported (v1 carries 16-bit little-endian pixels)`;
  if (g.totalBytes !== g.rows * g.cols * g.bytesPerPixel) return `totalBytes ${g.totalBytes} != rows*cols*bytesPerPixel ${g.rows * g.cols * g.bytesPerPixel}`;
  if (g.chunkBytes < 256 || g.chunkBytes > limits.maxChunkBytes) return `chunkBytes ${g.chunkBytes} outside 256..${limits.maxChunkBytes}`;
  if (g.chunkCount !== Math.ceil(g.totalBytes / g.chunkBytes)) return `chunkCount ${g.chunkCount} != ceil(totalBytes/chunkBytes)`;
  if (g.totalBytes > limits.maxFrameBytes) return `frame of ${g.totalBytes} bytes exceeds the memory budget of ${limits.maxFrameBytes}`;
  return g.exposure ? exposureProblem(g.exposure) : null;
}

/** Values no X-ray exposure has: a device fault, never signed into an image. */
function exposureProblem(e: LinkExposure): string | null {
  if (e.kvp !== undefined && (e.kvp < 10 || e.kvp > 200)) return `exposure kVp ${e.kvp} outside 10..200 kV`;
  if (e.exposureUas !== undefined && (e.exposureUas <= 0 || e.exposureUas > 2_000_000)) return `exposure ${e.exposureUas} µAs outside 0..2000 mAs`;
  if (e.exposureIndex !== undefined && e.exposureIndex > 100_000) return `Exposure Index ${e.exposureIndex} over 100000`;
  if (e.distanceSourceToDetectorMm !== undefined && (e.distanceSourceToDetectorMm < 50 || e.distanceSourceToDetectorMm > 10_000)) return `source to detector distance ${e.distanceSourceToDetectorMm} mm outside 50..10000`;
  return null;
}

export function encodeChunk(serial: number, index: number, payload: Uint8Array): Uint8Array {
  return encodePacket(PacketType.Chunk, serial, index, payload);
}

export function encodeEnd(serial: number, chunkCount: number, sha256: Uint8Array): Uint8Array {
  if (sha256.length !== 32) throw new RangeError('link: END carries a 32-byte SHA-256');
  return encodePacket(PacketType.End, serial, chunkCount, sha256);
}

export function encodeCredit(serial: number, grantedChunks: number): Uint8Array {
  return encodePacket(PacketType.Credit, serial, grantedChunks);
}

/** Missing-chunk ranges as [start, count] pairs. */
export type Ranges = Array<[number, number]>;

export function encodeNak(serial: number, reason: NakReason, ranges: Ranges = []): Uint8Array {
  const body = new Uint8Array(4 + ranges.length * 8);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, ranges.length, true);
  ranges.forEach(([s, c], i) => {
    dv.setUint32(4 + i * 8, s, true);
    dv.setUint32(8 + i * 8, c, true);
  });
  return encodePacket(PacketType.Nak, serial, reason, body);
}

export function decodeNak(p: Packet): { reason: number; ranges: Ranges } {
  const dv = new DataView(p.body.buffer, p.body.byteOffset, p.body.byteLength);
  if (p.body.length < 4) throw new LinkProtocolError('NAK body too short');
  const n = dv.getUint32(0, true);
  if (p.body.length !== 4 + n * 8) throw new LinkProtocolError('NAK range count does not match body');
  const ranges: Ranges = [];
  for (let i = 0; i < n; i++) ranges.push([dv.getUint32(4 + i * 8, true), dv.getUint32(8 + i * 8, true)]);
  return { reason: p.index, ranges };
}

export function encodeAck(serial: number, flags: number): Uint8Array {
  return encodePacket(PacketType.Ack, serial, 0, EMPTY, flags);
}

export function encodeStatus(serial: number, code: StatusCode): Uint8Array {
  return encodePacket(PacketType.Status, serial, code);
}

export function encodeError(serial: number, code: number, message: string): Uint8Array {
  return encodePacket(PacketType.Error, serial, code, te.encode(message.slice(0, 512)));
}

export function decodeText(body: Uint8Array): string {
  return td.decode(body);
}

/** Turns a sorted list of chunk indices into [start, count] ranges. */
export function toRanges(indices: Iterable<number>, maxRanges = 256): Ranges {
  const out: Ranges = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === i) last[1]++;
    else {
      if (out.length === maxRanges) break;
      out.push([i, 1]);
    }
  }
  return out;
}

export class LinkProtocolError extends Error {
  override name = 'LinkProtocolError';
}

/** What the parser reports besides good packets; the link keeps going after each of these. */
export type ParseEvent =
  | { kind: 'packet'; packet: Packet }
  | { kind: 'garbage'; bytes: number }
  | { kind: 'bad-header-crc' }
  | { kind: 'truncated' }
  | { kind: 'oversize'; bodyLength: number; type: number }
  | { kind: 'version'; version: number; type: number; serial: number }
  | { kind: 'bad-body-crc'; type: number; serial: number; index: number; bodyLength: number };

/**
 * Incremental packet parser. Feed it bytes in any split; it yields packets and
 * problems. After any problem it resumes the search for the sync word one byte
 * after the failed packet's start, so a packet hidden inside a truncated
 * packet's would-be body is still found.
 */
export class PacketParser {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private garbage = 0;

  /**
   * `views`: packet bodies are views into the parser's buffer, valid only until the next push()
   * (no copy per packet; for a caller that consumes each packet at once, like the receiver,
   * which copies chunks straight into core memory). Default: bodies are copies.
   */
  constructor(private readonly maxBody = MAX_BODY_BYTES, private readonly views = false) {}

  /** Bytes held waiting for the rest of a packet. */
  get pending(): number {
    return this.end - this.start;
  }

  private lastPush = 0;
  private lastCheck = 0;

  push(data: Uint8Array): ParseEvent[] {
    this.lastPush = Date.now();
    this.append(data);
    const events: ParseEvent[] = [];
    for (;;) {
      const ev = this.next();
      if (!ev) break;
      events.push(ev);
    }
    return events;
  }

  /**
   * Inter-byte timeout: when an incomplete packet has waited `gapMs` with no new
   * bytes, it was truncated. Give up on it and rescan what followed its sync word
   * (e.g. an END that a long truncated chunk's announced length would swallow).
   */
  expire(gapMs: number, now = Date.now()): ParseEvent[] {
    // If the caller's event loop was blocked (a long seal, frame generation), bytes may be
    // sitting unread in the OS buffer: that is not a silent line. Restart the gap clock.
    const blocked = now - this.lastCheck > gapMs / 2;
    this.lastCheck = now;
    if (blocked) {
      this.lastPush = Math.max(this.lastPush, now);
      return [];
    }
    if (this.end - this.start === 0 || now - this.lastPush < gapMs) return [];
    this.start++;
    this.garbage++;
    const events: ParseEvent[] = [{ kind: "truncated" }];
    for (;;) {
      const ev = this.next();
      if (!ev) break;
      events.push(ev);
    }
    this.lastPush = now;
    return events;
  }

  /** Drops everything buffered (used when a transport reconnects). */
  reset(): void {
    this.start = this.end = 0;
    this.garbage = 0;
  }

  private append(data: Uint8Array): void {
    const need = this.end - this.start + data.length;
    if (this.end + data.length > this.buf.length) {
      if (need <= this.buf.length && this.start > 0 && this.start >= this.buf.length / 2) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const nb = new Uint8Array(Math.max(need * 2, 64 * 1024));
        nb.set(this.buf.subarray(this.start, this.end));
        this.buf = nb;
      }
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(data, this.end);
    this.end += data.length;
  }

  private flushGarbage(): ParseEvent | null {
    if (this.garbage === 0) return null;
    const ev: ParseEvent = { kind: 'garbage', bytes: this.garbage };
    this.garbage = 0;
    return ev;
  }

  private next(): ParseEvent | null {
    const b = this.buf;
    // Find the sync word.
    while (this.end - this.start >= 4) {
      const s = this.start;
      if (b[s] === 0x52 && b[s + 1] === 0x53 && b[s + 2] === 0x4c && b[s + 3] === 0x4b) break;
      this.start++;
      this.garbage++;
    }
    if (this.end - this.start < HEADER_BYTES) return this.end - this.start >= 4 ? this.flushGarbage() : null;
    const g = this.flushGarbage();
    if (g) return g;
    const s = this.start;
    const dv = new DataView(b.buffer, b.byteOffset + s, HEADER_BYTES);
    if (dv.getUint32(20, true) !== crc32c(b, 0, s, s + 20)) {
      this.start++;
      this.garbage += 1;
      return { kind: 'bad-header-crc' };
    }
    const version = b[s + 4];
    const type = b[s + 5];
    const serial = dv.getUint32(8, true);
    const bodyLength = dv.getUint32(16, true);
    if (version !== PROTOCOL_VERSION) {
      // A well-formed header from another protocol version: skip the header only;
      // we cannot trust its length field's meaning.
      this.start += HEADER_BYTES;
      return { kind: 'version', version, type, serial };
    }
    if (bodyLength > this.maxBody) {
      this.start += HEADER_BYTES;
      return { kind: 'oversize', bodyLength, type };
    }
    const total = HEADER_BYTES + bodyLength + TRAILER_BYTES;
    if (this.end - s < total) return null;
    const bodyStart = s + HEADER_BYTES;
    const got = new DataView(b.buffer, b.byteOffset + bodyStart + bodyLength, 4).getUint32(0, true);
    const index = dv.getUint32(12, true);
    if (got !== bodyCrc(dv.getUint32(20, true), b, bodyStart, bodyStart + bodyLength)) {
      // Header was good, so we know which chunk was damaged; rescan from the next byte.
      this.start++;
      this.garbage += 1;
      return { kind: 'bad-body-crc', type, serial, index, bodyLength };
    }
    const packet: Packet = { version, type, flags: dv.getUint16(6, true), serial, index, body: this.views ? b.subarray(bodyStart, bodyStart + bodyLength) : b.slice(bodyStart, bodyStart + bodyLength) };
    this.start = s + total;
    return { kind: 'packet', packet };
  }
}
