// radseal's access and alert records as ATNA events (PS3.15 A.5) for the site's audit
// repository. The patient goes into the ATNA message only (it carries patient identifiers by
// design); the JSON log keeps the keyed pseudonym.
import type { AuditEvent, Participant, PatientRef, StudyRef } from '../audit/atna-message.js';
import type { AccessEntry, AlertEntry, Chained } from '../ingest/audit.js';

/** What the PACS hook knows beyond the JSON record, for the ATNA message only. */
export interface AtnaExtras {
  patient?: PatientRef;
  sopClassUid?: string;
  /** The C-FIND / QIDO query as received (DICOM data set or URL query); goes into ParticipantObjectQuery. */
  query?: Uint8Array;
}

export interface AtnaTarget {
  sink: { emit(e: AuditEvent): void };
  /** The node reporting (the PACS / verify-service). */
  receiver: Participant;
}

const outcomeOf = (a: AccessEntry): 0 | 4 | 8 => (a.outcome === 'failure' ? 8 : a.outcome === 'refused' ? 4 : 0);

function studies(a: AccessEntry, x: AtnaExtras): StudyRef[] {
  if (!a.studyUid) return [];
  return [{ studyInstanceUid: a.studyUid, sopClasses: a.sopInstanceUid || x.sopClassUid ? [{ uid: x.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.1', instances: a.sopInstanceUid ? [a.sopInstanceUid] : [] }] : [] }];
}

function requester(a: AccessEntry): Participant {
  const s = a.source;
  return {
    userId: s.user || s.ae || s.host || 'unknown',
    ...(s.ae ? { alternativeUserId: `AETITLES=${s.ae}` } : {}),
    ...(s.user && s.ae ? { userName: s.ae } : {}),
    ...(s.host ? { address: s.host } : {}),
  };
}

/** The ATNA event of one access record. */
export function accessEvent(a: Chained<AccessEntry>, target: AtnaTarget, x: AtnaExtras = {}): AuditEvent {
  const time = new Date(a.time);
  const base = { time, outcome: outcomeOf(a), ...(a.outcome !== 'success' && a.outcome !== 'requested' && a.detail ? { outcomeDescription: a.detail } : {}) };
  const who = requester(a);
  const patient = x.patient;
  switch (a.action) {
    case 'qido':
    case 'c-find':
      return { ...base, kind: 'query', source: who, destination: target.receiver, sopClassUid: x.sopClassUid ?? '1.2.840.10008.5.1.4.1.2.2.1', query: x.query ?? new TextEncoder().encode(a.detail ?? ''), transferSyntaxUid: '1.2.840.10008.1.2.1' };
    case 'c-move':
    case 'c-get': {
      const destination: Participant = a.action === 'c-get' ? who : { userId: a.destination ?? 'unknown', ...(a.destination ? { alternativeUserId: `AETITLES=${a.destination}` } : {}) };
      if (a.transfer?.phase === 'begin') return { ...base, kind: 'begin-transferring', source: target.receiver, destination, patient, studies: studies(a, x) };
      return { ...base, kind: 'instances-transferred', action: 'R', source: target.receiver, destination, requestor: 'destination', patient, studies: studies(a, x) };
    }
    case 'stow':
    case 'c-store':
      return { ...base, kind: 'instances-transferred', action: 'C', source: who, destination: target.receiver, requestor: 'source', patient, studies: studies(a, x) };
    case 'delete':
      return { ...base, kind: 'instances-accessed', action: 'D', accessor: who, patient, studies: studies(a, x) };
    case 'modify':
      return { ...base, kind: 'instances-accessed', action: 'U', accessor: who, patient, studies: studies(a, x) };
    default:
      return { ...base, kind: 'instances-accessed', action: 'R', accessor: who, patient, studies: studies(a, x) };
  }
}

/** The Security Alert of an anomaly rule hit. */
export function alertEvent(a: Chained<AlertEntry>, target: AtnaTarget): AuditEvent {
  const s = a.subject.source;
  return {
    kind: 'security-alert', time: new Date(a.time), outcome: a.severity === 'high' ? 8 : 4,
    alert: a.rule === 'chain' ? 'audit-chain-broken' : 'anomaly', reporter: target.receiver,
    ...(s ? { performer: { userId: s.user || s.ae || s.host || 'unknown', ...(s.host ? { address: s.host } : {}) } } : {}),
    subject: a.subject.sopInstanceUid ? `urn:oid:${a.subject.sopInstanceUid}` : `radseal-rule:${a.rule}`,
    description: `${a.rule} (audit records ${a.evidence.join(', ')}; alert record ${a.seq}): ${a.summary}`.slice(0, 2000),
  };
}
