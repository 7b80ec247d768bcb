// Device side of the link (docs/LINK.md §4): what a detector's firmware does.
// Used by the simulator; kept here beside the receiver so both halves of the
// protocol live in one place. Sends BEGIN, chunks within the host's credit,
// END with the frame's SHA-256; resends on NAK; re-BEGINs/re-ENDs on timeout
// with exponential backoff; resolves a frame only on the host's durable ACK.
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import {
  AckFlags, NakReason, PacketParser, PacketType, StatusCode,
  HEADER_BYTES, TRAILER_BYTES, decodeNak, decodeText, encodeBegin, writePacket, type FrameGeometry, type LinkExposure, type Packet,
} from './codec.js';
import { crc32c } from './crc32c.js';
import { LinePacer } from './pacer.js';
import type { Transport } from './transport.js';

export interface DeviceOptions {
  deviceId: string;
  chunkBytes: number;
  /** Frames that may be outstanding (sent, not yet ACKed) at once. */
  framesInFlight: number;
  ackTimeoutMs: number;
  maxAckTimeoutMs: number;
  /** Timeouts in a row before a frame is given up (the detector reports "not stored"). */
  maxRetries: number;
  /**
   * Packets are built in place in a write buffer and handed to the transport this many bytes at
   * a time (default 64 KiB; never less than one chunk packet). See docs/LINK.md §6b.
   */
  writeBytes?: number;
  /** Optional pacing of the device's output to a line rate (a pty ignores baud rate): LinePacer. */
  bytesPerSec?: number;
  log?: (m: string) => void;
}

export interface PacketMeta {
  type: number;
  serial: number;
  index: number;
}

/**
 * Writes one encoded packet (fault injection hook); returns false when the caller must wait for
 * 'drain'. `t.write` here appends to the device's current write buffer.
 */
export type PacketWriter = (t: Transport, bytes: Uint8Array, meta: PacketMeta) => boolean;

export interface DeviceFrame {
  serial: number;
  rows: number;
  cols: number;
  bitsStored: number;
  /** rows*cols 16-bit little-endian pixels. */
  data: Uint8Array;
  /** SHA-256 of data when the caller already has it (a detector computes it once per exposure). */
  sha256?: Uint8Array;
  /** What the generator/detector measured for this exposure: sent in BEGIN (docs/LINK.md §2). */
  exposure?: LinkExposure;
  /**
   * CRC-32C of each chunk (chunkCrcs(data, chunkBytes)) when the caller already has them: a
   * detector's readout path (FPGA/DMA, or an MCU's CRC unit) can compute them at exposure time,
   * like the digest. Computed on first send otherwise.
   */
  chunkCrcs?: Uint32Array;
}

/** CRC-32C of each chunkBytes-long piece of a frame (the last may be shorter); bound to each packet's header when sent. */
export function chunkCrcs(data: Uint8Array, chunkBytes: number): Uint32Array {
  const out = new Uint32Array(Math.ceil(data.length / chunkBytes));
  for (let i = 0; i < out.length; i++) out[i] = crc32c(data, 0, i * chunkBytes, Math.min(data.length, (i + 1) * chunkBytes));
  return out;
}

type Phase = 'begin' | 'send' | 'end' | 'received';

interface TxFrame {
  serial: number;
  g: FrameGeometry;
  data: Uint8Array;
  sha: Uint8Array;
  /** CRC-32C of each chunk, computed the first time the chunk is sent (resends reuse it). */
  crcs: Uint32Array;
  crcKnown: Uint8Array;
  phase: Phase;
  beginSent: boolean;
  credit: number;
  nextNew: number;
  resend: number[];
  queued: Uint8Array;
  lastActivity: number;
  timeout: number;
  retries: number;
  resolve: (r: { duplicate: boolean }) => void;
  reject: (e: Error) => void;
}

export interface DeviceStats {
  framesSent: number;
  framesAcked: number;
  duplicatesAcked: number;
  chunksSent: number;
  chunksResent: number;
  timeouts: number;
  bytesOut: number;
  /** Time spent with chunks to send but no credit from the host (the host's pace). */
  creditWaitMs: number;
  /** Time spent waiting for the transport to drain (the line's pace). */
  drainWaitMs: number;
}

export class LinkDevice extends EventEmitter {
  readonly stats: DeviceStats = { framesSent: 0, framesAcked: 0, duplicatesAcked: 0, chunksSent: 0, chunksResent: 0, timeouts: 0, bytesOut: 0, creditWaitMs: 0, drainWaitMs: 0 };
  private creditWaitFrom = 0;
  private drainWaitFrom = 0;
  private transport: Transport | null = null;
  private readonly parser = new PacketParser();
  private readonly frames: TxFrame[] = [];
  private blocked = false;
  private pausedUntil = 0;
  private pumpTimer: NodeJS.Timeout | null = null;
  private readonly ticker: NodeJS.Timeout;
  private readonly log: (m: string) => void;
  private readonly pacer: LinePacer | null;
  /** Default: no hook; packets are built straight into the write buffer. */
  writer: PacketWriter | null = null;
  private readonly writeBytes: number;
  private readonly bufferBytes: number;
  private batch: Uint8Array | null = null;
  private fill = 0;
  private readonly pool: Uint8Array[] = [];
  /** What a fault-injection writer sees as the transport: appends to the write buffer. */
  private readonly sink = { write: (b: Uint8Array) => this.append(b) } as unknown as Transport;
  /** Hook for bytes arriving from the host (the simulator's fault injection damages them here). */
  rxFilter: (d: Uint8Array) => Uint8Array = (d) => d;

  constructor(private readonly o: DeviceOptions) {
    super();
    this.log = o.log ?? (() => {});
    this.writeBytes = o.writeBytes ?? 64 * 1024;
    this.pacer = o.bytesPerSec ? new LinePacer(o.bytesPerSec) : null;
    // A write buffer holds writeBytes plus one more packet: it is handed over once it holds at
    // least writeBytes, so writes are never smaller than writeBytes while chunks are flowing.
    this.bufferBytes = this.writeBytes + HEADER_BYTES + o.chunkBytes + TRAILER_BYTES;
    this.ticker = setInterval(() => this.tick(), 25);
    // Like the receiver's: a device someone forgot to close() must not keep the process alive
    // (the transport's own handle does that while a link is up).
    this.ticker.unref();
  }

  attach(t: Transport): void {
    this.transport = t;
    this.parser.reset();
    this.blocked = false;
    this.batch = null; // bytes meant for a previous connection
    this.fill = 0;
    t.on('data', (d: Uint8Array) => this.onData(d));
    t.on('drain', () => {
      this.blocked = false;
      if (this.drainWaitFrom) this.stats.drainWaitMs += performance.now() - this.drainWaitFrom;
      this.drainWaitFrom = 0;
      this.pump();
    });
    t.once('close', () => {
      if (this.transport === t) this.transport = null;
    });
    // A new connection: the host may have lost everything. Start every unfinished frame over
    // with BEGIN (the host resumes partial frames and re-ACKs sealed ones).
    for (const f of this.frames) {
      if (f.phase === 'received') f.lastActivity = 0;
      else {
        f.phase = 'begin';
        f.beginSent = false;
      }
    }
    this.pump();
  }

  /**
   * Resolves when another frame may be queued: no other frame still has chunks to send (its
   * END is out), and fewer than framesInFlight frames are unACKed. The next BEGIN so goes out
   * while the previous frame's last chunks are still in the pipe, and its CREDIT is back by
   * the time they have drained (no idle round trip between frames).
   */
  async room(): Promise<void> {
    while (this.frames.some((f) => f.phase === 'begin' || f.phase === 'send') || this.frames.length >= this.o.framesInFlight) {
      await new Promise((r) => this.once('room', r));
    }
  }

  /** Queues a frame; resolves on the host's durable ACK. */
  send(fr: DeviceFrame): Promise<{ duplicate: boolean }> {
    const totalBytes = fr.rows * fr.cols * 2;
    if (fr.data.length !== totalBytes) throw new RangeError(`device: frame data is ${fr.data.length} bytes, expected ${totalBytes}`);
    const chunkCount = Math.ceil(totalBytes / this.o.chunkBytes);
    if (fr.chunkCrcs && fr.chunkCrcs.length !== chunkCount) throw new RangeError(`device: ${fr.chunkCrcs.length} chunk CRCs for ${chunkCount} chunks of ${this.o.chunkBytes} bytes`);
    const g: FrameGeometry = {
      deviceId: this.o.deviceId, rows: fr.rows, cols: fr.cols, bitsStored: fr.bitsStored, bytesPerPixel: 2,
      chunkBytes: this.o.chunkBytes, chunkCount, totalBytes, ...(fr.exposure ? { exposure: fr.exposure } : {}),
    };
    return new Promise((resolve, reject) => {
      this.frames.push({
        serial: fr.serial, g, data: fr.data, sha: fr.sha256 ?? new Uint8Array(createHash('sha256').update(fr.data).digest()),
        crcs: fr.chunkCrcs ?? new Uint32Array(chunkCount), crcKnown: new Uint8Array(chunkCount).fill(fr.chunkCrcs ? 1 : 0), phase: 'begin', beginSent: false, credit: 0, nextNew: 0,
        resend: [], queued: new Uint8Array(chunkCount), lastActivity: Date.now(), timeout: this.o.ackTimeoutMs, retries: 0,
        resolve, reject,
      });
      this.stats.framesSent++;
      this.pump();
    });
  }

  /** Stops sending for `ms` (fault injection: a stalled detector). */
  pause(ms: number): void {
    this.pausedUntil = Date.now() + ms;
    this.schedulePump(ms);
  }

  get outstanding(): number {
    return this.frames.length;
  }

  close(): void {
    clearInterval(this.ticker);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    for (const f of this.frames.splice(0)) f.reject(new Error('device closed'));
  }

  private schedulePump(ms: number): void {
    if (this.pumpTimer) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = null;
      this.pump();
    }, ms);
  }

  /**
   * Sends one packet: built in place in the current write buffer (one copy of the payload, no
   * packet allocation), or, with a fault-injection writer, encoded on its own and passed through
   * the hook. Returns false once the transport asked us to wait for 'drain'.
   */
  private write(meta: PacketMeta, body: Uint8Array, bodyCrc?: number): boolean {
    const n = HEADER_BYTES + body.length + TRAILER_BYTES;
    this.stats.bytesOut += n;
    this.pacer?.note(n);
    if (this.writer) {
      const pkt = new Uint8Array(n);
      writePacket(pkt, 0, meta.type, meta.serial, meta.index, body, bodyCrc);
      if (!this.writer(this.sink, pkt, meta)) this.blocked = true;
    } else {
      const buf = this.reserve(n);
      this.fill += writePacket(buf, this.fill, meta.type, meta.serial, meta.index, body, bodyCrc);
    }
    if (this.fill >= this.writeBytes) this.flush();
    return !this.blocked;
  }

  /** Appends bytes to the write buffer (the fault writer's view of the transport). */
  private append(b: Uint8Array): boolean {
    const buf = this.reserve(b.length);
    buf.set(b, this.fill);
    this.fill += b.length;
    return !this.blocked;
  }

  /** The current write buffer with room for n more bytes (flushing the full one first). */
  private reserve(n: number): Uint8Array {
    if (this.batch && this.fill + n > this.batch.length) this.flush();
    if (!this.batch) {
      this.batch = n <= this.bufferBytes ? (this.pool.pop() ?? new Uint8Array(this.bufferBytes)) : new Uint8Array(n);
      this.fill = 0;
    }
    return this.batch;
  }

  /**
   * Hands the write buffer to the transport. It is written from that buffer, so it returns to
   * the pool only when the transport reports it written; the pool stays small because the
   * device stops at the transport's highWaterMark ('drain').
   */
  private flush(): void {
    const buf = this.batch;
    if (!buf || this.fill === 0) return;
    const n = this.fill;
    this.batch = null;
    this.fill = 0;
    const t = this.transport;
    if (!t || t.closed) {
      this.blocked = true;
      return;
    }
    const release = () => {
      if (buf.length === this.bufferBytes && this.pool.length < 8) this.pool.push(buf);
    };
    if (!t.write(buf.subarray(0, n), release)) {
      this.blocked = true;
      this.drainWaitFrom ||= performance.now();
    }
  }

  private sendBegin(f: TxFrame): boolean {
    // BEGIN/END are tiny and rare: encode them the plain way, then through the same buffer.
    const p = encodeBegin(f.serial, f.g);
    return this.write({ type: PacketType.Begin, serial: f.serial, index: 0 }, p.subarray(HEADER_BYTES, p.length - TRAILER_BYTES));
  }

  private sendEnd(f: TxFrame): boolean {
    return this.write({ type: PacketType.End, serial: f.serial, index: f.g.chunkCount }, f.sha);
  }

  /** True when pacing says wait; schedules the pump. */
  private paced(): boolean {
    const wait = this.pacer?.waitMs() ?? 0;
    if (wait === 0) return false;
    this.schedulePump(Math.max(1, wait));
    return true;
  }

  private pump(): void {
    this.pumpPackets();
    this.flush();
  }

  private pumpPackets(): void {
    const t = this.transport;
    if (!t || t.closed || this.blocked) return;
    const now = Date.now();
    if (now < this.pausedUntil) return this.schedulePump(this.pausedUntil - now);
    for (const f of this.frames) {
      if (f.phase === 'received' || f.phase === 'end') continue;
      if (f.phase === 'begin') {
        if (!f.beginSent) {
          f.beginSent = true;
          f.lastActivity = now;
          this.sendBegin(f);
        }
        return; // wait for CREDIT before anything later
      }
      // phase 'send'
      for (;;) {
        if (this.blocked || this.paced()) return;
        const i = this.nextChunk(f);
        if (i < 0) break;
        const start = i * f.g.chunkBytes;
        const payload = f.data.subarray(start, Math.min(start + f.g.chunkBytes, f.g.totalBytes));
        f.lastActivity = Date.now();
        this.stats.chunksSent++;
        if (!f.crcKnown[i]) {
          f.crcs[i] = crc32c(payload);
          f.crcKnown[i] = 1;
        }
        this.write({ type: PacketType.Chunk, serial: f.serial, index: i }, payload, f.crcs[i]);
        if (Date.now() < this.pausedUntil) return this.schedulePump(this.pausedUntil - Date.now());
      }
      if (f.resend.length === 0 && f.nextNew >= f.g.chunkCount) {
        f.phase = 'end';
        f.lastActivity = Date.now();
        queueMicrotask(() => this.emit('room'));
        this.sendEnd(f);
        continue;
      }
      this.creditWaitFrom ||= performance.now();
      return; // out of credit
    }
  }

  private nextChunk(f: TxFrame): number {
    while (f.resend.length) {
      const i = f.resend[0];
      if (i >= f.credit) break;
      f.resend.shift();
      f.queued[i] = 0;
      this.stats.chunksResent++;
      return i;
    }
    if (f.nextNew < f.credit && f.nextNew < f.g.chunkCount) return f.nextNew++;
    return -1;
  }

  private onData(d: Uint8Array): void {
    for (const ev of this.parser.push(this.rxFilter(d))) {
      if (ev.kind === 'packet') this.onPacket(ev.packet);
      else if (ev.kind === 'version') this.log(`device: host sent protocol version ${ev.version}; ignored`);
    }
    this.pump();
  }

  private find(serial: number): TxFrame | undefined {
    return this.frames.find((f) => f.serial === serial);
  }

  private onPacket(p: Packet): void {
    if (p.type === PacketType.Error) {
      this.emit('host-error', { serial: p.serial, code: p.index, message: decodeText(p.body) });
      this.log(`device: host error ${p.index} on #${p.serial}: ${decodeText(p.body)}`);
      return;
    }
    const f = this.find(p.serial);
    if (!f) return;
    const now = Date.now();
    f.lastActivity = now;
    f.retries = 0;
    f.timeout = this.o.ackTimeoutMs;
    switch (p.type) {
      case PacketType.Credit:
        if (p.index > f.credit) f.credit = p.index;
        if (this.creditWaitFrom) this.stats.creditWaitMs += performance.now() - this.creditWaitFrom;
        this.creditWaitFrom = 0;
        if (f.phase === 'begin') f.phase = 'send';
        return;
      case PacketType.Nak: {
        let nak;
        try {
          nak = decodeNak(p);
        } catch {
          return;
        }
        if (nak.reason === NakReason.Missing) {
          if (f.phase === 'received') return;
          for (const [s, c] of nak.ranges) {
            for (let i = s; i < s + c && i < f.g.chunkCount; i++) {
              if (i < f.nextNew && !f.queued[i]) {
                f.queued[i] = 1;
                f.resend.push(i);
              }
            }
          }
          f.resend.sort((a, b) => a - b);
          if (f.phase === 'end' && f.resend.length) f.phase = 'send';
        } else if (nak.reason === NakReason.Digest) {
          this.restart(f, true);
        } else if (nak.reason === NakReason.Unknown) {
          this.restart(f, false);
        } else if (nak.reason === NakReason.Rejected) {
          this.remove(f);
          f.reject(new Error(`host rejected frame #${f.serial}`));
        }
        return;
      }
      case PacketType.Status:
        if (p.index === StatusCode.Received) {
          if (f.phase !== 'received') {
            f.phase = 'received';
            this.emit('room');
          }
        } else if (p.index === StatusCode.Busy) {
          f.phase = 'begin';
          f.beginSent = true; // wait for the host's CREDIT, or BEGIN again on timeout
        }
        return;
      case PacketType.Ack:
        this.remove(f);
        this.stats.framesAcked++;
        if (p.flags & AckFlags.Duplicate) this.stats.duplicatesAcked++;
        f.resolve({ duplicate: (p.flags & AckFlags.Duplicate) !== 0 });
        return;
    }
  }

  private restart(f: TxFrame, beginSent: boolean): void {
    f.phase = 'begin';
    f.beginSent = beginSent;
    f.credit = 0;
    f.nextNew = 0;
    f.resend = [];
    f.queued.fill(0);
  }

  private remove(f: TxFrame): void {
    const i = this.frames.indexOf(f);
    if (i >= 0) this.frames.splice(i, 1);
    this.emit('room');
  }

  private tick(): void {
    const now = Date.now();
    for (const ev of this.parser.expire(1000, now)) if (ev.kind === 'packet') this.onPacket(ev.packet);
    if (now < this.pausedUntil || !this.transport) return;
    for (const f of [...this.frames]) {
      if (now - f.lastActivity < f.timeout) continue;
      if (f.phase === 'send' && this.nextChunkAvailable(f)) continue; // busy sending, not waiting
      this.stats.timeouts++;
      if (process.env.RADSEAL_LINK_DEBUG) this.log(`device: timeout #${f.serial} phase=${f.phase} credit=${f.credit} next=${f.nextNew}/${f.g.chunkCount} resend=${f.resend.length} blocked=${this.blocked}`);
      f.retries++;
      if (f.retries > this.o.maxRetries) {
        this.log(`device: frame #${f.serial} given up after ${this.o.maxRetries} timeouts`);
        this.remove(f);
        f.reject(new Error(`frame #${f.serial}: no ACK after ${this.o.maxRetries} retries`));
        continue;
      }
      f.timeout = Math.min(f.timeout * 2, this.o.maxAckTimeoutMs);
      f.lastActivity = now;
      if (f.phase === 'begin' || f.phase === 'send') {
        // Waiting for credit (or it was lost): BEGIN again; the host answers with CREDIT and a NAK of gaps.
        this.sendBegin(f);
        f.beginSent = true;
      } else {
        // END (or the ACK) lost, or sealing in progress: ask again.
        this.sendEnd(f);
      }
    }
    this.pump();
  }

  private nextChunkAvailable(f: TxFrame): boolean {
    return (f.resend.length > 0 && f.resend[0] < f.credit) || (f.nextNew < f.credit && f.nextNew < f.g.chunkCount);
  }
}
