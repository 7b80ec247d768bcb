// Test harness: a host-side receiver on a board's link that records every frame
// (SHA-256 computed in the core, plus an independent SHA-256 of the bytes) and ACKs it.
import { createHash } from 'node:crypto';
import { Core } from '../../../host/core/wasm.js';
import { frameSlots, loadBoard, withOverrides, type Board } from '../../../host/boards/board.js';
import { CoreFrameStore } from '../../../host/link/framestore.js';
import { LinkReceiver, type ReceivedFrame } from '../../../host/link/receiver.js';
import { Connector, type LinkEndpointSettings } from '../../../host/link/transport.js';
import { tileHashes } from '../../../host/core/tiles.js';

export function testBoard(id: string, patch: Record<string, unknown>): Board {
  return withOverrides(loadBoard(id), patch);
}

export function hostEndpoint(b: Board): LinkEndpointSettings {
  if (b.link.transport === 'tcp') return { transport: 'tcp', host: b.link.tcp!.host, port: b.link.tcp!.port, role: b.link.tcp!.captureRole };
  return { transport: 'serial', path: b.link.serial!.path, baudRate: b.link.serial!.baudRate };
}

export interface Got {
  serial: number;
  coreSha: string;
  bytesSha: string;
  /** With tileSize: the tile table made as the rows arrived equals the whole frame's, made afterwards in another core. */
  tilesMatch?: boolean;
}

/**
 * `oracle: false` (the link benchmark) skips the independent node:crypto SHA-256 of every frame's
 * bytes: the tests' oracle, not link work, and it would run on the receiver's thread.
 */
export async function startHost(b: Board, opts: { ackDelayMs?: number; verbose?: boolean; oracle?: boolean; tileSize?: number } = {}) {
  const core = new Core();
  const store = new CoreFrameStore(core, b.detector.rows * b.detector.cols * 2, frameSlots(b));
  const log = opts.verbose ? (m: string) => console.log(m) : () => {};
  const rx = new LinkReceiver({
    store, windowChunks: b.link.windowChunks, maxChunkBytes: 1 << 20, maxRows: b.detector.rows, maxCols: b.detector.cols,
    nakTimeoutMs: b.link.nakTimeoutMs, maxNakIntervalMs: b.link.maxAckTimeoutMs, log, tileSize: opts.tileSize,
  });
  const oracleCore = opts.tileSize ? new Core() : undefined;
  const got: Got[] = [];
  rx.on('frame', (f: ReceivedFrame) => {
    const tilesMatch = opts.tileSize ? !!f.tiles && f.tiles.size === opts.tileSize
      && Buffer.from(f.tiles.hashes).equals(Buffer.from(tileHashes(new Uint8Array(f.bytes()), f.rows, f.cols, opts.tileSize, oracleCore))) : undefined;
    got.push({ serial: f.serial, coreSha: Buffer.from(f.sha256).toString('hex'), bytesSha: opts.oracle === false ? '' : createHash('sha256').update(f.bytes()).digest('hex'), tilesMatch });
    if (opts.ackDelayMs) setTimeout(() => f.ack(), opts.ackDelayMs);
    else f.ack();
  });
  const conn = new Connector(hostEndpoint(b), { minDelayMs: 20, maxDelayMs: 500, log });
  conn.on('up', (t) => rx.attach(t));
  await conn.start();
  return {
    rx, conn, got, core,
    stop: async () => {
      rx.close();
      await conn.stop();
    },
  };
}
