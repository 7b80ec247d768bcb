// Modality Worklist C-FIND SCU (Modality Worklist Information Model - FIND,
// PS3.4 K.6.1): asks the RIS for today's Scheduled Procedure Steps of this
// station and returns them typed. Patient data stays in the returned entries;
// nothing here logs it.
import type { DataSet, Element } from '../dicom/model.js';
import { tag } from '../dicom/model.js';
import { str, sq } from '../dicom/values.js';
import { commandElement, uidValue, usValue } from './pdu.js';
import {
  Association, DicomNetError, DicomTimeoutError, DIMSE, describePeer, errorComment, responseStatus,
  type AssociationTarget, type DimseMessage,
} from './association.js';
import { DIMSE_TRANSFER_SYNTAXES, decodeDimseDataSet, encodeDimseDataSet } from './dimse-dataset.js';

export const MODALITY_WORKLIST_FIND = '1.2.840.10008.5.1.4.31';

/** One Scheduled Procedure Step as the RIS returned it (empty strings where it returned nothing). */
export interface WorklistEntry {
  patientName: string;
  patientId: string;
  patientBirthDate: string;
  patientSex: string;
  accessionNumber: string;
  studyInstanceUid: string;
  requestedProcedureId: string;
  requestedProcedureDescription: string;
  referringPhysicianName: string;
  scheduledStepId: string;
  scheduledStepDescription: string;
  scheduledStationAe: string;
  scheduledStartDate: string;
  scheduledStartTime: string;
  modality: string;
}

export interface WorklistQuery {
  /** Scheduled Station AE Title to match: this workstation. */
  stationAe: string;
  /** Scheduled Procedure Step Start Date to match, YYYYMMDD; default today (local time). */
  date?: string;
  /** Modality to match (e.g. DX); default any. */
  modality?: string;
  /** The whole query, first byte to last answer; on expiry it is cancelled. Default 10 s. */
  timeoutMs?: number;
  /** More entries than this: the query is cancelled and the entries so far returned (truncated). Default 500. */
  maxEntries?: number;
}

export interface WorklistResult {
  entries: WorklistEntry[];
  /** The RIS had more than maxEntries: the query was cancelled after that many. */
  truncated: boolean;
}

export class WorklistError extends DicomNetError {
  override name = 'WorklistError';
}

const T = tag;
const TAGS = {
  specificCharacterSet: T(0x0008, 0x0005),
  accessionNumber: T(0x0008, 0x0050),
  modality: T(0x0008, 0x0060),
  referringPhysicianName: T(0x0008, 0x0090),
  patientName: T(0x0010, 0x0010),
  patientId: T(0x0010, 0x0020),
  patientBirthDate: T(0x0010, 0x0030),
  patientSex: T(0x0010, 0x0040),
  studyInstanceUid: T(0x0020, 0x000d),
  requestedProcedureDescription: T(0x0032, 0x1060),
  scheduledStationAe: T(0x0040, 0x0001),
  scheduledStartDate: T(0x0040, 0x0002),
  scheduledStartTime: T(0x0040, 0x0003),
  scheduledPerformingPhysician: T(0x0040, 0x0006),
  scheduledStepDescription: T(0x0040, 0x0007),
  scheduledStepId: T(0x0040, 0x0009),
  scheduledStepSequence: T(0x0040, 0x0100),
  requestedProcedureId: T(0x0040, 0x1001),
} as const;

/** YYYYMMDD of a local date: "today" at the workstation is the hospital's today. */
export function localDicomDate(d: Date = new Date()): string {
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
}

/** The C-FIND identifier: matching keys (station, date, modality) and empty return keys. */
export function worklistIdentifier(q: WorklistQuery): DataSet {
  const step: Element[] = [
    str(TAGS.modality, 'CS', q.modality ?? ''),
    str(TAGS.scheduledStationAe, 'AE', q.stationAe),
    str(TAGS.scheduledStartDate, 'DA', q.date ?? localDicomDate()),
    str(TAGS.scheduledStartTime, 'TM', ''),
    str(TAGS.scheduledPerformingPhysician, 'PN', ''),
    str(TAGS.scheduledStepDescription, 'LO', ''),
    str(TAGS.scheduledStepId, 'SH', ''),
  ];
  return [
    str(TAGS.accessionNumber, 'SH', ''),
    str(TAGS.referringPhysicianName, 'PN', ''),
    str(TAGS.patientName, 'PN', ''),
    str(TAGS.patientId, 'LO', ''),
    str(TAGS.patientBirthDate, 'DA', ''),
    str(TAGS.patientSex, 'CS', ''),
    str(TAGS.studyInstanceUid, 'UI', ''),
    str(TAGS.requestedProcedureDescription, 'LO', ''),
    sq(TAGS.scheduledStepSequence, [step]),
    str(TAGS.requestedProcedureId, 'SH', ''),
  ];
}

/** Text of an element in the response's character set: UTF-8 (ISO_IR 192), else Latin-1. */
function textReader(ds: DataSet): (d: DataSet, t: number) => string {
  const charset = new TextDecoder('latin1').decode(ds.find((e) => e.tag === TAGS.specificCharacterSet)?.value ?? new Uint8Array());
  const decoder = new TextDecoder(/ISO_IR 192/.test(charset) ? 'utf-8' : 'latin1');
  return (d, t) => decoder.decode(d.find((e) => e.tag === t)?.value ?? new Uint8Array()).replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** A typed entry from one C-FIND response identifier. */
export function parseWorklistEntry(ds: DataSet): WorklistEntry {
  const text = textReader(ds);
  const step = ds.find((e) => e.tag === TAGS.scheduledStepSequence)?.items?.[0] ?? [];
  return {
    patientName: text(ds, TAGS.patientName),
    patientId: text(ds, TAGS.patientId),
    patientBirthDate: text(ds, TAGS.patientBirthDate),
    patientSex: text(ds, TAGS.patientSex),
    accessionNumber: text(ds, TAGS.accessionNumber),
    studyInstanceUid: text(ds, TAGS.studyInstanceUid),
    requestedProcedureId: text(ds, TAGS.requestedProcedureId),
    requestedProcedureDescription: text(ds, TAGS.requestedProcedureDescription),
    referringPhysicianName: text(ds, TAGS.referringPhysicianName),
    scheduledStepId: text(step, TAGS.scheduledStepId),
    scheduledStepDescription: text(step, TAGS.scheduledStepDescription),
    scheduledStationAe: text(step, TAGS.scheduledStationAe),
    scheduledStartDate: text(step, TAGS.scheduledStartDate),
    scheduledStartTime: text(step, TAGS.scheduledStartTime),
    modality: text(step, TAGS.modality),
  };
}

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
const isPending = (s: number) => s === 0xff00 || s === 0xff01;

/** What a C-FIND failure status means, for the message. */
function failureMeaning(s: number): string {
  if ((s & 0xff00) === 0xa700) return 'refused: out of resources';
  if ((s & 0xff00) === 0xa900) return 'identifier does not match SOP class';
  if ((s & 0xf000) === 0xc000) return 'unable to process';
  if (s === 0x0122) return 'SOP class not supported';
  return 'failed';
}

/**
 * Queries the worklist (one association, released at the end). Entries come in the RIS's order.
 * Throws WorklistError: the RIS refused the query, timed out (then the query was cancelled by
 * C-CANCEL and the association aborted), or cannot be reached (retryable).
 */
export async function queryWorklist(target: AssociationTarget, q: WorklistQuery): Promise<WorklistResult> {
  const timeout = q.timeoutMs ?? 10000;
  const maxEntries = q.maxEntries ?? 500;
  const deadline = Date.now() + timeout;
  const peer = describePeer(target);
  let a: Association;
  try {
    a = await Association.open({ timeoutMs: timeout, ...target }, [{ abstractSyntax: MODALITY_WORKLIST_FIND, transferSyntaxes: DIMSE_TRANSFER_SYNTAXES }]);
  } catch (err) {
    const e = err as DicomNetError;
    throw new WorklistError(`worklist ${peer}: ${e.message}`, e.retryable ?? true);
  }
  try {
    const pc = a.contextFor(MODALITY_WORKLIST_FIND);
    if (!pc) throw new WorklistError(`worklist ${peer} does not offer Modality Worklist FIND (presentation context result ${a.contextResult(0)})`, false);
    const messageId = a.newMessageId();
    await a.send(pc.id, [
      commandElement(DIMSE.affectedSopClass, uidValue(MODALITY_WORKLIST_FIND)),
      commandElement(DIMSE.commandField, usValue(0x0020)), // C-FIND-RQ
      commandElement(DIMSE.messageId, usValue(messageId)),
      commandElement(DIMSE.priority, usValue(0)),
    ], encodeDimseDataSet(worklistIdentifier(q), pc.transferSyntax));
    const entries: WorklistEntry[] = [];
    for (;;) {
      let rsp: DimseMessage;
      try {
        rsp = await a.receive(Math.max(1, deadline - Date.now()));
      } catch (err) {
        if (!(err instanceof DicomTimeoutError)) throw err;
        await cancel(a, pc.id, messageId, Math.min(2000, timeout));
        throw new WorklistError(`worklist ${peer} did not answer within ${timeout} ms (${entries.length} entries so far); the query was cancelled`, true);
      }
      const status = responseStatus(rsp, 'C-FIND');
      if (isPending(status)) {
        if (!rsp.dataSet) throw new WorklistError(`worklist ${peer}: pending C-FIND response without an identifier`, false);
        entries.push(parseWorklistEntry(decodeDimseDataSet(rsp.dataSet, pc.transferSyntax, `worklist ${peer}`)));
        if (entries.length >= maxEntries) {
          await cancel(a, pc.id, messageId);
          return { entries, truncated: true };
        }
        continue;
      }
      if (status === 0x0000) {
        await a.release();
        return { entries, truncated: false };
      }
      if (status === 0xfe00) throw new WorklistError(`worklist ${peer} cancelled the query`, true);
      const comment = errorComment(rsp);
      throw new WorklistError(`worklist ${peer}: C-FIND ${failureMeaning(status)} (status ${hex(status)}${comment ? `, ${comment}` : ''})`, (status & 0xff00) === 0xa700);
    }
  } catch (err) {
    a.abort();
    if (err instanceof WorklistError) throw err;
    const e = err as DicomNetError;
    throw new WorklistError(`worklist ${peer}: ${e.message}`, e.retryable ?? true);
  } finally {
    a.close();
  }
}

/**
 * C-CANCEL-RQ for the running query, then up to graceMs for its final response (Cancel or
 * Success), then release; an SCP that does not answer the cancel is aborted.
 */
async function cancel(a: Association, contextId: number, messageId: number, graceMs = 2000): Promise<void> {
  try {
    await a.send(contextId, [
      commandElement(DIMSE.commandField, usValue(0x0fff)), // C-CANCEL-RQ
      commandElement(DIMSE.messageIdBeingRespondedTo, usValue(messageId)),
    ]);
    const until = Date.now() + graceMs;
    for (;;) {
      const rsp = await a.receive(Math.max(1, until - Date.now()));
      if (!isPending(responseStatus(rsp, 'C-FIND'))) break;
    }
    await a.release();
  } catch {
    a.abort();
  }
}
