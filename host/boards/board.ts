// Board profiles: boards/<id>.json validated against boards/board.schema.json
// with ajv. A bad file is refused with the failing field named. Everything
// that differs between boards is a setting here; code never looks at the id.
import { existsSync, readFileSync, readdirSync as readdirSyncImpl } from 'node:fs';
import { basename, join } from 'node:path';
import AjvModule from 'ajv';
import { projectRoot } from '../core/wasm.js';
import type { CaptureMeta, DetectorType } from '../dicom/dx.js';

export interface Board {
  id: string;
  name: string;
  notes?: string;
  link: {
    transport: 'pty' | 'serial' | 'tcp';
    serial?: { path: string; devicePath?: string; baudRate: number };
    tcp?: { host: string; port: number; captureRole: 'listen' | 'connect' };
    chunkBytes: number;
    windowChunks: number;
    framesInFlight: number;
    ackTimeoutMs: number;
    maxAckTimeoutMs: number;
    maxRetries: number;
    nakTimeoutMs: number;
    deviceBytesPerSec?: number;
  };
  detector: {
    deviceId: string; manufacturer?: string; model?: string; serialNumber?: string; detectorType?: DetectorType; distanceSourceToDetectorMm?: number;
    rows: number; cols: number; bitsStored: number; pixelSpacingMm?: [number, number];
  };
  memory: { budgetBytes: number; reserveBytes?: number };
  watermark: { strength: number; enabled?: boolean };
  keys: { store: 'file' | 'pkcs11'; ecdsaSignature?: boolean; pkcs11Module?: string; slotLabel?: string };
  sessions?: { idleTimeoutMinutes?: number; withoutTechnologist?: 'device-only' | 'hold' };
  runtime: { core: 'wasm-node' | 'wasm2c-native' };
}

export class BoardError extends Error {
  override name = 'BoardError';
}

export function boardsDir(): string {
  return join(projectRoot(), 'boards');
}

type Validate = ((x: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }> | null };
let validator: Validate | undefined;

function validate(): Validate {
  if (!validator) {
    const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => { compile(s: object): Validate };
    const schema = JSON.parse(readFileSync(join(boardsDir(), 'board.schema.json'), 'utf8'));
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  return validator;
}

/** Validates a parsed board object; throws BoardError naming each failing field. */
export function checkBoard(data: unknown, source = 'board'): Board {
  const v = validate();
  if (v(data)) {
    const b = data as Board;
    if (b.link.maxAckTimeoutMs < b.link.ackTimeoutMs) throw new BoardError(`${source}: /link/maxAckTimeoutMs must be >= /link/ackTimeoutMs`);
    const frame = b.detector.rows * b.detector.cols * 2;
    if (frame > b.memory.budgetBytes - (b.memory.reserveBytes ?? 0)) {
      throw new BoardError(`${source}: /memory/budgetBytes ${b.memory.budgetBytes} (less reserveBytes) cannot hold one ${b.detector.rows}x${b.detector.cols} frame of ${frame} bytes`);
    }
    return b;
  }
  const msgs = (v.errors ?? [])
    .filter((e) => !String(e.message).startsWith('must match "then" schema'))
    .map((e) => {
      const where = e.instancePath || '/';
      if (e.params.additionalProperty) return `${where}/${e.params.additionalProperty}: unknown field`;
      if (e.params.missingProperty) return `${where === '/' ? '' : where}/${e.params.missingProperty}: required field missing`;
      return `${where}: ${e.message}${e.params.allowedValues ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`;
    });
  throw new BoardError(`${source}: invalid board file:\n  ${[...new Set(msgs)].join('\n  ')}`);
}

/** Loads a board by id (boards/<id>.json) or by path to a .json file. */
export function loadBoard(nameOrPath: string): Board {
  const path = nameOrPath.endsWith('.json') || nameOrPath.includes('/') ? nameOrPath : join(boardsDir(), `${nameOrPath}.json`);
  if (!existsSync(path)) throw new BoardError(`board ${nameOrPath}: no such board file (${path}); known boards: ${listBoards().join(', ')}`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BoardError(`${basename(path)}: not valid JSON: ${(e as Error).message}`);
  }
  return checkBoard(data, basename(path));
}

export function listBoards(): string[] {
  const readdirSync = readdirSyncImpl;
  return readdirSync(boardsDir()).filter((f: string) => f.endsWith('.json') && f !== 'board.schema.json').map((f: string) => f.slice(0, -5));
}


/** Deep-merges `patch` over a board (tests and CLI overrides such as --port), then re-validates. */
export function withOverrides(b: Board, patch: Record<string, unknown>): Board {
  const merge = (a: unknown, p: unknown): unknown => {
    if (p && typeof p === 'object' && !Array.isArray(p) && a && typeof a === 'object' && !Array.isArray(a)) {
      const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
      for (const [k, v] of Object.entries(p)) out[k] = merge(out[k], v);
      return out;
    }
    return p === undefined ? a : p;
  };
  return checkBoard(merge(b, patch), `${b.id} (with overrides)`);
}

/** Frame buffers the receiver may hold under the board's memory budget. */
export function frameSlots(b: Board): number {
  const frame = b.detector.rows * b.detector.cols * 2;
  return Math.max(1, Math.min(b.link.framesInFlight + 1, Math.floor((b.memory.budgetBytes - (b.memory.reserveBytes ?? 0)) / frame)));
}

/**
 * The equipment attributes of an object captured through this board: what the board says about
 * its detector, and nothing it does not say. `linkDeviceId` is the id the detector sent on the link.
 */
export function boardEquipment(b: Board, linkDeviceId?: string): CaptureMeta {
  const d = b.detector;
  const out: CaptureMeta = {};
  if (d.manufacturer) out.manufacturer = d.manufacturer;
  if (d.model) out.manufacturerModelName = d.model;
  const serial = d.serialNumber ?? linkDeviceId;
  if (serial) out.deviceSerialNumber = serial;
  if (d.detectorType) out.detectorType = d.detectorType;
  if (d.pixelSpacingMm) out.imagerPixelSpacing = d.pixelSpacingMm;
  if (d.distanceSourceToDetectorMm !== undefined) out.distanceSourceToDetectorMm = d.distanceSourceToDetectorMm;
  return out;
}
