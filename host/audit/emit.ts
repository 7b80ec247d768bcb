// What services call to report ATNA events: the AuditSink interface, a sink that does nothing
// (no --audit-syslog), and openAuditSink(), which loads the syslog machinery only when a URL
// is given. Also the events radseal's services raise, built from what they already know.
import type { AlertKind, AuditEvent, AuditSource, Participant, PatientRef, StudyRef } from './atna-message.js';
import type { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { VerifyReport } from '../ingest/verify.js';
import type { DicomTls } from '../net/tls.js';

export interface HeadAnchor {
  /** The log as the service names it (its path). */
  log: string;
  seq: number;
  sha256: string;
}

export interface AuditSink {
  /** Queues one event durably (never throws: a message that cannot be spooled is counted and logged). */
  emit(event: AuditEvent): void;
  /** Sends an audit log head off the machine; returns the spool sequence number, or null when nothing was sent. */
  anchorHead(a: HeadAnchor): number | null;
  /** Waits briefly for the spool to drain, then stops; undelivered messages wait in the spool for the next start. */
  close(flushMs?: number): Promise<void>;
}

export const noAuditSink: AuditSink = {
  emit: () => undefined,
  anchorHead: () => null,
  close: async () => undefined,
};

export interface OpenAuditSinkOptions {
  tls?: DicomTls;
  spoolDir: string;
  source: AuditSource;
  log?: (m: string) => void;
}

/** The sink for `--audit-syslog URL`, or the no-op sink without one (nothing of the syslog code is loaded then). */
export async function openAuditSink(url: string | undefined, o: OpenAuditSinkOptions): Promise<AuditSink> {
  if (!url) return noAuditSink;
  const { createSyslogAuditSink } = await import('./sink.js');
  return createSyslogAuditSink(url, o);
}

/** This process as an ATNA participant: its name, pid and AE title. */
export function thisApplication(name: string, aeTitle?: string): Participant {
  return { userId: name, alternativeUserId: aeTitle ? `AETITLES=${aeTitle}` : String(process.pid) };
}

/** A remote DICOM node (calling or called AE at an address). */
export function dicomNode(ae: string | null | undefined, address: string | null | undefined): Participant {
  return { userId: ae || address || 'unknown', ...(ae ? { alternativeUserId: `AETITLES=${ae}` } : {}), ...(address ? { address } : {}) };
}

/** The person or account running a command, from the environment (a CLI has no other login). */
export function localUser(): Participant {
  return { userId: process.env.SUDO_USER || process.env.USER || process.env.LOGNAME || `uid ${process.getuid?.() ?? '?'}` };
}

/** Study and patient of one object, for the participant objects. */
export interface ObjectRefs {
  patient?: PatientRef;
  study?: StudyRef;
}

export function studiesOf(refs: ObjectRefs): StudyRef[] {
  return refs.study ? [refs.study] : [];
}

/**
 * The Security Alerts a verification raises: every non-authentic verdict, and besides it the
 * specific findings a security officer files separately (a revoked signer, a watermark that
 * does not match the attestation or the pixels).
 */
export function alertsFor(report: VerifyReport): Array<{ alert: AlertKind; description: string }> {
  const out: Array<{ alert: AlertKind; description: string }> = [];
  if (report.verdict !== 'authentic') out.push({ alert: 'non-authentic', description: `${report.verdict}: ${report.reasons.slice(0, 3).join('; ') || 'not authentic'}` });
  const revoked = report.signatures.filter((s) => (s as { revocation?: string }).revocation === 'revoked');
  if (revoked.length) out.push({ alert: 'revoked-signer', description: `signed by revoked certificate(s): ${revoked.map((s) => s.signer).join(', ')}` });
  const w = report.watermark;
  if (w && w.present && (w.payloadMatchesAttestation === false || w.contentTagMatches === false)) {
    out.push({ alert: 'watermark-mismatch', description: w.payloadMatchesAttestation === false ? 'the watermark names another device or frame than the signed attestation' : 'the watermark was made for other pixels (transplanted)' });
  }
  return out;
}

/** Instances Transferred (and the alerts) for one object received and verified by a gateway or hook. */
export function ingestEvents(o: {
  time: Date; report: VerifyReport; refs: ObjectRefs; sender: Participant; receiver: Participant;
  /** Stored (or kept flagged) vs refused. */
  accepted: boolean; replaced: boolean; subject: string;
}): AuditEvent[] {
  const events: AuditEvent[] = [{
    kind: 'instances-transferred', time: o.time, action: o.replaced ? 'U' : 'C',
    outcome: o.accepted ? 0 : 4, ...(o.accepted ? {} : { outcomeDescription: `refused: ${o.report.verdict}` }),
    source: o.sender, destination: o.receiver, requestor: 'source', patient: o.refs.patient, studies: studiesOf(o.refs),
  }];
  for (const a of alertsFor(o.report)) {
    events.push({ kind: 'security-alert', time: o.time, outcome: 4, alert: a.alert, reporter: o.receiver, performer: o.sender, subject: o.subject, description: a.description, patient: o.refs.patient, studies: studiesOf(o.refs) });
  }
  return events;
}

/** The participant a forward target is: the PACS's AE title and address, or the STOW-RS URL. */
export function targetParticipant(t: { calledAe?: string; host?: string; url?: string }): Participant {
  return t.url ? { userId: t.url, address: new URL(t.url).hostname } : dicomNode(t.calledAe ?? null, t.host ?? null);
}

/**
 * Audits a Forwarder (host/net/forwarder.ts): Begin Transferring when an object is about to go,
 * Instances Transferred (R: a copy read out and sent) when PACS took it, or with a failure outcome
 * when PACS refused it for good. `refsOf` reads an object's patient and study from its file.
 */
export function auditForwarding(forwarder: EventEmitter, o: { sink: AuditSink; self: Participant; target: Participant; refsOf: (path: string) => ObjectRefs }): void {
  if (o.sink === noAuditSink) return;
  const refsByPath = new Map<string, ObjectRefs>();
  const refs = (path: string) => {
    let r = refsByPath.get(path);
    if (!r) {
      try {
        r = o.refsOf(path);
      } catch {
        r = {};
      }
      refsByPath.set(path, r);
    }
    return r;
  };
  forwarder.on('sending', (head: { path: string }) => {
    const r = refs(head.path);
    o.sink.emit({ kind: 'begin-transferring', time: new Date(), outcome: 0, source: o.self, destination: o.target, patient: r.patient, studies: studiesOf(r) });
  });
  forwarder.on('forwarded', (head: { path: string }) => {
    const r = refs(head.path);
    refsByPath.delete(head.path);
    o.sink.emit({ kind: 'instances-transferred', time: new Date(), outcome: 0, action: 'R', source: o.self, destination: o.target, requestor: 'source', patient: r.patient, studies: studiesOf(r) });
  });
  forwarder.on('dead-letter', (head: { path: string }, err: Error) => {
    const r = refs(head.path);
    refsByPath.delete(head.path);
    o.sink.emit({ kind: 'instances-transferred', time: new Date(), outcome: 8, outcomeDescription: `refused by the destination: ${err.message}`, action: 'R', source: o.self, destination: o.target, requestor: 'source', patient: r.patient, studies: studiesOf(r) });
  });
}

/** Audit Log Used: the person running a command read `logPath`. */
export function auditLogUsed(logPath: string): AuditEvent {
  return { kind: 'audit-log-used', time: new Date(), outcome: 0, accessor: localUser(), logUri: `file://${resolve(logPath)}` };
}

/** Audits refused technologist logins at a station (wrong PIN, unknown or unusable key) as Security Alerts. */
export function auditLoginRefusals(sessions: { onLoginRefused: ((operatorId: string, reason: string) => void) | null } | undefined, sink: AuditSink, self: Participant): void {
  if (!sessions || sink === noAuditSink) return;
  sessions.onLoginRefused = (operatorId, reason) => sink.emit({
    kind: 'security-alert', alert: 'refused-pin', time: new Date(), outcome: 4, reporter: self, performer: { userId: operatorId },
    subject: `technologist:${operatorId}`, description: `login refused: ${reason}`,
  });
}
