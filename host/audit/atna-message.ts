// DICOM audit messages (PS3.15 Annex A.5, the IHE ATNA format, RFC 3881 lineage): one typed
// event in, one AuditMessage XML document out, valid against the A.5.1 schema
// (host/audit/schema/dicom-audit-message.rnc). Pure: no clock, no I/O; the caller supplies the
// event time and who is reporting. ATNA messages carry patient identifiers by design (they go
// to the site's Audit Record Repository); radseal's own JSON audit log never does.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';

export interface Code {
  code: string;
  system: string;
  meaning: string;
}

const dcm = (code: string, meaning: string): Code => ({ code, system: 'DCM', meaning });
const rfc3881 = (code: string, meaning: string): Code => ({ code, system: 'RFC-3881', meaning });
/**
 * Codes radseal adds where the standard's context groups are extensible (CID 403 Security Alert
 * Type): a private coding scheme ("99" prefix, as PS3.16 asks of private schemes), always
 * alongside the closest DCM code so a repository that knows only DCM codes still files it.
 */
const radseal = (code: string, meaning: string): Code => ({ code, system: '99RADSEAL', meaning });

export const EVENT = {
  applicationActivity: dcm('110100', 'Application Activity'),
  auditLogUsed: dcm('110101', 'Audit Log Used'),
  beginTransferring: dcm('110102', 'Begin Transferring DICOM Instances'),
  instancesAccessed: dcm('110103', 'DICOM Instances Accessed'),
  instancesTransferred: dcm('110104', 'DICOM Instances Transferred'),
  query: dcm('110112', 'Query'),
  securityAlert: dcm('110113', 'Security Alert'),
} as const;

export const EVENT_TYPE = {
  applicationStart: dcm('110120', 'Application Start'),
  applicationStop: dcm('110121', 'Application Stop'),
  nodeAuthentication: dcm('110126', 'Node Authentication'),
  useOfRestrictedFunction: dcm('110132', 'Use of Restricted Function'),
  objectSecurityAttributesChanged: dcm('110135', 'Object Security Attributes Changed'),
} as const;

export const ROLE = {
  application: dcm('110150', 'Application'),
  applicationLauncher: dcm('110151', 'Application Launcher'),
  destination: dcm('110152', 'Destination Role ID'),
  source: dcm('110153', 'Source Role ID'),
} as const;

const OBJECT_ID_TYPE = {
  patientNumber: rfc3881('2', 'Patient Number'),
  uri: rfc3881('12', 'URI'),
  studyInstanceUid: dcm('110180', 'Study Instance UID'),
  sopClassUid: dcm('110181', 'SOP Class UID'),
  nodeId: dcm('110182', 'Node ID'),
} as const;

/** What each Security Alert radseal raises means: its CID 403 code and radseal's own, finer code. */
export const ALERTS = {
  'non-authentic': { type: EVENT_TYPE.objectSecurityAttributesChanged, detail: radseal('RS001', 'Object failed provenance verification') },
  'watermark-mismatch': { type: EVENT_TYPE.objectSecurityAttributesChanged, detail: radseal('RS002', 'Watermark does not match the capture attestation') },
  'revoked-signer': { type: EVENT_TYPE.nodeAuthentication, detail: radseal('RS003', 'Object signed by a revoked certificate') },
  'refused-association': { type: EVENT_TYPE.nodeAuthentication, detail: radseal('RS004', 'Association refused') },
  'refused-pin': { type: EVENT_TYPE.useOfRestrictedFunction, detail: radseal('RS005', 'Technologist PIN refused') },
  'audit-chain-broken': { type: EVENT_TYPE.objectSecurityAttributesChanged, detail: radseal('RS006', 'Audit log hash chain broken') },
  anomaly: { type: EVENT_TYPE.useOfRestrictedFunction, detail: radseal('RS007', 'Audit anomaly rule matched') },
} as const satisfies Record<string, { type: Code; detail: Code }>;
export type AlertKind = keyof typeof ALERTS;

/** 0 success, 4 minor failure, 8 serious failure, 12 major failure (A.5.1 EventOutcomeIndicator). */
export type Outcome = 0 | 4 | 8 | 12;

/** A participant: a DICOM node (AE title, address), a process, or a person. */
export interface Participant {
  /** UserID: for a process, its name or pid; for a person, the login; for a remote AE, the AE title. */
  userId: string;
  /** AlternativeUserID: AE titles as "AETITLES=A;B" (A.5.2.1), or a process id. */
  alternativeUserId?: string;
  userName?: string;
  /** Host name or IP address of the participant's network access point. */
  address?: string;
}

/** The node that writes the message (AuditSourceIdentification). */
export interface AuditSource {
  /** AuditSourceID: this station or service (e.g. the host name, or the device id). */
  id: string;
  enterpriseSiteId?: string;
  /** A.5.1.2.1: 2 acquisition device (capture, proxy), 4 application server (gateway, verify service). */
  type: '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';
}

export interface PatientRef {
  id: string;
  name?: string;
}

export interface StudyRef {
  studyInstanceUid: string;
  accessionNumber?: string;
  /** SOP classes and instances of this study the event concerns. */
  sopClasses: Array<{ uid: string; instances: string[] }>;
}

interface Base {
  /** When the event happened (EventDateTime). */
  time: Date;
  outcome: Outcome;
  /** EventOutcomeDescription: why, for a failure. */
  outcomeDescription?: string;
}

export type AuditEvent =
  | (Base & { kind: 'application-activity'; action: 'start' | 'stop'; application: Participant; launcher?: Participant })
  | (Base & { kind: 'begin-transferring'; source: Participant; destination: Participant; patient?: PatientRef; studies: StudyRef[] })
  | (Base & { kind: 'instances-transferred'; action: 'C' | 'R' | 'U'; source: Participant; destination: Participant; requestor: 'source' | 'destination'; patient?: PatientRef; studies: StudyRef[] })
  | (Base & { kind: 'instances-accessed'; action: 'C' | 'R' | 'U' | 'D'; accessor: Participant; patient?: PatientRef; studies: StudyRef[] })
  | (Base & { kind: 'query'; source: Participant; destination: Participant; sopClassUid: string; query: Uint8Array; transferSyntaxUid: string })
  | (Base & { kind: 'security-alert'; alert: AlertKind; reporter: Participant; performer?: Participant; subject: string; description: string; patient?: PatientRef; studies?: StudyRef[] })
  | (Base & { kind: 'audit-log-used'; accessor: Participant; logUri: string });

export type AuditEventKind = AuditEvent['kind'];

/** XML 1.0 has no place for most control characters; an AE title or reason from the wire may hold them. */
export function xmlSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
}
const b64 = (s: string | Uint8Array) => Buffer.from(typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');

function coded(parent: XMLBuilder, name: string, c: Code): void {
  parent.ele(name, { 'csd-code': c.code, codeSystemName: c.system, originalText: c.meaning });
}

function participant(root: XMLBuilder, p: Participant, requestor: boolean, role?: Code): void {
  const attrs: Record<string, string> = { UserID: xmlSafe(p.userId) || '-' };
  if (p.alternativeUserId) attrs.AlternativeUserID = xmlSafe(p.alternativeUserId);
  if (p.userName) attrs.UserName = xmlSafe(p.userName);
  attrs.UserIsRequestor = String(requestor);
  if (p.address) {
    attrs.NetworkAccessPointID = xmlSafe(p.address);
    attrs.NetworkAccessPointTypeCode = /^[0-9.]+$|:/.test(p.address) ? '2' : '1';
  }
  const el = root.ele('ActiveParticipant', attrs);
  if (role) coded(el, 'RoleIDCode', role);
}

function patientObject(root: XMLBuilder, p: PatientRef): void {
  const el = root.ele('ParticipantObjectIdentification', { ParticipantObjectID: xmlSafe(p.id) || '-', ParticipantObjectTypeCode: '1', ParticipantObjectTypeCodeRole: '1' });
  coded(el, 'ParticipantObjectIDTypeCode', OBJECT_ID_TYPE.patientNumber);
  el.ele('ParticipantObjectName').txt(xmlSafe(p.name ?? ''));
}

function studyObject(root: XMLBuilder, s: StudyRef): void {
  const el = root.ele('ParticipantObjectIdentification', { ParticipantObjectID: xmlSafe(s.studyInstanceUid) || '-', ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '3' });
  coded(el, 'ParticipantObjectIDTypeCode', OBJECT_ID_TYPE.studyInstanceUid);
  // CP-2399 makes a name (or query) required; a study has no name of its own, so its UID stands in.
  el.ele('ParticipantObjectName').txt(xmlSafe(s.studyInstanceUid));
  const d = el.ele('ParticipantObjectDescription');
  if (s.accessionNumber) d.ele('Accession', { Number: xmlSafe(s.accessionNumber) });
  for (const c of s.sopClasses) {
    const sc = d.ele('SOPClass', { UID: xmlSafe(c.uid), NumberOfInstances: String(c.instances.length) });
    for (const i of c.instances) sc.ele('Instance', { UID: xmlSafe(i) });
  }
}

function objects(root: XMLBuilder, patient: PatientRef | undefined, studies: StudyRef[] | undefined): void {
  for (const s of studies ?? []) studyObject(root, s);
  if (patient) patientObject(root, patient);
}

/** One event as an AuditMessage document (UTF-8 XML, no declaration padding, one line). */
export function buildAtnaMessage(e: AuditEvent, source: AuditSource): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const root = doc.ele('AuditMessage');
  const action: string = e.kind === 'instances-transferred' || e.kind === 'instances-accessed' ? e.action
    : e.kind === 'audit-log-used' ? 'R' : 'E';
  const ev = root.ele('EventIdentification', { EventActionCode: action, EventDateTime: e.time.toISOString(), EventOutcomeIndicator: String(e.outcome) });
  const id = {
    'application-activity': EVENT.applicationActivity, 'begin-transferring': EVENT.beginTransferring, 'instances-transferred': EVENT.instancesTransferred,
    'instances-accessed': EVENT.instancesAccessed, query: EVENT.query, 'security-alert': EVENT.securityAlert, 'audit-log-used': EVENT.auditLogUsed,
  }[e.kind];
  coded(ev, 'EventID', id);
  if (e.kind === 'application-activity') coded(ev, 'EventTypeCode', e.action === 'start' ? EVENT_TYPE.applicationStart : EVENT_TYPE.applicationStop);
  if (e.kind === 'security-alert') {
    coded(ev, 'EventTypeCode', ALERTS[e.alert].type);
    coded(ev, 'EventTypeCode', ALERTS[e.alert].detail);
  }
  if (e.outcomeDescription) ev.ele('EventOutcomeDescription').txt(xmlSafe(e.outcomeDescription));

  switch (e.kind) {
    case 'application-activity':
      participant(root, e.application, false, ROLE.application);
      if (e.launcher) participant(root, e.launcher, true, ROLE.applicationLauncher);
      break;
    case 'begin-transferring':
      participant(root, e.source, true, ROLE.source);
      participant(root, e.destination, false, ROLE.destination);
      break;
    case 'instances-transferred':
      participant(root, e.source, e.requestor === 'source', ROLE.source);
      participant(root, e.destination, e.requestor === 'destination', ROLE.destination);
      break;
    case 'instances-accessed':
      participant(root, e.accessor, true);
      break;
    case 'query':
      participant(root, e.source, true, ROLE.source);
      participant(root, e.destination, false, ROLE.destination);
      break;
    case 'security-alert':
      participant(root, e.reporter, true);
      if (e.performer) participant(root, e.performer, false);
      break;
    case 'audit-log-used':
      participant(root, e.accessor, true);
      break;
  }
  root.ele('AuditSourceIdentification', { ...(source.enterpriseSiteId ? { AuditEnterpriseSiteID: xmlSafe(source.enterpriseSiteId) } : {}), AuditSourceID: xmlSafe(source.id) || '-' })
    .ele('AuditSourceTypeCode', { 'csd-code': source.type });

  switch (e.kind) {
    case 'begin-transferring':
    case 'instances-transferred':
    case 'instances-accessed':
      objects(root, e.patient, e.studies);
      break;
    case 'query': {
      const q = root.ele('ParticipantObjectIdentification', { ParticipantObjectID: xmlSafe(e.sopClassUid), ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '3' });
      coded(q, 'ParticipantObjectIDTypeCode', OBJECT_ID_TYPE.sopClassUid);
      q.ele('ParticipantObjectQuery').txt(b64(e.query));
      q.ele('ParticipantObjectDetail', { type: 'TransferSyntax', value: b64(e.transferSyntaxUid) });
      break;
    }
    case 'security-alert': {
      // The alert subject (A.5.3.11): what the alert is about, with the reason as Alert Description.
      const s = root.ele('ParticipantObjectIdentification', { ParticipantObjectID: xmlSafe(e.subject) || '-', ParticipantObjectTypeCode: '2' });
      coded(s, 'ParticipantObjectIDTypeCode', OBJECT_ID_TYPE.uri);
      s.ele('ParticipantObjectName').txt(xmlSafe(e.subject));
      s.ele('ParticipantObjectDetail', { type: 'Alert Description', value: b64(e.description) });
      objects(root, e.patient, e.studies);
      break;
    }
    case 'audit-log-used': {
      const l = root.ele('ParticipantObjectIdentification', { ParticipantObjectID: xmlSafe(e.logUri), ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '13' });
      coded(l, 'ParticipantObjectIDTypeCode', OBJECT_ID_TYPE.uri);
      l.ele('ParticipantObjectName').txt('Security Audit Log');
      break;
    }
    case 'application-activity':
      break;
  }
  return doc.end({ prettyPrint: false });
}

/** AlternativeUserID for a process answering to AE titles (A.5.2.1). */
export const aeTitles = (...aes: string[]) => `AETITLES=${aes.join(';')}`;
