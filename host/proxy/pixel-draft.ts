// The sealed file's pixels written to the outbox while they arrive. The seal puts the pixel value
// after a head whose length is predicted when the pixels start (seal-received.ts sealedHeadLength),
// so each arriving piece can go to its final offset in a draft file (host/io/atomic.ts DraftFile,
// in the outbox's tmp/) on the thread pool; after the seal only the head, the tail and a short
// fsync are left (Outbox.putDraft). The seal's real head is compared with the prediction first.
// With the site watermark the pixels stored are not the ones received: the draft then only counts
// what arrives, and takes the marked value once it is final (give), before the seal hashes it, so
// the write and most of its fsync run on the thread pool while the MAC is computed.
import type { DraftFile } from '../io/atomic.js';

/** Contiguous pixel bytes gathered into one write (fewer thread-pool round trips than one per P-DATA piece). */
const WRITE_BYTES = 1 << 20;
/** A draft no one took this long after its last piece: its object was abandoned mid-way (association gone). */
const ABANDONED_MS = 120_000;
const SWEEP_MS = 30_000;

const open = new Set<PixelDraft>();
let sweeper: NodeJS.Timeout | null = null;

function sweep(): void {
  const now = performance.now();
  for (const d of open) if (now - d.lastActivity > ABANDONED_MS) void d.abort();
  if (open.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

export class PixelDraft {
  /** The head's predicted length; null while the dry run runs, undefined once given up. */
  private headLength: number | null | undefined = null;
  private readonly head: Promise<number | undefined>;
  private run: { buffer: ArrayBufferLike; offset: number; length: number; at: number } | null = null;
  private received = 0;
  private waiting: { bytes: Uint8Array; at: number }[] = [];
  /** The value written in place of the received one (give), when pixels are 'given later'. */
  private given = false;
  lastActivity = performance.now();

  /** `pixels`: 'as received' writes each piece as it arrives; 'given later' waits for give(). */
  constructor(readonly file: DraftFile, head: Promise<number | undefined>, readonly pixelLength: number, readonly pixels: 'as received' | 'given later' = 'as received') {
    open.add(this);
    sweeper ??= setInterval(sweep, SWEEP_MS).unref();
    this.head = head.then((h) => {
      if (this.headLength === undefined) return undefined; // aborted meanwhile
      this.headLength = h;
      if (h === undefined) void this.abort();
      else for (const w of this.waiting.splice(0)) this.file.write(w.bytes, h + w.at);
      return h;
    });
  }

  /** The next piece of the pixel value, as received (left untouched by the caller until take() or abort()). */
  write(part: Uint8Array): void {
    if (this.headLength === undefined) return;
    if (this.pixels === 'given later') {
      this.received += part.length;
      this.lastActivity = performance.now();
      return;
    }
    const r = this.run;
    if (r && part.buffer === r.buffer && part.byteOffset === r.offset + r.length) r.length += part.length;
    else {
      this.flush();
      this.run = { buffer: part.buffer, offset: part.byteOffset, length: part.length, at: this.received };
    }
    this.received += part.length;
    if (this.run!.length >= WRITE_BYTES) this.flush();
  }

  private flush(): void {
    const r = this.run;
    if (!r) return;
    this.run = null;
    this.put(new Uint8Array(r.buffer, r.offset, r.length), r.at);
  }

  private put(bytes: Uint8Array, at: number): void {
    this.lastActivity = performance.now();
    if (this.headLength === null) this.waiting.push({ bytes, at });
    else if (this.headLength !== undefined) this.file.write(bytes, this.headLength + at);
  }

  /**
   * The whole pixel value the sealed file will hold (the marked pixels), once, when the draft's
   * pixels are 'given later' (the draft file writes it in pieces, its fdatasyncs starting while the
   * rest is still being written). The caller leaves `value` untouched until take() or abort().
   */
  give(value: Uint8Array): void {
    if (this.pixels !== 'given later' || this.given || value.length !== this.pixelLength) return;
    this.given = true;
    this.put(value, 0);
  }

  /**
   * The object is in: every pixel byte is written or being written. The predicted head length, or
   * undefined when the draft is of no use (given up, a write failed, pixels missing): abort it then.
   */
  async take(): Promise<number | undefined> {
    open.delete(this);
    this.flush();
    const h = await this.head;
    const written = this.pixels === 'as received' || this.given;
    return h !== undefined && written && this.received === this.pixelLength && !this.file.failed ? h : undefined;
  }

  /** Gives the draft up: nothing of it stays in tmp/. */
  abort(): Promise<void> {
    open.delete(this);
    this.headLength = undefined;
    this.waiting = [];
    this.run = null;
    return this.file.abort();
  }
}
