// The capture service: link -> frame hashed in the core while it streams in ->
// seal (watermark, DICOM, signatures) -> durable outbox -> ACK the device ->
// forward to PACS from the persistent queue. The device hears ACK only after
// the sealed object is on disk (file and folder fsynced, renamed into ready/),
// so a crash at any point loses nothing: the device still holds an unACKed
// frame and resends it, and the outbox recognises one it already sealed.
import { EventEmitter } from 'node:events';
import { Core } from '../core/wasm.js';
import { boardEquipment, frameSlots, type Board } from '../boards/board.js';
import { CoreFrameStore } from '../link/framestore.js';
import { LinkReceiver, type ReceivedFrame } from '../link/receiver.js';
import type { LinkExposure } from '../link/codec.js';
import type { CaptureMeta } from '../dicom/dx.js';
import { Connector, type LinkEndpointSettings } from '../link/transport.js';
import { Outbox } from '../net/outbox.js';
import { Forwarder } from '../net/forwarder.js';
import type { PacsTarget } from '../net/destination.js';
import { DEFAULT_TILE_SIZE, sealFrame, type DeviceIdentity, type SealedObject, type TechnologistIdentity } from '../seal/seal.js';
import type { TechnologistProvider, WithoutTechnologist } from '../seal/session.js';
import { HeldFrames, type HeldExposure } from './held-frames.js';
import { requestTimestamp } from '../net/tsa-client.js';
import type { ExposureFiling, ProcedureDesk } from './procedure.js';
import type { Positioning } from './selection-state.js';

export interface CaptureOptions {
  board: Board;
  device: DeviceIdentity;
  outboxDir: string;
  /** PACS: C-STORE SCPs or STOW-RS endpoints (host/net/destination.ts); each gets every object. */
  forward?: PacsTarget | readonly PacsTarget[];
  watermarkKey?: Uint8Array;
  technologist?: TechnologistIdentity;
  /** Who is logged in now (host/capture/session-endpoint.ts): co-signs instead of `technologist` while someone is. */
  technologistProvider?: TechnologistProvider;
  /** An exposure while nobody is logged in: sealed device-only (default), or held until a technologist confirms. */
  withoutTechnologist?: WithoutTechnologist;
  /** Days delivered objects stay in the outbox's sent/ before they are pruned (default 7). */
  keepSentDays?: number;
  /**
   * RFC 3161 time-stamping authority URL: each device signature gets a Certified Timestamp. When
   * the TSA cannot be reached (within 3 s) the frame is sealed without one, the log says so, and
   * the TSA is left alone for 30 s: an exposure is never lost, and held back at most once, for a
   * timestamp.
   */
  timestampUrl?: string;
  /** Overrides the board's host-side serial path, or HOST:PORT for TCP. */
  port?: string;
  log?: (m: string) => void;
  /** Worklist procedures (host/capture/procedure.ts): files each exposure under the selected one, or holds it unassigned. */
  procedures?: ProcedureDesk;
  /**
   * A station without a worklist (a fixed stand): the Patient Orientation and View Position of
   * every exposure, as its configuration says. With `procedures` the technologist says them at
   * the console instead, so the two never go together.
   */
  positioning?: Positioning;
  forwardBackoffMs?: { min: number; max: number };
}

const TSA_TIMEOUT_MS = 3000;
const TSA_PAUSE_MS = 30000;
const PRUNE_EVERY_MS = 3_600_000;
const heldKey = (x: { deviceId: string; serial: number }) => `${x.deviceId}\u0000${x.serial}`;

/** What the detector measured for this exposure, as DICOM meta: measured per exposure, it wins over a board's fixed value. */
function exposureMeta(e: LinkExposure | undefined): CaptureMeta {
  if (!e) return {};
  const out: CaptureMeta = {};
  if (e.kvp !== undefined) out.kvp = e.kvp;
  if (e.exposureUas !== undefined) out.exposureMas = e.exposureUas / 1000;
  if (e.exposureIndex !== undefined) out.exposureIndex = e.exposureIndex;
  if (e.distanceSourceToDetectorMm !== undefined) out.distanceSourceToDetectorMm = e.distanceSourceToDetectorMm;
  return out;
}

export interface CaptureStatus {
  received: number;
  sealed: number;
  forwarded: number;
  retried: number;
  rejected: number;
  duplicates: number;
  queued: number;
  /** Objects PACS refused for good, parked in the outbox's dead-letter/ (all time). */
  deadLettered: number;
  /** Device signatures that got a certified timestamp (with a TSA configured). */
  timestamped: number;
  linkUp: boolean;
}

export function hostEndpoint(board: Board, port?: string): LinkEndpointSettings {
  const l = board.link;
  if (l.transport === 'tcp') {
    let { host, port: p } = l.tcp!;
    if (port) {
      const m = /^(.*):(\d+)$/.exec(port);
      if (!m) throw new Error(`capture: --port for a TCP board is HOST:PORT, got ${port}`);
      host = m[1];
      p = Number(m[2]);
    }
    return { transport: 'tcp', host, port: p, role: l.tcp!.captureRole };
  }
  return { transport: 'serial', path: port ?? l.serial!.path, baudRate: l.serial!.baudRate };
}

export class CaptureService extends EventEmitter {
  readonly outbox: Outbox;
  readonly receiver: LinkReceiver;
  readonly connector: Connector;
  readonly forwarder: Forwarder | null;
  private readonly counts = { sealed: 0, rejected: 0, timestamped: 0 };
  private tsaPausedUntil = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly log: (m: string) => void;
  /** Exposures kept for a technologist's confirmation (a station that holds them). */
  readonly held: HeldFrames | null;
  /** How each held exposure was filed when it was taken (worklist stations), until it is sealed. */
  private readonly heldFilings = new Map<string, ExposureFiling>();
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: CaptureOptions) {
    super();
    const b = o.board;
    // The detector pitch is signed into every object (Imager Pixel Spacing, type 1): only the board
    // knows it, and a guess would be signed for good.
    if (!b.detector.pixelSpacingMm) throw new Error(`board ${b.id}: detector.pixelSpacingMm is not set; capture signs the detector's pixel spacing into every object and never guesses it: add it to the board file (mm, [row, column])`);
    this.log = o.log ?? (() => {});
    if (o.positioning && o.procedures) throw new Error('the station positioning is for a station without a worklist: with one, the technologist says it at the console');
    this.outbox = new Outbox(o.outboxDir, { keepSentDays: o.keepSentDays });
    this.held = o.withoutTechnologist === 'hold' ? new HeldFrames(this.outbox, o.device) : null;
    if (this.outbox.removedPartials.length) this.log(`capture: removed ${this.outbox.removedPartials.length} half-written file(s) left by a crash: ${this.outbox.removedPartials.join(', ')}`);
    const frameBytes = b.detector.rows * b.detector.cols * 2;
    // One core for the whole capture, fixed at the board's budget: frame slots, and the hashing,
    // tile table and watermark that work on a frame where the link wrote it.
    const store = new CoreFrameStore(new Core({ budgetBytes: b.memory.budgetBytes }), frameBytes, frameSlots(b));
    this.receiver = new LinkReceiver({
      store, windowChunks: b.link.windowChunks, maxChunkBytes: 1 << 20, maxRows: b.detector.rows, maxCols: b.detector.cols,
      nakTimeoutMs: b.link.nakTimeoutMs, maxNakIntervalMs: b.link.maxAckTimeoutMs,
      isDurable: (d, s) => this.outbox.has(d, s) || (o.procedures?.holds(d, s) ?? false), log: this.log,
      // The tile table as the rows arrive, unless a watermark will change the pixels before they are signed.
      tileSize: o.watermarkKey && b.watermark.enabled !== false ? 0 : DEFAULT_TILE_SIZE,
    });
    this.receiver.on('frame', (f: ReceivedFrame) => {
      // One frame at a time, in arrival order.
      this.chain = this.chain.then(() => this.handle(f));
    });
    this.connector = new Connector(hostEndpoint(b, o.port), { log: this.log, minDelayMs: 100, maxDelayMs: 5000 });
    this.connector.on('up', (t) => this.receiver.attach(t));
    this.connector.on('down', (t) => this.log(`capture: link down (${t.description}); waiting for it to come back`));
    this.forwarder = o.forward
      ? new Forwarder(this.outbox, o.forward, { log: this.log, minBackoffMs: o.forwardBackoffMs?.min ?? 1000, maxBackoffMs: o.forwardBackoffMs?.max ?? 60000 })
      : null;
    o.procedures?.attach(this.outbox, () => this.forwarder?.kick());
  }

  async start(): Promise<void> {
    const pending = this.outbox.pending().length;
    if (pending) this.log(`capture: ${pending} sealed object(s) waiting in the outbox from before`);
    const parked = this.outbox.deadLettered();
    if (parked) this.log(`capture: ${parked} object(s) in ${this.outbox.deadLetterDir} (refused by PACS for good; see the .json beside each)`);
    if (this.held?.names().length) this.log(`capture: ${this.held.names().length} exposure(s) held for a technologist's confirmation (radseal tech confirm)`);
    this.pruneSent();
    this.pruneTimer = setInterval(() => this.pruneSent(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    this.forwarder?.start();
    await this.connector.start();
  }

  private pruneSent(): void {
    try {
      const removed = this.outbox.pruneSent();
      if (removed.length) this.log(`capture: pruned ${removed.length} delivered object(s) older than the sent/ retention from ${this.outbox.sentDir}`);
    } catch (e) {
      this.log(`capture: could not prune ${this.outbox.sentDir}: ${(e as Error).message}`);
    }
  }

  /** The sealing identity: the board recorded is always the one the frames came through. */
  private get sealingDevice(): DeviceIdentity {
    return { ...this.o.device, boardId: this.o.board.id };
  }

  /**
   * Seals the held exposures with this technologist's co-signature, oldest first, and queues
   * them for PACS; runs between frames, never beside one. Returns how many were sealed.
   */
  confirmHeld(technologist: TechnologistIdentity): Promise<number> {
    const run = this.chain.then(async () => {
      if (!this.held) return 0;
      const procedures = this.o.procedures;
      // On a worklist station a held exposure is filed under the procedure selected when it was
      // taken; one held before a restart has none known, so it waits unassigned, never forwarded.
      const { sealed, refused } = await this.held.release((x) => this.sealHeld(x, technologist), procedures && ((x, object) => {
        void procedures.keep(this.heldFilings.get(heldKey(x)) ?? { procedure: null, meta: {}, extraElements: [] }, x.deviceId, x.serial, object);
        this.heldFilings.delete(heldKey(x));
      }), procedures && ((x) => procedures.holds(x.deviceId, x.serial) || this.outbox.holdsObject(x.deviceId, x.serial)));
      for (const r of refused) this.log(`capture: held exposure not sealed: ${r}`);
      if (sealed) this.forwarder?.kick();
      return sealed;
    });
    this.chain = run.then(() => {}, () => {});
    return run;
  }

  private async sealHeld(x: HeldExposure, technologist: TechnologistIdentity): Promise<SealedObject> {
    const sealed = await sealFrame({
      frame: x.frame, rawFrameSha256: x.rawFrameSha256, frameSerial: x.serial, meta: x.meta, captureTime: x.captureTime, technologist,
      extraElements: this.heldFilings.get(heldKey(x))?.extraElements,
      watermark: this.o.watermarkKey && this.o.board.watermark.enabled !== false ? { key: this.o.watermarkKey } : undefined,
      timestamp: this.o.timestampUrl ? (sig) => this.timestamp(sig, `${x.deviceId}#${x.serial}`) : undefined,
    }, this.sealingDevice);
    this.counts.sealed++;
    this.log(`capture: held frame ${x.deviceId}#${x.serial} sealed, co-signed by ${technologist.operatorId}`);
    return sealed;
  }

  private async handle(f: ReceivedFrame): Promise<void> {
    // One clock for both figures: completedAt is wall-clock (Date.now()) time.
    const t0 = Date.now();
    const queuedMs = t0 - f.completedAt;
    try {
      if (this.outbox.has(f.deviceId, f.serial) || this.o.procedures?.holds(f.deviceId, f.serial)) {
        this.log(`capture: frame ${f.deviceId}#${f.serial} already sealed; ACK without resealing`);
        f.ack();
        return;
      }
      // The pixels stay in the link's frame slot (core memory) until the object is durable: the
      // watermark, tile hashes and DICOM encode read them there (the slot is freed by ack/fail).
      const bytes = f.bytes();
      const pixels = new Uint16Array(bytes.buffer, bytes.byteOffset, f.rows * f.cols);
      const filing = this.o.procedures?.fileExposure();
      const station = this.o.positioning && { patientOrientation: this.o.positioning.patientOrientation, ...(this.o.positioning.viewPosition ? { viewPosition: this.o.positioning.viewPosition } : {}) };
      const meta = { ...boardEquipment(this.o.board, f.deviceId), ...exposureMeta(f.exposure), ...station, ...filing?.meta };
      const technologist = this.o.technologistProvider?.() ?? this.o.technologist;
      if (!technologist && this.held) {
        const frame = { rows: f.rows, cols: f.cols, bitsStored: f.bitsStored, pixels };
        const name = await this.held.hold({ deviceId: f.deviceId, serial: f.serial, frame, rawFrameSha256: f.sha256, captureTime: new Date(f.completedAt), meta });
        if (filing) this.heldFilings.set(heldKey(f), filing);
        f.ack(); // durable in held/ (file and folder fsynced)
        this.log(`capture: frame ${f.deviceId}#${f.serial} held as ${name}: nobody is logged in; it is sealed and sent once a technologist logs in and confirms`);
        return;
      }
      const sealed = await sealFrame(
        {
          frame: { rows: f.rows, cols: f.cols, bitsStored: f.bitsStored, pixels },
          rawFrameSha256: f.sha256,
          frameSerial: f.serial,
          meta,
          extraElements: filing?.extraElements,
          technologist,
          watermark: this.o.watermarkKey && this.o.board.watermark.enabled !== false ? { key: this.o.watermarkKey } : undefined,
          markInPlace: true,
          tilesAsReceived: f.tiles,
          // Written as head, pixels where they lie in the frame slot, tail: no 19 MB copy (the slot is freed only after the write).
          gathered: true,
          timestamp: this.o.timestampUrl ? (sig) => this.timestamp(sig, `${f.deviceId}#${f.serial}`) : undefined,
        },
        this.sealingDevice,
      );
      const entry = filing ? this.o.procedures!.keep(filing, f.deviceId, f.serial, sealed) : this.outbox.put(f.deviceId, f.serial, sealed.parts);
      // Durable now (file and folder fsynced): only now may the device forget the frame.
      this.counts.sealed++;
      f.ack();
      const sealMs = Date.now() - t0;
      this.log(`capture: frame ${f.deviceId}#${f.serial} ${f.rows}x${f.cols} sealed -> ${entry.name} (${(sealed.parts.reduce((n, p) => n + p.length, 0) / 1e6).toFixed(1)} MB; ${queuedMs} ms queued behind other frames, then ${sealMs} ms to seal and store)${sealed.watermarkProblem ? `; watermark: no room for the robust mark (${sealed.watermarkProblem}), the fragile layer carries it` : ''}`);
      // Latency: last byte of the frame in -> sealed object durable and device ACKed.
      this.emit('sealed', { entry, deviceId: f.deviceId, serial: f.serial, latencyMs: Date.now() - f.completedAt });
      this.forwarder?.kick();
    } catch (e) {
      this.counts.rejected++;
      this.log(`capture: frame ${f.deviceId}#${f.serial} could not be sealed: ${(e as Error).message}`);
      f.fail((e as Error).message);
    }
  }

  /**
   * A certified timestamp for one frame's device signature, or null. The TSA gets TSA_TIMEOUT_MS;
   * after a failure it is left alone for TSA_PAUSE_MS, so an unresponsive TSA delays one frame,
   * not every frame behind it.
   */
  private async timestamp(signature: Uint8Array, frame: string): Promise<Uint8Array | null> {
    if (Date.now() < this.tsaPausedUntil) return null;
    try {
      const token = await requestTimestamp(this.o.timestampUrl!, signature, TSA_TIMEOUT_MS);
      this.counts.timestamped++;
      return token;
    } catch (e) {
      this.tsaPausedUntil = Date.now() + TSA_PAUSE_MS;
      this.log(`capture: frame ${frame}: no certified timestamp (${(e as Error).message}); sealed with the device's own time only; the TSA is tried again in ${TSA_PAUSE_MS / 1000} s`);
      return null;
    }
  }

  status(): CaptureStatus {
    const rx = this.receiver.stats;
    return {
      received: rx.framesReceived, sealed: this.counts.sealed, forwarded: this.forwarder?.stats.forwarded ?? 0,
      retried: this.forwarder?.stats.retried ?? 0, rejected: this.counts.rejected + rx.rejected, duplicates: rx.duplicates,
      queued: this.outbox.pending().length, deadLettered: this.outbox.deadLettered(), timestamped: this.counts.timestamped, linkUp: this.connector.transport !== null,
    };
  }

  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.connector.stop();
    this.receiver.close();
    await this.chain;
    await this.forwarder?.stop();
  }
}
