// Modality Performed Procedure Step SCU (PS3.4 Annex F, IHE Scheduled
// Workflow): N-CREATE "IN PROGRESS" at a procedure's first exposure, N-SET
// "COMPLETED" (with the sealed images in Performed Series Sequence) or
// "DISCONTINUED" when it ends. Reports run in the background, in order, and
// never hold up an exposure; a report the SCP does not take is retried a few
// times, then logged (by accession, never by patient).
import type { DataSet, Element } from '../dicom/model.js';
import { tag } from '../dicom/model.js';
import { sq, str } from '../dicom/values.js';
import { dicomDateTime } from '../dicom/signatures.js';
import { commandElement, uidValue, usValue } from './pdu.js';
import { DIMSE, DicomNetError, describePeer, errorComment, responseStatus, withAssociation, type AssociationTarget } from './association.js';
import { DIMSE_TRANSFER_SYNTAXES, encodeDimseDataSet } from './dimse-dataset.js';
import type { WorklistEntry } from './worklist.js';

/** Modality Performed Procedure Step SOP Class. */
export const MPPS_SOP_CLASS = '1.2.840.10008.3.1.2.3.3';

/** A procedure performed from a worklist entry: what MPPS reports about it. */
export interface PerformedProcedure {
  entry: WorklistEntry;
  /** The worklist's Study Instance UID, or one made for it when the RIS sent none. */
  studyInstanceUid: string;
  /** The series its images are in. */
  seriesInstanceUid: string;
  /** Performed Procedure Step ID and start, shared by the images and MPPS. */
  performedStepId: string;
  startedAt: Date;
  /** The MPPS SOP Instance UID. */
  mppsInstanceUid: string;
  /** Sealed objects filed under it, in order. */
  instances: Array<{ sopClassUid: string; sopInstanceUid: string }>;
}
type Procedure = PerformedProcedure;

const T = tag;
const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
/** Success, and the warnings that still mean the SCP took it (attribute list error, value out of range). */
const TAKEN = new Set([0x0000, 0x0107, 0x0116]);

type NOperation = { field: 0x0140 | 0x0120; name: 'N-CREATE' | 'N-SET' };
const N_CREATE: NOperation = { field: 0x0140, name: 'N-CREATE' };
const N_SET: NOperation = { field: 0x0120, name: 'N-SET' };

/** One N-CREATE or N-SET of an MPPS instance on its own association; returns the status. */
async function nOperation(target: AssociationTarget, op: NOperation, sopInstanceUid: string, attributes: DataSet): Promise<number> {
  return withAssociation(target, [{ abstractSyntax: MPPS_SOP_CLASS, transferSyntaxes: DIMSE_TRANSFER_SYNTAXES }], async (a) => {
    const pc = a.requireContext(MPPS_SOP_CLASS, 'Modality Performed Procedure Step');
    const create = op === N_CREATE;
    await a.send(pc.id, [
      commandElement(create ? DIMSE.affectedSopClass : DIMSE.requestedSopClass, uidValue(MPPS_SOP_CLASS)),
      commandElement(DIMSE.commandField, usValue(op.field)),
      commandElement(DIMSE.messageId, usValue(a.newMessageId())),
      commandElement(create ? DIMSE.affectedSopInstance : DIMSE.requestedSopInstance, uidValue(sopInstanceUid)),
    ], encodeDimseDataSet(attributes, pc.transferSyntax));
    const rsp = await a.receive();
    const status = responseStatus(rsp, op.name);
    if (!TAKEN.has(status)) {
      const comment = errorComment(rsp);
      // 0x0110 processing failure and 0xA7xx-like resource trouble may pass; the rest is about this report.
      throw new DicomNetError(`MPPS ${op.name} refused by ${describePeer(target)}: status ${hex(status)}${comment ? ` (${comment})` : ''}`, status === 0x0110 || status === 0x0213);
    }
    return status;
  });
}

/** N-CREATE attributes (PS3.4 F.7.2.1): patient, scheduled step, performed step IN PROGRESS. */
export function mppsCreateAttributes(p: Procedure, stationAe: string): DataSet {
  const e = p.entry;
  const started = dicomDateTime(p.startedAt);
  return [
    str(T(0x0008, 0x0005), 'CS', 'ISO_IR 192'),
    str(T(0x0008, 0x0060), 'CS', e.modality || 'DX'),
    sq(T(0x0008, 0x1032), []),
    sq(T(0x0008, 0x1120), []),
    str(T(0x0010, 0x0010), 'PN', e.patientName),
    str(T(0x0010, 0x0020), 'LO', e.patientId),
    str(T(0x0010, 0x0030), 'DA', e.patientBirthDate),
    str(T(0x0010, 0x0040), 'CS', e.patientSex),
    str(T(0x0020, 0x0010), 'SH', e.requestedProcedureId.slice(0, 16)),
    str(T(0x0040, 0x0241), 'AE', stationAe),
    str(T(0x0040, 0x0242), 'SH', ''),
    str(T(0x0040, 0x0243), 'SH', ''),
    str(T(0x0040, 0x0244), 'DA', started.slice(0, 8)),
    str(T(0x0040, 0x0245), 'TM', started.slice(8, 14)),
    str(T(0x0040, 0x0250), 'DA', ''),
    str(T(0x0040, 0x0251), 'TM', ''),
    str(T(0x0040, 0x0252), 'CS', 'IN PROGRESS'),
    str(T(0x0040, 0x0253), 'SH', p.performedStepId),
    str(T(0x0040, 0x0254), 'LO', e.scheduledStepDescription),
    str(T(0x0040, 0x0255), 'LO', ''),
    sq(T(0x0040, 0x0260), []),
    sq(T(0x0040, 0x0270), [[
      str(T(0x0008, 0x0050), 'SH', e.accessionNumber),
      sq(T(0x0008, 0x1110), []),
      str(T(0x0020, 0x000d), 'UI', p.studyInstanceUid),
      str(T(0x0032, 0x1060), 'LO', e.requestedProcedureDescription),
      str(T(0x0040, 0x0007), 'LO', e.scheduledStepDescription),
      sq(T(0x0040, 0x0008), []),
      str(T(0x0040, 0x0009), 'SH', e.scheduledStepId),
      str(T(0x0040, 0x1001), 'SH', e.requestedProcedureId),
    ]]),
    sq(T(0x0040, 0x0340), []),
  ];
}

/** N-SET attributes at the end: end time, final status and the series with every sealed image. */
export function mppsFinalAttributes(p: Procedure, outcome: 'COMPLETED' | 'DISCONTINUED', instances: Procedure['instances'], endedAt: Date): DataSet {
  const ended = dicomDateTime(endedAt);
  const images: Element[][] = instances.map((i) => [str(T(0x0008, 0x1150), 'UI', i.sopClassUid), str(T(0x0008, 0x1155), 'UI', i.sopInstanceUid)]);
  return [
    str(T(0x0040, 0x0250), 'DA', ended.slice(0, 8)),
    str(T(0x0040, 0x0251), 'TM', ended.slice(8, 14)),
    str(T(0x0040, 0x0252), 'CS', outcome),
    sq(T(0x0040, 0x0340), [[
      str(T(0x0008, 0x0054), 'AE', ''),
      str(T(0x0008, 0x103e), 'LO', p.entry.scheduledStepDescription),
      str(T(0x0008, 0x1050), 'PN', ''),
      str(T(0x0008, 0x1070), 'PN', ''),
      sq(T(0x0008, 0x1140), images),
      str(T(0x0018, 0x1030), 'LO', p.entry.scheduledStepDescription || p.entry.requestedProcedureDescription || 'radseal exposure'),
      str(T(0x0020, 0x000e), 'UI', p.seriesInstanceUid),
      sq(T(0x0040, 0x0220), []),
    ]]),
  ];
}

export interface MppsReporterOptions {
  stationAe: string;
  log?: (m: string) => void;
  /** Tries per report while the failure is transient (default 4), first pause (default 1 s, doubling). */
  attempts?: number;
  retryDelayMs?: number;
}

/** Reports procedures to an MPPS SCP in order, in the background (the desk's ProcedureReporter). */
export class MppsReporter {
  private chain: Promise<void> = Promise.resolve();
  /** MPPS instances the SCP took (an N-SET without its N-CREATE would be refused anyway). */
  private readonly created = new Set<string>();
  private readonly log: (m: string) => void;

  constructor(private readonly target: AssociationTarget, private readonly o: MppsReporterOptions) {
    this.log = o.log ?? (() => {});
  }

  started(p: Procedure): void {
    const attributes = mppsCreateAttributes(p, this.o.stationAe);
    this.enqueue(`N-CREATE IN PROGRESS for accession ${p.entry.accessionNumber}`, async () => {
      await nOperation(this.target, N_CREATE, p.mppsInstanceUid, attributes);
      this.created.add(p.mppsInstanceUid);
    });
  }

  /** Restored after a restart: its N-CREATE went out in the run before (the SCP holds the instance). */
  resumed(p: Procedure): void {
    this.created.add(p.mppsInstanceUid);
  }

  ended(p: Procedure, outcome: 'COMPLETED' | 'DISCONTINUED'): void {
    // The images as they are now: later changes to the procedure do not alter this report.
    const attributes = mppsFinalAttributes(p, outcome, [...p.instances], new Date());
    this.enqueue(`N-SET ${outcome} for accession ${p.entry.accessionNumber} (${p.instances.length} image(s))`, async () => {
      if (!this.created.has(p.mppsInstanceUid)) throw new DicomNetError('its N-CREATE was never taken', false);
      await nOperation(this.target, N_SET, p.mppsInstanceUid, attributes);
    });
  }

  drain(): Promise<void> {
    return this.chain;
  }

  private enqueue(what: string, work: () => Promise<void>): void {
    const attempts = this.o.attempts ?? 4;
    this.chain = this.chain.then(async () => {
      let delay = this.o.retryDelayMs ?? 1000;
      for (let i = 1; ; i++) {
        try {
          await work();
          this.log(`mpps: ${what} -> ${describePeer(this.target)}`);
          return;
        } catch (err) {
          const e = err as DicomNetError;
          if (!e.retryable || i >= attempts) {
            this.log(`mpps: ${what} not reported: ${e.message}`);
            return;
          }
          await new Promise((r) => setTimeout(r, delay));
          delay *= 2;
        }
      }
    });
  }
}
