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
      if (!Array.isArray(v) || !isPatientOrientation(v)) throw new MetaError(`${source}: patientOrientation must be ${ORIENTATION_RULE}, e.g. ["L", "F"]`);
    } else if (k === 'imagerPixelSpacing') {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) throw new MetaError(`${source}: imagerPixelSpacing must be [rowMm, colMm], two positive numbers`);
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

const ORIENTATION_RULE = 'two directions (row, then column), each 1 to 3 of A/P/R/L/H/F with no opposite pair (A and P, R and L, H and F) in one';
const OPPOSITE: Record<string, string> = { A: 'P', P: 'A', R: 'L', L: 'R', H: 'F', F: 'H' };

/**
 * Patient Orientation (PS3.3 C.7.6.1.1.1): row then column direction, each 1–3 letters with no
 * letter twice and no opposite pair in one value; the two main directions on different axes.
 */
export function isPatientOrientation(v: unknown[]): v is [string, string] {
  if (v.length !== 2 || !v.every((x) => typeof x === 'string' && /^[AHFPRL]{1,3}$/.test(x))) return false;
  const [row, col] = v as [string, string];
  const axis = (c: string) => [c, OPPOSITE[c]!].sort().join('');
  for (const d of [row, col]) if (new Set(d).size !== d.length || [...d].some((c) => d.includes(OPPOSITE[c]!))) return false;
  return axis(row[0]!) !== axis(col[0]!);
}

/** A Patient Orientation as typed at a console or on a command line: `L\\F` (also `L,F` or `L/F`). */
export function parseOrientation(text: string, source: string): [string, string] {
  const v = text.trim().toUpperCase().split(/[\\,/]/).map((x) => x.trim());
  if (!isPatientOrientation(v)) throw new MetaError(`${source}: Patient Orientation "${text}" must be ${ORIENTATION_RULE}, e.g. L\\F for a PA chest`);
  return v;
}

/** Imager Pixel Spacing as typed: one value for square pixels or `ROW\\COL`, in mm. */
export function parsePixelSpacing(text: string, source: string): [number, number] {
  const v = text.trim().split(/[\\,/]/).map((x) => Number(x.trim()));
  const pair = v.length === 1 ? [v[0]!, v[0]!] : v;
  if (pair.length !== 2 || !pair.every((x) => Number.isFinite(x) && x > 0 && x < 10)) throw new MetaError(`${source}: Imager Pixel Spacing "${text}" must be one or two positive numbers in mm (row\\column), e.g. 0.139`);
  return pair as [number, number];
}

/**
 * What radseal signs only when someone said it. A guessed detector pitch or patient orientation
 * would be signed for good (a lateral view mislabelled as PA, every measurement off by the pitch
 * ratio), and an empty Patient Orientation is not a valid DX image (type 1C): so the object is not
 * made at all. Names each missing attribute and where it comes from.
 */
export function missingAcquisitionAttributes(meta: CaptureMeta, where: { spacing: string; orientation: string }): string[] {
  const out: string[] = [];
  if (!meta.imagerPixelSpacing) out.push(`Imager Pixel Spacing (0018,1164) is not known: ${where.spacing}`);
  if (!meta.patientOrientation) out.push(`Patient Orientation (0020,0020) is not known: ${where.orientation}`);
  return out;
}

/** View Position (0018,5101) as typed: a code string such as PA, AP, LL, RL. */
export function parseViewPosition(text: string, source: string): string {
  const v = text.trim().toUpperCase();
  if (!/^[A-Z0-9 _]{1,16}$/.test(v)) throw new MetaError(`${source}: View Position "${text}" must be a code of up to 16 letters or digits, e.g. PA, AP, LL`);
  return v;
}
