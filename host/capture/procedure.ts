// Which procedure the next exposure belongs to. The technologist selects a
// worklist entry (radseal worklist select); every exposure from then on is
// sealed with that patient, study, accession and requested procedure, in one
// series per selection, until the next selection or clear. With nothing
// selected, the exposure is sealed as it is (no patient) and held in
// OUTBOX/unassigned/, never forwarded, until `worklist assign` files it under a
// procedure: that makes a second sealed object (host/seal/assignment.ts) which
// goes to PACS; the first stays where it is, unchanged, as evidence.
//
// Patient data lives in memory and in the sealed objects only: the log lines
// here name accessions and file names, never a patient.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureMeta } from '../dicom/dx.js';
import type { Element, Tag } from '../dicom/model.js';
import { tag } from '../dicom/model.js';
import { sq, str } from '../dicom/values.js';
import { newUid } from '../dicom/uids.js';
import { dicomDateTime } from '../dicom/signatures.js';
import { Outbox, type OutboxEntry } from '../net/outbox.js';
import { readPart10, readPart10Meta } from '../dicom/reader.js';
import { findElement } from '../dicom/model.js';
import { decodeString } from '../dicom/values.js';
import type { AssociationTarget } from '../net/association.js';
import { queryWorklist, type WorklistEntry } from '../net/worklist.js';
import { MPPS_SOP_CLASS, type PerformedProcedure } from '../net/mpps.js';
import { sealAssignment } from '../seal/assignment.js';
import { CONTROL_FOLDER } from './control.js';
import { loadSelection, saveSelection, type Positioning } from './selection-state.js';
import type { DeviceIdentity, SealedObject } from '../seal/seal.js';
import { makeDirs } from '../io/dirs.js';

/** Where held exposures wait: OUTBOX/unassigned/ready/; once assigned they move to OUTBOX/unassigned/sent/. */
export const UNASSIGNED_FOLDER = 'unassigned';

/** A selected worklist entry and what radseal made for it: series, performed step, MPPS instance, images. */
export type Procedure = PerformedProcedure;

/** How one exposure is filed: its meta and extra elements for the seal, or held (no procedure). */
export interface ExposureFiling {
  procedure: Procedure | null;
  meta: CaptureMeta;
  extraElements: Element[];
}

/** What the desk tells the performed-procedure reporting (MPPS) about. */
export interface ProcedureReporter {
  /** First exposure of a procedure sealed (N-CREATE IN PROGRESS). */
  started(p: Procedure): void;
  /** Procedure ended by clear, the next selection or stop (N-SET COMPLETED or DISCONTINUED). */
  ended(p: Procedure, outcome: 'COMPLETED' | 'DISCONTINUED'): void;
  /** A procedure restored after a restart whose first exposure was reported before it (its N-CREATE was sent). */
  resumed?(p: Procedure): void;
  /** Everything sent (for stop). */
  drain(): Promise<void>;
}

export interface ProcedureDeskOptions {
  /** RIS Modality Worklist SCP. */
  worklist: AssociationTarget;
  /** Scheduled Station AE Title to query for. */
  stationAe: string;
  device: DeviceIdentity;
  /** Also query by modality (default: any). */
  modality?: string;
  reporter?: ProcedureReporter;
  log?: (m: string) => void;
  /** Injected for tests; default: today (local time). */
  today?: () => string;
}

/** Held exposures, as `worklist unassigned` lists them. */
export interface HeldExposure {
  name: string;
  deviceId: string;
  serial: number;
  sopInstanceUid: string;
}

export class ProcedureError extends Error {
  override name = 'ProcedureError';
}

const T = tag;
/** One filing attribute: CaptureMeta key (for a new seal), tag and VR (to re-file a sealed object). */
type Field = [keyof CaptureMeta, Tag, string, string | number];

function filingFields(p: Procedure, instanceNumber: number): Field[] {
  const e = p.entry;
  return [
    ['accessionNumber', T(0x0008, 0x0050), 'SH', e.accessionNumber],
    ['referringPhysicianName', T(0x0008, 0x0090), 'PN', e.referringPhysicianName],
    ['studyDescription', T(0x0008, 0x1030), 'LO', e.requestedProcedureDescription],
    ['patientName', T(0x0010, 0x0010), 'PN', e.patientName],
    ['patientId', T(0x0010, 0x0020), 'LO', e.patientId],
    ['patientBirthDate', T(0x0010, 0x0030), 'DA', e.patientBirthDate],
    ['patientSex', T(0x0010, 0x0040), 'CS', ['M', 'F', 'O'].includes(e.patientSex) ? e.patientSex : ''],
    ['studyInstanceUid', T(0x0020, 0x000d), 'UI', p.studyInstanceUid],
    ['seriesInstanceUid', T(0x0020, 0x000e), 'UI', p.seriesInstanceUid],
    ['studyId', T(0x0020, 0x0010), 'SH', e.requestedProcedureId.slice(0, 16)],
    ['instanceNumber', T(0x0020, 0x0013), 'IS', instanceNumber],
  ];
}

/**
 * The request and performed-step attributes: Request Attributes Sequence (what was asked for),
 * Performed Procedure Step start/ID/description, and with MPPS the Referenced Performed
 * Procedure Step Sequence, so PACS can tie images, MPPS and order together.
 */
export function requestElements(p: Procedure, withMpps: boolean): Element[] {
  const e = p.entry;
  const started = dicomDateTime(p.startedAt);
  const out: Element[] = [];
  if (withMpps) {
    out.push(sq(T(0x0008, 0x1111), [[str(T(0x0008, 0x1150), 'UI', MPPS_SOP_CLASS), str(T(0x0008, 0x1155), 'UI', p.mppsInstanceUid)]]));
  }
  out.push(
    str(T(0x0040, 0x0244), 'DA', started.slice(0, 8)),
    str(T(0x0040, 0x0245), 'TM', started.slice(8, 14)),
    str(T(0x0040, 0x0253), 'SH', p.performedStepId),
    str(T(0x0040, 0x0254), 'LO', e.scheduledStepDescription),
    sq(T(0x0040, 0x0275), [[
      str(T(0x0008, 0x0050), 'SH', e.accessionNumber),
      str(T(0x0020, 0x000d), 'UI', p.studyInstanceUid),
      str(T(0x0032, 0x1060), 'LO', e.requestedProcedureDescription),
      str(T(0x0040, 0x0007), 'LO', e.scheduledStepDescription),
      str(T(0x0040, 0x0009), 'SH', e.scheduledStepId),
      str(T(0x0040, 0x1001), 'SH', e.requestedProcedureId),
    ]]),
  );
  return out;
}

export class ProcedureDesk {
  private outbox: Outbox | null = null;
  private kick: () => void = () => {};
  readonly unassigned: Outbox;
  private selected: Procedure | null = null;
  /** Patient orientation and view for the following exposures, as the technologist said. */
  private positioning: Positioning | null = null;
  private readonly stateFolder: string;
  private entries: WorklistEntry[] = [];
  /** Procedures that have ended (their MPPS final report is queued). */
  private readonly ended = new WeakSet<Procedure>();
  private readonly log: (m: string) => void;

  constructor(readonly outboxDir: string, private readonly o: ProcedureDeskOptions) {
    this.log = o.log ?? (() => {});
    // A second durable outbox: same crash rules, its own (device, serial) journal; nothing forwards from it.
    this.unassigned = new Outbox(join(outboxDir, UNASSIGNED_FOLDER));
    this.stateFolder = join(outboxDir, CONTROL_FOLDER);
    makeDirs(this.stateFolder, 0o750);
    // The selection outlives a restart: the technologist's patient stays selected (docs/WORKLIST.md).
    const { selection, problem } = loadSelection(this.stateFolder);
    if (problem) this.log(`worklist: ${problem}`);
    this.selected = selection.procedure;
    this.positioning = selection.positioning;
    if (this.selected) {
      this.log(`worklist: accession ${this.selected.entry.accessionNumber} is still selected from before the restart (${this.selected.instances.length} image(s) so far)`);
      if (this.selected.instances.length) this.o.reporter?.resumed?.(this.selected);
    }
  }

  private save(): void {
    saveSelection(this.stateFolder, { procedure: this.selected, positioning: this.positioning });
  }

  /** Patient orientation and view of the following exposures. */
  get currentPositioning(): Positioning | null {
    return this.positioning;
  }

  /** Sets how the patient is positioned for the following exposures (same procedure). */
  position(positioning: Positioning): void {
    this.positioning = positioning;
    this.save();
    this.log(`worklist: following exposures are ${positioning.patientOrientation.join('\\')}${positioning.viewPosition ? ` ${positioning.viewPosition}` : ''}`);
  }

  /** The capture service's outbox (where filed objects go) and how to wake its forwarder. */
  attach(outbox: Outbox, kick: () => void): void {
    this.outbox = outbox;
    this.kick = kick;
  }

  /** Today's steps for this station, fresh from the RIS. */
  async list(): Promise<WorklistEntry[]> {
    const r = await queryWorklist(this.o.worklist, { stationAe: this.o.stationAe, modality: this.o.modality, date: this.o.today?.() });
    this.entries = r.entries;
    if (r.truncated) this.log(`worklist: more than ${r.entries.length} entries for ${this.o.stationAe}; showing the first ${r.entries.length}`);
    return r.entries;
  }

  get current(): Procedure | null {
    return this.selected;
  }

  /** The worklist entry of an accession (and step, when the accession has several). */
  private async find(accession: string, stepId?: string): Promise<WorklistEntry> {
    const match = (list: WorklistEntry[]) => list.filter((e) => e.accessionNumber === accession && (!stepId || e.scheduledStepId === stepId));
    let found = match(this.entries);
    if (!found.length) found = match(await this.list());
    if (!found.length) throw new ProcedureError(`accession ${accession}${stepId ? ` step ${stepId}` : ''} is not in today's worklist for ${this.o.stationAe}`);
    if (found.length > 1) throw new ProcedureError(`accession ${accession} has ${found.length} scheduled steps (${found.map((e) => e.scheduledStepId).join(', ')}): name one with --step`);
    return found[0]!;
  }

  /**
   * Selects a procedure for the following exposures; the one before it ends (COMPLETED). A new
   * patient starts with the positioning given here, or none (never the previous patient's).
   */
  async select(accession: string, stepId?: string, positioning?: Positioning): Promise<Procedure> {
    const next = await this.procedureFor(accession, stepId);
    this.end('COMPLETED');
    this.selected = next;
    this.positioning = positioning ?? null;
    this.save();
    this.log(`worklist: accession ${accession} selected (step ${next.entry.scheduledStepId || '-'}); following exposures are filed under it`);
    return next;
  }

  /** No procedure from now on: following exposures are held unassigned. */
  clear(outcome: 'COMPLETED' | 'DISCONTINUED' = 'COMPLETED'): Procedure | null {
    const was = this.end(outcome);
    this.positioning = null;
    this.save();
    if (was) this.log(`worklist: accession ${was.entry.accessionNumber} cleared (${was.instances.length} image(s), ${outcome.toLowerCase()}); following exposures are held unassigned`);
    return was;
  }

  private end(outcome: 'COMPLETED' | 'DISCONTINUED'): Procedure | null {
    const was = this.selected;
    this.selected = null;
    if (was) this.ended.add(was);
    if (was && was.instances.length) this.o.reporter?.ended(was, outcome);
    return was;
  }

  /** Whether the held store has sealed (device, serial): the device's resend is then a duplicate. */
  holds(deviceId: string, serial: number): boolean {
    return this.unassigned.has(deviceId, serial);
  }

  /** How the next exposure is filed: the selected procedure's attributes, or nothing (held). */
  fileExposure(): ExposureFiling {
    const p = this.selected;
    if (!p) return { procedure: null, meta: {}, extraElements: [] };
    const fields = filingFields(p, p.instances.length + 1);
    const meta = Object.fromEntries(fields.map(([k, , , v]) => [k, v])) as CaptureMeta;
    if (this.positioning) {
      meta.patientOrientation = this.positioning.patientOrientation;
      if (this.positioning.viewPosition) meta.viewPosition = this.positioning.viewPosition;
    }
    return { procedure: p, meta, extraElements: requestElements(p, !!this.o.reporter) };
  }

  /** Stores a sealed exposure: in the outbox when filed under a procedure, else held unassigned. */
  keep(filing: ExposureFiling, deviceId: string, serial: number, sealed: SealedObject): OutboxEntry {
    const p = filing.procedure;
    if (!p) {
      const held = this.unassigned.put(deviceId, serial, sealed.bytes);
      this.log(`worklist: no procedure selected; ${held.name} held in ${UNASSIGNED_FOLDER}/ until it is assigned (radseal worklist assign)`);
      return held;
    }
    const entry = this.requireOutbox().put(deviceId, serial, sealed.parts);
    // The meta group is in the first piece (all of the file unless the seal was gathered).
    p.instances.push({ sopClassUid: readPart10Meta(sealed.parts[0]!).mediaStorageSopClassUid, sopInstanceUid: sealed.sopInstanceUid });
    if (p === this.selected) this.save();
    if (this.ended.has(p)) {
      // Sealing was under way when the procedure ended: the image is filed under it, its MPPS was already sent.
      if (this.o.reporter) this.log(`worklist: ${entry.name} was being sealed when accession ${p.entry.accessionNumber} ended; it is filed under it but not in its MPPS`);
    } else if (p.instances.length === 1) this.o.reporter?.started(p);
    return entry;
  }

  /** Exposures held unassigned, oldest first. */
  held(): HeldExposure[] {
    return this.unassigned.pending().map((e) => ({ name: e.name, deviceId: e.deviceId, serial: e.serial, sopInstanceUid: readPart10Meta(fileHead(e.path)).mediaStorageSopInstanceUid }));
  }

  /** How many exposures are held (no file is read). */
  heldCount(): number {
    return this.unassigned.pending().length;
  }

  /**
   * Files held exposures (by name, or all) under an accession: each gets a second sealed object
   * with the procedure's patient, study and request attributes that goes to the outbox and PACS;
   * the held original moves to unassigned/sent/ and is never forwarded. Returns the new objects' names.
   */
  async assign(accession: string, names: string[] | 'all', assignedBy: string, stepId?: string, positioning?: Positioning): Promise<Array<{ held: string; filed: string; sopInstanceUid: string }>> {
    const outbox = this.requireOutbox();
    const held = this.unassigned.pending();
    const chosen = names === 'all' ? held : names.map((n) => held.find((h) => h.name === n) ?? fail(`${n} is not held unassigned (see radseal worklist unassigned)`));
    if (!chosen.length) throw new ProcedureError('no exposure is held unassigned');
    // Into the selected procedure's series when it is the same accession; otherwise a series of their own.
    const p = this.selected && this.selected.entry.accessionNumber === accession && (!stepId || this.selected.entry.scheduledStepId === stepId)
      ? this.selected
      : await this.procedureFor(accession, stepId);
    const out: Array<{ held: string; filed: string; sopInstanceUid: string }> = [];
    for (const h of chosen) {
      if (outbox.has(h.deviceId, h.serial)) {
        // A crash after the filed object was stored, before the original moved: finish the move only.
        this.unassigned.markSent(h);
        continue;
      }
      const original = new Uint8Array(readFileSync(h.path));
      if (!positioning && !decodeString(findElement(readPart10(original).dataSet, T(0x0020, 0x0020))?.value)) {
        throw new ProcedureError(`${h.name} was taken with no patient orientation: say it for the assignment (radseal worklist assign --orientation ROW\\COL)`);
      }
      const fields = filingFields(p, p.instances.length + 1);
      const filing = [...fields.map(([, t, vr, v]) => str(t, vr, String(v))), ...positioningElements(positioning), ...requestElements(p, !!this.o.reporter && p === this.selected)];
      const sealed = await sealAssignment({ original, filing, assignedBy }, this.o.device);
      const entry = outbox.put(h.deviceId, h.serial, sealed.bytes);
      this.unassigned.markSent(h);
      p.instances.push({ sopClassUid: readPart10Meta(sealed.bytes).mediaStorageSopClassUid, sopInstanceUid: sealed.sopInstanceUid });
      if (p === this.selected) this.save();
      if (p === this.selected && p.instances.length === 1) this.o.reporter?.started(p);
      this.log(`worklist: ${h.name} (SHA-256 ${hex(createHash('sha256').update(original).digest()).slice(0, 16)}…) assigned to accession ${accession} as ${entry.name}`);
      out.push({ held: h.name, filed: entry.name, sopInstanceUid: sealed.sopInstanceUid });
    }
    this.kick();
    return out;
  }

  /** A new Procedure for a worklist entry: its own series, performed step and MPPS instance. */
  private async procedureFor(accession: string, stepId?: string): Promise<Procedure> {
    const entry = await this.find(accession, stepId);
    if (!entry.studyInstanceUid) this.log(`worklist: accession ${accession} came without a Study Instance UID; made one for its images`);
    return {
      entry,
      studyInstanceUid: entry.studyInstanceUid || newUid(),
      seriesInstanceUid: newUid(),
      performedStepId: `PPS${Date.now().toString(36).toUpperCase()}`.slice(0, 16),
      startedAt: new Date(),
      mppsInstanceUid: newUid(),
      instances: [],
    };
  }

  private requireOutbox(): Outbox {
    if (!this.outbox) throw new Error('internal: procedure desk not attached to the capture outbox');
    return this.outbox;
  }

  /**
   * At service stop: reports already queued go out. The selected procedure stays selected (saved):
   * a restart is not the end of an examination; `worklist clear` is.
   */
  async close(): Promise<void> {
    if (!this.o.reporter) return;
    // Stopping waits for the last reports, within reason: a dead MPPS SCP must not hold the service.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      this.o.reporter.drain().then(() => false),
      new Promise<boolean>((res) => (timer = setTimeout(() => res(true), CLOSE_REPORT_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (gaveUp) this.log(`worklist: stopping with MPPS reports still unsent after ${CLOSE_REPORT_WAIT_MS / 1000} s; they are lost`);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Patient Orientation and View Position for an assignment: said for the held exposures, which had none or another. */
function positioningElements(p: Positioning | undefined): Element[] {
  if (!p) return [];
  return [str(T(0x0020, 0x0020), 'CS', p.patientOrientation), ...(p.viewPosition ? [str(T(0x0018, 0x5101), 'CS', p.viewPosition)] : [])];
}
const CLOSE_REPORT_WAIT_MS = 15000;

/** The first bytes of a file: enough for its Part 10 meta header, without reading the pixels. */
function fileHead(path: string, bytes = 16384): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}
function fail(message: string): never {
  throw new ProcedureError(message);
}
