// Host side of the link: the receiver state machine (docs/LINK.md §5).
// Packets in from whatever transport is up; frames out, each exactly once,
// bit-exact, with its whole-frame SHA-256 computed in the core while it streamed in.
// The device is ACKed only when the consumer calls frame.ack() (after the sealed
// object is durable); until then it hears STATUS Received.
import { EventEmitter } from 'node:events';
import {
  AckFlags, NakReason, PacketParser, PacketType, PACKET_TYPE_NAMES, StatusCode,
  type LinkExposure, decodeBegin, encodeAck, encodeCredit, encodeError, encodeNak, encodeStatus, geometryProblem, toRanges,
  type FrameGeometry, type Packet, type ParseEvent,
} from './codec.js';
import type { FrameSlot, FrameStore } from './framestore.js';
import { tileGrid, tileHashesAt } from '../core/tiles.js';
import type { Transport } from './transport.js';

export interface ReceiverOptions {
  store: FrameStore;
  /** Chunks granted ahead of the contiguous prefix (flow control window). */
  windowChunks: number;
  maxChunkBytes: number;
  maxRows: number;
  maxCols: number;
  /** First retransmit request delay after a stall; doubles to maxNakIntervalMs. */
  nakTimeoutMs: number;
  maxNakIntervalMs: number;
  /** A partial packet with no new bytes for this long was truncated (default 100 ms; ticks run every 25 ms). */
  interByteTimeoutMs?: number;
  /** Persistent duplicate check: has (device, serial) already been sealed durably? */
  isDurable?: (deviceId: string, serial: number) => boolean;
  /**
   * Tile edge of the seal's tile table, made band by band in the core as the frame's rows arrive
   * (so the seal does not hash the frame once more after its last byte); 0 or absent: none. Only
   * for a seal that signs the pixels as received (no watermark).
   */
  tileSize?: number;
  log?: (msg: string) => void;
}

export interface ReceivedFrame {
  deviceId: string;
  serial: number;
  rows: number;
  cols: number;
  bitsStored: number;
  /** SHA-256 of the frame bytes as received (computed in the core, checked against the device's END). */
  sha256: Uint8Array;
  /** What the device reported it measured for this exposure (BEGIN extension record), if anything. */
  exposure?: LinkExposure;
  /** The tile table of the frame as received (ReceiverOptions.tileSize), made in the core as it arrived. */
  tiles?: { size: number; hashes: Uint8Array };
  slot: FrameSlot;
  totalBytes: number;
  /** Milliseconds since epoch when the last chunk arrived. */
  completedAt: number;
  /** The frame's bytes in core memory (fresh view each call). */
  bytes(): Uint8Array;
  /** Call once the sealed object is durable: ACKs the device and frees the slot. */
  ack(): void;
  /** Call when the frame cannot be sealed: frees the slot; the device will resend it. */
  fail(reason: string): void;
}

export interface LinkStats {
  framesReceived: number;
  framesAcked: number;
  duplicates: number;
  rejected: number;
  chunks: number;
  duplicateChunks: number;
  badCrc: number;
  garbageBytes: number;
  versionErrors: number;
  oversize: number;
  naks: number;
  abandoned: number;
  truncated: number;
  bytes: number;
}

type State = 'receiving' | 'complete';

interface RxFrame {
  key: string;
  g: FrameGeometry;
  serial: number;
  slot: FrameSlot;
  state: State;
  have: Uint8Array;
  received: number;
  hashed: number; // chunks hashed (contiguous prefix)
  /** Rows whose tiles are hashed, and the table so far (null when no table is made). */
  tiledRows: number;
  tiles: Uint8Array | null;
  tilesAt: number;
  highest: number; // highest chunk index seen + 1
  granted: number;
  expectedDigest: Uint8Array | null;
  digest: Uint8Array | null;
  lastProgress: number;
  nakInterval: number;
  lastNak: number;
  startedAt: number;
}

const key = (d: string, s: number) => `${d}\u0000${s}`;

export class LinkReceiver extends EventEmitter {
  readonly stats: LinkStats = {
    framesReceived: 0, framesAcked: 0, duplicates: 0, rejected: 0, chunks: 0, duplicateChunks: 0, badCrc: 0,
    garbageBytes: 0, versionErrors: 0, oversize: 0, naks: 0, abandoned: 0, truncated: 0, bytes: 0,
  };
  // Bodies are views (no copy per packet): every packet is handled inside the push() that parsed it.
  private readonly parser = new PacketParser(undefined, true);
  private transport: Transport | null = null;
  private readonly frames = new Map<string, RxFrame>();
  /** serial -> key for frames in this session (chunks carry only the serial). */
  private readonly bySerial = new Map<number, string>();
  private readonly recentDurable = new Set<string>();
  private readonly waitingBegins = new Map<string, { g: FrameGeometry; serial: number }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly log: (m: string) => void;

  constructor(private readonly o: ReceiverOptions) {
    super();
    this.log = o.log ?? (() => {});
    this.timer = setInterval(() => this.tick(), 25);
    this.timer.unref();
  }

  /** Attaches a (new) transport; partial frames survive a reconnect and resume. */
  attach(t: Transport): void {
    this.transport = t;
    this.parser.reset();
    this.inbox.length = 0;
    t.on('data', (d: Uint8Array) => this.enqueue(t, d));
    t.once('close', () => {
      if (this.transport === t) this.transport = null;
    });
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private readonly inbox: Uint8Array[] = [];
  private flushScheduled = false;

  /**
   * Bytes are queued and parsed on the next turn of the event loop, not inside the transport's
   * 'data' callback: serialport issues its next read (on libuv's thread pool) only when that
   * callback returns, so parsing, CRC-32C and hashing there would stall the reads. Deferred, the
   * next read runs on another core while this thread checks and hashes what already arrived.
   */
  private enqueue(t: Transport, d: Uint8Array): void {
    if (this.transport !== t) return;
    this.inbox.push(d);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.inbox.splice(0);
      for (const b of batch) this.onData(b);
    });
  }

  private send(bytes: Uint8Array): void {
    this.transport?.write(bytes);
  }

  onData(d: Uint8Array): void {
    for (const ev of this.parser.push(d)) this.onEvent(ev);
  }

  private onEvent(ev: ParseEvent): void {
    switch (ev.kind) {
      case 'packet':
        return this.onPacket(ev.packet);
      case 'garbage':
        this.stats.garbageBytes += ev.bytes;
        return;
      case 'bad-header-crc':
        return;
      case 'truncated':
        this.stats.truncated++;
        return;
      case 'oversize':
        this.stats.oversize++;
        this.log(`link: header announces a ${ev.bodyLength}-byte body (limit ${1 << 20}); skipped, resynchronising`);
        this.send(encodeError(0, 2, `oversize body ${ev.bodyLength}`));
        return;
      case 'version':
        this.stats.versionErrors++;
        this.log(`link: packet with protocol version ${ev.version} (this host speaks 1); ignored`);
        this.send(encodeError(ev.serial, 1, `unsupported protocol version ${ev.version}; this host speaks version 1`));
        return;
      case 'bad-body-crc': {
        this.stats.badCrc++;
        if (ev.type === PacketType.Chunk) {
          const f = this.current(ev.serial);
          if (f && f.state === 'receiving' && ev.index < f.g.chunkCount && !f.have[ev.index]) {
            // Ask for this chunk right away: the header told us which one it was.
            this.sendNak(f, [[ev.index, 1]]);
          }
        }
        return;
      }
    }
  }

  private current(serial: number): RxFrame | undefined {
    const k = this.bySerial.get(serial);
    return k ? this.frames.get(k) : undefined;
  }

  private onPacket(p: Packet): void {
    switch (p.type) {
      case PacketType.Begin:
        return this.onBegin(p);
      case PacketType.Chunk:
        return this.onChunk(p);
      case PacketType.End:
        return this.onEnd(p);
      default:
        this.log(`link: unexpected ${PACKET_TYPE_NAMES[p.type] ?? `type 0x${p.type.toString(16)}`} packet from the device; ignored`);
    }
  }

  private isDurable(deviceId: string, serial: number): boolean {
    const k = key(deviceId, serial);
    return this.recentDurable.has(k) || (this.o.isDurable?.(deviceId, serial) ?? false);
  }

  private onBegin(p: Packet): void {
    let g: FrameGeometry;
    try {
      g = decodeBegin(p.body);
    } catch (e) {
      this.stats.rejected++;
      this.send(encodeError(p.serial, 3, (e as Error).message));
      this.send(encodeNak(p.serial, NakReason.Rejected));
      return;
    }
    const k = key(g.deviceId, p.serial);
    if (this.isDurable(g.deviceId, p.serial)) {
      this.stats.duplicates++;
      this.send(encodeAck(p.serial, AckFlags.Durable | AckFlags.Duplicate));
      return;
    }
    const problem = geometryProblem(g, {
      maxChunkBytes: this.o.maxChunkBytes, maxFrameBytes: this.o.store.slotBytes, maxRows: this.o.maxRows, maxCols: this.o.maxCols,
    });
    if (problem) {
      this.stats.rejected++;
      this.log(`link: frame ${g.deviceId}#${p.serial} rejected: ${problem}`);
      this.send(encodeError(p.serial, 3, problem));
      this.send(encodeNak(p.serial, NakReason.Rejected));
      return;
    }
    const f = this.frames.get(k);
    if (f) {
      this.bySerial.set(p.serial, k);
      if (f.state === 'complete') {
        this.send(encodeStatus(p.serial, StatusCode.Received));
        return;
      }
      if (sameGeometry(f.g, g)) {
        // Resume (device reconnected or timed out): re-grant credit and name what is missing.
        f.lastProgress = Date.now();
        this.grant(f, true);
        const missing = this.missing(f, f.highest);
        if (missing.length) this.sendNak(f, missing);
        return;
      }
      this.abandon(f, 'device restarted the frame with different geometry');
    }
    this.startFrame(k, p.serial, g);
  }

  private startFrame(k: string, serial: number, g: FrameGeometry): void {
    let slot = this.o.store.acquire();
    if (!slot) {
      // Evict the oldest partial frame (the device has moved on from it), never a complete one.
      const partial = [...this.frames.values()].filter((f) => f.state === 'receiving').sort((a, b) => a.startedAt - b.startedAt)[0];
      if (partial) {
        this.abandon(partial, 'buffer needed for a newer frame');
        slot = this.o.store.acquire();
      }
    }
    if (!slot) {
      this.waitingBegins.set(k, { g, serial });
      this.send(encodeStatus(serial, StatusCode.Busy));
      return;
    }
    this.waitingBegins.delete(k);
    const now = Date.now();
    const f: RxFrame = {
      key: k, g, serial, slot, state: 'receiving', have: new Uint8Array(g.chunkCount), received: 0, hashed: 0, highest: 0, ...this.noTiles(g),
      granted: 0, expectedDigest: null, digest: null, lastProgress: now, nakInterval: this.o.nakTimeoutMs, lastNak: 0, startedAt: now,
    };
    this.frames.set(k, f);
    this.bySerial.set(serial, k);
    this.grant(f, true);
  }

  private abandon(f: RxFrame, why: string): void {
    this.stats.abandoned++;
    this.log(`link: partial frame ${f.g.deviceId}#${f.serial} dropped (${f.received}/${f.g.chunkCount} chunks): ${why}`);
    this.frames.delete(f.key);
    if (this.bySerial.get(f.serial) === f.key) this.bySerial.delete(f.serial);
    this.o.store.release(f.slot);
  }

  private grant(f: RxFrame, force: boolean): void {
    const want = Math.min(f.g.chunkCount, f.hashed + this.o.windowChunks);
    if (want > f.granted || force) {
      // Re-send a grant when at least a quarter of the window has opened up (or when forced).
      if (force || want - f.granted >= Math.max(1, this.o.windowChunks >> 2) || want === f.g.chunkCount) {
        f.granted = Math.max(f.granted, want);
        this.send(encodeCredit(f.serial, f.granted));
      }
    }
  }

  private onChunk(p: Packet): void {
    const f = this.current(p.serial);
    if (!f || f.state !== 'receiving') {
      this.stats.duplicateChunks++;
      return;
    }
    const g = f.g;
    const i = p.index;
    if (i >= g.chunkCount) return this.log(`link: chunk ${i} beyond chunkCount ${g.chunkCount} of #${p.serial}; ignored`);
    const expectLen = i === g.chunkCount - 1 ? g.totalBytes - i * g.chunkBytes : g.chunkBytes;
    if (p.body.length !== expectLen) return this.log(`link: chunk ${i} of #${p.serial} has ${p.body.length} bytes, expected ${expectLen}; ignored`);
    if (f.have[i]) {
      this.stats.duplicateChunks++;
      return;
    }
    f.slot.view(i * g.chunkBytes, expectLen).set(p.body);
    f.have[i] = 1;
    f.received++;
    this.stats.chunks++;
    this.stats.bytes += expectLen;
    f.lastProgress = Date.now();
    f.nakInterval = this.o.nakTimeoutMs;
    if (i > f.highest) {
      // Chunks travel in order, so a jump means the ones in between were lost.
      const gap: Array<[number, number]> = [];
      for (let j = f.highest; j < i; j++) if (!f.have[j]) gap.push([j, 1]);
      if (gap.length) this.sendNak(f, toRanges(gap.map(([j]) => j)));
    }
    if (i + 1 > f.highest) f.highest = i + 1;
    // Hash the contiguous prefix in core memory.
    const start = f.hashed;
    while (f.hashed < g.chunkCount && f.have[f.hashed]) f.hashed++;
    if (f.hashed > start) {
      const from = start * g.chunkBytes;
      const to = Math.min(g.totalBytes, f.hashed * g.chunkBytes);
      f.slot.hasher.updateAt(f.slot.ptr + from, to - from);
      if (f.tiles) this.hashTileRows(f, to);
    }
    this.grant(f, false);
    if (f.hashed === g.chunkCount) {
      f.digest = f.slot.hasher.digest();
      this.maybeComplete(f);
    }
  }

  /** A fresh (empty) tile table for a frame of 16-bit pixels, when one is asked for. */
  private noTiles(g: FrameGeometry): Pick<RxFrame, 'tiledRows' | 'tiles' | 'tilesAt'> {
    const size = this.o.tileSize ?? 0;
    if (size <= 0 || g.totalBytes !== g.rows * g.cols * 2) return { tiledRows: 0, tiles: null, tilesAt: 0 };
    const grid = tileGrid(g.rows, g.cols, size);
    return { tiledRows: 0, tiles: new Uint8Array(grid.rows * grid.cols * 32), tilesAt: 0 };
  }

  /** Hashes the tiles of every whole band of tile rows within the first `bytes` received bytes. */
  private hashTileRows(f: RxFrame, bytes: number): void {
    const size = this.o.tileSize!;
    const rowBytes = f.g.cols * 2;
    const rowsIn = bytes >= f.g.totalBytes ? f.g.rows : Math.floor(bytes / rowBytes);
    while (f.tiledRows < f.g.rows) {
      const bandRows = Math.min(size, f.g.rows - f.tiledRows);
      if (f.tiledRows + bandRows > rowsIn) return;
      const band = tileHashesAt(this.o.store.core, f.slot.ptr + f.tiledRows * rowBytes, bandRows, f.g.cols, size);
      f.tiles!.set(band, f.tilesAt);
      f.tilesAt += band.length;
      f.tiledRows += bandRows;
    }
  }

  private onEnd(p: Packet): void {
    const f = this.current(p.serial);
    if (!f) {
      // Not in this session: already sealed (ACK again) or unknown (e.g. we restarted).
      for (const k of this.recentDurable) {
        if (k.endsWith(`\u0000${p.serial}`)) {
          this.send(encodeAck(p.serial, AckFlags.Durable | AckFlags.Duplicate));
          return;
        }
      }
      this.send(encodeNak(p.serial, NakReason.Unknown));
      return;
    }
    if (p.body.length !== 32) return this.log(`link: END of #${p.serial} without a 32-byte digest; ignored`);
    if (f.state === 'complete') {
      this.send(encodeStatus(p.serial, StatusCode.Received));
      return;
    }
    f.expectedDigest = p.body.slice(); // the body is a view into the parser's buffer
    f.lastProgress = Date.now();
    if (f.digest) return this.maybeComplete(f);
    const missing = this.missing(f, f.g.chunkCount);
    this.sendNak(f, missing);
  }

  private missing(f: RxFrame, upTo: number): Array<[number, number]> {
    const idx: number[] = [];
    for (let j = f.hashed; j < upTo; j++) if (!f.have[j]) idx.push(j);
    return toRanges(idx);
  }

  private sendNak(f: RxFrame, ranges: Array<[number, number]>): void {
    if (!ranges.length) return;
    this.stats.naks++;
    f.lastNak = Date.now();
    this.send(encodeNak(f.serial, NakReason.Missing, ranges));
  }

  private maybeComplete(f: RxFrame): void {
    if (!f.digest || !f.expectedDigest) return;
    if (!equal(f.digest, f.expectedDigest)) {
      this.log(`link: frame ${f.g.deviceId}#${f.serial}: SHA-256 mismatch after all chunks passed CRC; asking for the whole frame again`);
      this.stats.badCrc++;
      f.have.fill(0);
      f.received = f.hashed = f.highest = f.granted = 0;
      f.digest = f.expectedDigest = null;
      f.slot.hasher.reset();
      Object.assign(f, this.noTiles(f.g));
      this.send(encodeNak(f.serial, NakReason.Digest));
      this.grant(f, true);
      return;
    }
    f.state = 'complete';
    this.stats.framesReceived++;
    this.send(encodeStatus(f.serial, StatusCode.Received));
    let settled = false;
    const frame: ReceivedFrame = {
      deviceId: f.g.deviceId, serial: f.serial, rows: f.g.rows, cols: f.g.cols, bitsStored: f.g.bitsStored,
      sha256: f.digest, slot: f.slot, totalBytes: f.g.totalBytes, completedAt: f.lastProgress, exposure: f.g.exposure,
      tiles: f.tiles && f.tiledRows === f.g.rows ? { size: this.o.tileSize!, hashes: f.tiles } : undefined,
      bytes: () => f.slot.view(0, f.g.totalBytes),
      ack: () => {
        if (settled) return;
        settled = true;
        this.stats.framesAcked++;
        this.markDurable(f.g.deviceId, f.serial);
        this.frames.delete(f.key);
        this.o.store.release(f.slot);
        this.send(encodeAck(f.serial, AckFlags.Durable));
        this.startWaiting();
      },
      fail: (reason: string) => {
        if (settled) return;
        settled = true;
        this.log(`link: frame ${f.g.deviceId}#${f.serial} not sealed (${reason}); the device will resend it`);
        this.frames.delete(f.key);
        if (this.bySerial.get(f.serial) === f.key) this.bySerial.delete(f.serial);
        this.o.store.release(f.slot);
        this.send(encodeNak(f.serial, NakReason.Unknown));
        this.startWaiting();
      },
    };
    this.emit('frame', frame);
  }

  /** Remembers a durable frame so repeats are ACKed without resealing. */
  markDurable(deviceId: string, serial: number): void {
    const k = key(deviceId, serial);
    this.recentDurable.add(k);
    if (this.recentDurable.size > 4096) this.recentDurable.delete(this.recentDurable.values().next().value!);
  }

  private startWaiting(): void {
    const next = this.waitingBegins.entries().next();
    if (next.done) return;
    const [k, { g, serial }] = next.value;
    this.waitingBegins.delete(k);
    this.startFrame(k, serial, g);
  }

  private tick(): void {
    const now = Date.now();
    for (const ev of this.parser.expire(this.o.interByteTimeoutMs ?? 1000, now)) this.onEvent(ev);
    for (const f of this.frames.values()) {
      if (f.state !== 'receiving') continue;
      if (now - f.lastProgress < f.nakInterval || now - f.lastNak < f.nakInterval) continue;
      // Stalled: name what is missing below what we have seen and reopen the window.
      const missing = this.missing(f, f.expectedDigest ? f.g.chunkCount : f.highest);
      if (missing.length) this.sendNak(f, missing);
      f.lastNak = now;
      this.grant(f, true);
      f.nakInterval = Math.min(f.nakInterval * 2, this.o.maxNakIntervalMs);
    }
  }
}

function sameGeometry(a: FrameGeometry, b: FrameGeometry): boolean {
  return a.rows === b.rows && a.cols === b.cols && a.bitsStored === b.bitsStored && a.bytesPerPixel === b.bytesPerPixel &&
    a.chunkBytes === b.chunkBytes && a.chunkCount === b.chunkCount && a.totalBytes === b.totalBytes;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
