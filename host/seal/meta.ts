// The --meta JSON file: known keys only, each with the right type.
import { readFileSync } from 'node:fs';
import { DETECTOR_TYPES, META_KEYS, type CaptureMeta } from '../dicom/dx.js';

export class MetaError extends Error {
  override name = 'MetaError';
}

const NUMERIC = new Set(['seriesNumber', 'instanceNumber']);
/** Exposure values the modality measured: positive numbers in the units their names say. */
const MEASURED = new Set(['kvp', 'exposureMas', 'exposureIndex', 'distanceSourceToDetectorMm']);

/** The meta file: DICOM attributes, and the id of the capture board the frame came through. */
export interface SealMeta extends CaptureMeta {
  boardId?: string;
}

export function parseMeta(json: unknown, source: string): SealMeta {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MetaError(`${source}: expected a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === 'boardId') {
      if (typeof v !== 'string' || !/^[a-z0-9][a-z0-9-]{1,63}$/.test(v)) throw new MetaError(`${source}: boardId must be a board id such as "gige-tcp-bridge"`);
    } else if (!(META_KEYS as readonly string[]).includes(k)) {
      throw new MetaError(`${source}: unknown key "${k}" (known: boardId, ${META_KEYS.join(', ')})`);
    } else if (MEASURED.has(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new MetaError(`${source}: ${k} must be a positive number`);
    } else if (k === 'detectorType') {
      if (!(DETECTOR_TYPES as readonly unknown[]).includes(v)) throw new MetaError(`${source}: detectorType must be one of ${DETECTOR_TYPES.join(', ')}`);
    } else if (k === 'patientOrientation') {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'string' && /^[AHFPRL]{1,3}$/.test(x))) throw new MetaError(`${source}: patientOrientation must be two of A/P/R/L/H/F, e.g. ["L", "F"]`);
    } else if (k === 'imagerPixelSpacing') {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && x > 0)) throw new MetaError(`${source}: imagerPixelSpacing must be [rowMm, colMm]`);
    } else if (NUMERIC.has(k)) {
      if (!Number.isInteger(v)) throw new MetaError(`${source}: ${k} must be an integer`);
    } else if (typeof v !== 'string') {
      throw new MetaError(`${source}: ${k} must be a string`);
    }
    out[k] = v;
  }
  return out as SealMeta;
}

export function readMetaFile(path: string): SealMeta {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new MetaError(`cannot read meta file ${path}`);
  }
  try {
    return parseMeta(JSON.parse(text), path);
  } catch (err) {
    if (err instanceof MetaError) throw err;
    throw new MetaError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
