// The technologist's selection (procedure and positioning) as a file, so that
// a restart of the capture service (update, crash, power cut) does not silently
// send the next exposures to "unassigned" or, worse, leave the technologist
// believing a patient is selected when none is.
//
// OUTBOX/worklist/selection.json, mode 0600 (it names the patient), written
// atomically and durably (host/io/atomic.ts) at every change: select, position,
// clear, and each image filed (its instance list feeds MPPS and instance
// numbers). A file that cannot be read back whole is set aside, never guessed from.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { WorklistEntry } from '../net/worklist.js';
import type { PerformedProcedure } from '../net/mpps.js';
import { isPatientOrientation, parseViewPosition } from '../seal/meta.js';

export const SELECTION_FILE = 'selection.json';
const VERSION = 1;

/** How the patient is positioned for the following exposures, as said at the console. */
export interface Positioning {
  /** Patient Orientation (0020,0020): row, then column direction. */
  patientOrientation: [string, string];
  /** View Position (0018,5101), e.g. PA, AP, LL. */
  viewPosition?: string;
}

export interface Selection {
  procedure: PerformedProcedure | null;
  positioning: Positioning | null;
}

export function saveSelection(folder: string, s: Selection): void {
  const json = {
    version: VERSION,
    procedure: s.procedure && { ...s.procedure, startedAt: s.procedure.startedAt.toISOString() },
    positioning: s.positioning,
  };
  writeFileAtomic(join(folder, SELECTION_FILE), Buffer.from(JSON.stringify(json) + '\n'), { mode: 0o600 });
}

/**
 * The selection saved by the last run, or none. A file that is not a whole, well-formed selection
 * is renamed aside (selection.json.unreadable-<time>) and the reason returned for the log.
 */
export function loadSelection(folder: string): { selection: Selection; problem?: string } {
  const path = join(folder, SELECTION_FILE);
  const none: Selection = { procedure: null, positioning: null };
  if (!existsSync(path)) return { selection: none };
  try {
    return { selection: parseSelection(JSON.parse(readFileSync(path, 'utf8'))) };
  } catch (err) {
    const aside = `${path}.unreadable-${Date.now()}`;
    renameSync(path, aside);
    return { selection: none, problem: `${path} could not be read back (${(err as Error).message}); set aside as ${aside}, nothing is selected` };
  }
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= 1024;

function parseSelection(j: unknown): Selection {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.version !== VERSION) throw new Error(`not a version ${VERSION} selection`);
  return { procedure: o.procedure === null ? null : parseProcedure(o.procedure), positioning: o.positioning === null ? null : parsePositioning(o.positioning) };
}

const ENTRY_FIELDS: ReadonlyArray<keyof WorklistEntry> = [
  'patientName', 'patientId', 'patientBirthDate', 'patientSex', 'accessionNumber', 'studyInstanceUid', 'requestedProcedureId',
  'requestedProcedureDescription', 'referringPhysicianName', 'scheduledStepId', 'scheduledStepDescription', 'scheduledStationAe',
  'scheduledStartDate', 'scheduledStartTime', 'modality',
];

function parseProcedure(v: unknown): PerformedProcedure {
  const p = v as Record<string, unknown>;
  if (!p || typeof p !== 'object') throw new Error('procedure is not an object');
  const e = p.entry as Record<string, unknown>;
  if (!e || typeof e !== 'object' || !ENTRY_FIELDS.every((k) => isText(e[k]))) throw new Error('procedure.entry is incomplete');
  for (const k of ['studyInstanceUid', 'seriesInstanceUid', 'performedStepId', 'mppsInstanceUid', 'startedAt'] as const) {
    if (!isText(p[k]) || !p[k]) throw new Error(`procedure.${k} missing`);
  }
  const startedAt = new Date(p.startedAt as string);
  if (Number.isNaN(startedAt.getTime())) throw new Error('procedure.startedAt is not a time');
  const instances = p.instances;
  if (!Array.isArray(instances) || !instances.every((i) => i && isText(i.sopClassUid) && isText(i.sopInstanceUid))) throw new Error('procedure.instances malformed');
  return {
    entry: Object.fromEntries(ENTRY_FIELDS.map((k) => [k, e[k]])) as unknown as WorklistEntry,
    studyInstanceUid: p.studyInstanceUid as string,
    seriesInstanceUid: p.seriesInstanceUid as string,
    performedStepId: p.performedStepId as string,
    mppsInstanceUid: p.mppsInstanceUid as string,
    startedAt,
    instances: instances.map((i: { sopClassUid: string; sopInstanceUid: string }) => ({ sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid })),
  };
}

function parsePositioning(v: unknown): Positioning {
  const p = v as Record<string, unknown>;
  const o = p?.patientOrientation;
  if (!Array.isArray(o) || !isPatientOrientation(o)) throw new Error('positioning.patientOrientation malformed');
  if (p.viewPosition !== undefined && !isText(p.viewPosition)) throw new Error('positioning.viewPosition malformed');
  return { patientOrientation: [o[0], o[1]], ...(p.viewPosition !== undefined ? { viewPosition: parseViewPosition(p.viewPosition, 'positioning.viewPosition') } : {}) };
}
