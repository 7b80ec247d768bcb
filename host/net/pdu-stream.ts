// Receiving side of the upper layer (PS3.8 9.3) as a byte stream: PDUs that
// carry data sets (P-DATA-TF) are never assembled whole. Their presentation data
// values go out piece by piece as the socket delivers them, straight into one
// buffer per data set (ObjectBuffer), so a 19 MB object is copied once on its
// way in, not once per PDU reassembly and once more into a file.
import { DicomNetError } from './cstore.js';

export interface PduStreamHandler {
  /** A whole PDU other than P-DATA-TF (association, release, abort: small). */
  pdu(type: number, body: Uint8Array): void;
  /** A presentation data value item starts: its context, control header and value length. */
  pdvStart(pcid: number, control: number, length: number): void;
  /** The next bytes of the current value, in order (a view of the socket's chunk: copy to keep). */
  pdvBytes(piece: Uint8Array): void;
  /** The current value is complete. */
  pdvEnd(): void;
}

type State = 'pdu-head' | 'pdu-body' | 'pdv-head' | 'pdv-value';

/** Splits a byte stream into PDUs, and P-DATA-TF PDUs into value pieces, as it arrives. */
export class PduStream {
  private state: State = 'pdu-head';
  private readonly head = new Uint8Array(6);
  private headHave = 0;
  private pduType = 0;
  /** Bytes of the current PDU body still to come. */
  private pduLeft = 0;
  private body: Uint8Array | null = null;
  private bodyHave = 0;
  /** Bytes of the current value still to come. */
  private pdvLeft = 0;
  /** A handler call stopped the stream (it aborted the association): nothing more is read. */
  stopped = false;

  constructor(private readonly maxPduBody: number, private readonly h: PduStreamHandler) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.stopped) {
      switch (this.state) {
        case 'pdu-head': {
          at = this.fillHead(chunk, at, 6);
          if (this.headHave < 6) break;
          this.headHave = 0;
          this.pduType = this.head[0]!;
          const len = new DataView(this.head.buffer).getUint32(2, false);
          if (len > this.maxPduBody) throw new DicomNetError(`PDU of ${len} bytes exceeds the limit ${this.maxPduBody}`, false);
          this.pduLeft = len;
          if (this.pduType === 0x04) {
            this.state = 'pdv-head';
          } else {
            this.body = new Uint8Array(len);
            this.bodyHave = 0;
            this.state = 'pdu-body';
          }
          this.endOfPdu();
          break;
        }
        case 'pdu-body': {
          const n = Math.min(this.pduLeft, chunk.length - at);
          this.body!.set(chunk.subarray(at, at + n), this.bodyHave);
          this.bodyHave += n;
          this.pduLeft -= n;
          at += n;
          this.endOfPdu();
          break;
        }
        case 'pdv-head': {
          if (this.pduLeft < 6) throw new DicomNetError(`P-DATA-TF PDU ends inside a presentation data value item header (${this.pduLeft} bytes left)`, false);
          at = this.fillHead(chunk, at, 6);
          if (this.headHave < 6) break;
          this.headHave = 0;
          this.pduLeft -= 6;
          const itemLength = new DataView(this.head.buffer).getUint32(0, false);
          if (itemLength < 2 || itemLength - 2 > this.pduLeft) {
            throw new DicomNetError(`presentation data value item of length ${itemLength} does not fit its P-DATA-TF PDU (${this.pduLeft + 2} bytes left)`, false);
          }
          this.pdvLeft = itemLength - 2;
          this.state = 'pdv-value';
          this.h.pdvStart(this.head[4]!, this.head[5]!, this.pdvLeft);
          if (this.pdvLeft === 0) this.endOfPdv();
          break;
        }
        case 'pdv-value': {
          const n = Math.min(this.pdvLeft, chunk.length - at);
          const piece = chunk.subarray(at, at + n);
          at += n;
          this.pdvLeft -= n;
          this.pduLeft -= n;
          this.h.pdvBytes(piece);
          if (this.pdvLeft === 0) this.endOfPdv();
          break;
        }
      }
    }
  }

  private fillHead(chunk: Uint8Array, at: number, need: number): number {
    const n = Math.min(need - this.headHave, chunk.length - at);
    this.head.set(chunk.subarray(at, at + n), this.headHave);
    this.headHave += n;
    return at + n;
  }

  private endOfPdv(): void {
    this.h.pdvEnd();
    this.state = this.pduLeft > 0 ? 'pdv-head' : 'pdu-head';
  }

  /** A non-data PDU whose body is all in is handed over; a P-DATA-TF PDU with no items ends at once. */
  private endOfPdu(): void {
    if (this.pduLeft > 0) return;
    if (this.state === 'pdu-body') {
      const body = this.body!;
      this.body = null;
      this.state = 'pdu-head';
      this.h.pdu(this.pduType, body);
    } else if (this.state === 'pdv-head') {
      this.state = 'pdu-head';
    }
  }
}

/** Room a Part 10 header built from an association takes at most: preamble, meta elements, four UIDs and an AE title. */
const MAX_META_HEADER = 1024;

/**
 * One data set's bytes as they arrive, in one buffer with spare room before and after (for the Part 10
 * header, and for a writer that encodes a file around a value where it lies). Sized from a guess (the
 * last object's size) and grown by doubling when the guess was short.
 */
export class ObjectBuffer {
  private buf: Uint8Array;
  private used = 0;
  private readonly start: number;

  /** `recycled`: a buffer an earlier object no longer needs, used when large enough (fresh memory costs page faults: ~15 ms per 19 MB). */
  constructor(expectedBytes: number, private readonly room: (bytes: number) => { before: number; after: number }, recycled?: Uint8Array) {
    const r = room(expectedBytes);
    this.start = MAX_META_HEADER + r.before;
    const size = this.start + expectedBytes + r.after;
    this.buf = recycled && recycled.length >= size && recycled.length <= 2 * size + (1 << 20) ? recycled : new Uint8Array(size);
  }

  /** The whole buffer (for recycling once nothing reads the object any more). */
  get backing(): Uint8Array {
    return this.buf;
  }

  get length(): number {
    return this.used;
  }

  /** Copies `piece` in after what came before; returns where it now lies (a view into this buffer). */
  append(piece: Uint8Array): Uint8Array {
    const end = this.start + this.used + piece.length;
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, this.start + 2 * (this.used + piece.length)) + this.room(this.used + piece.length).after);
      grown.set(this.buf.subarray(0, this.start + this.used));
      this.buf = grown;
    }
    const at = this.start + this.used;
    this.buf.set(piece, at);
    this.used += piece.length;
    return this.buf.subarray(at, at + piece.length);
  }

  /**
   * The Part 10 file: `header` then the data set, in this buffer when the room around it is enough
   * (and not far more than the object needs), else in a new buffer of the right size (one copy).
   */
  finish(header: Uint8Array): Uint8Array {
    const r = this.room(this.used);
    const before = this.start - header.length;
    const after = this.buf.length - this.start - this.used;
    const oversized = this.buf.length > 2 * (this.start + this.used + r.after) + (1 << 20);
    if (header.length <= MAX_META_HEADER && before >= r.before && after >= r.after && !oversized) {
      this.buf.set(header, before);
      return this.buf.subarray(before, this.start + this.used);
    }
    const out = new Uint8Array(new ArrayBuffer(r.before + header.length + this.used + r.after), r.before, header.length + this.used);
    out.set(header);
    out.set(this.buf.subarray(this.start, this.start + this.used), header.length);
    return out;
  }
}
