// The audit lifecycle of a service: the ATNA sink (a no-op without --audit-syslog),
// Application Activity start/stop, and the anchoring of its audit log's head. Nothing of the
// syslog machinery is loaded unless --audit-syslog (or --audit-tsa) is given.
import { hostname } from 'node:os';
import { loadTls, type DicomTls } from '../net/tls.js';
import { noAuditSink, openAuditSink, thisApplication, type AuditSink, type ObjectRefs } from './emit.js';
import type { AuditSource, Participant } from './atna-message.js';
import type { AuditLog } from '../ingest/audit.js';
import type { AuditSyslogOptionValues } from './cli-options.js';

function auditTls(o: AuditSyslogOptionValues & { tlsKey?: string; tlsCert?: string; tlsCa?: string }): DicomTls | undefined {
  const key = o.auditTlsKey ?? o.tlsKey;
  const cert = o.auditTlsCert ?? o.tlsCert;
  const ca = o.auditTlsCa ?? o.tlsCa;
  const given = [key, cert, ca].filter(Boolean).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new Error('syslog over TLS needs all of --audit-tls-key, --audit-tls-cert and --audit-tls-ca (or the command\'s --tls-*)');
  return loadTls({ key: key!, cert: cert!, ca: ca! });
}

export interface ServiceAudit {
  sink: AuditSink;
  /** This service as an ATNA participant. */
  self: Participant;
  /** Emits Application Stop, anchors the final head, drains what it can, closes. */
  stop(): Promise<void>;
}

/**
 * Starts a service's auditing: the sink (a no-op without --audit-syslog), anchoring of `log`
 * when there is somewhere to anchor to, and Application Activity (start) for `name`.
 */
export async function startServiceAudit(o: AuditSyslogOptionValues & { tlsKey?: string; tlsCert?: string; tlsCa?: string }, s: {
  name: string; aeTitle?: string; sourceType: AuditSource['type'];
  /** Where the spool goes by default (beside the audit log or outbox); required when --audit-spool is not given. */
  defaultSpool?: string;
  log?: AuditLog; logLine?: (m: string) => void;
  /** Application Activity start/stop (default true; a one-shot command has none). */
  activity?: boolean;
}): Promise<ServiceAudit> {
  const self = { ...thisApplication(s.name, s.aeTitle), address: hostname() };
  if (!o.auditSyslog && !o.auditTsa) return { sink: noAuditSink, self, stop: async () => undefined };
  let sink = noAuditSink;
  if (o.auditSyslog) {
    const spoolDir = o.auditSpool ?? s.defaultSpool;
    if (!spoolDir) throw new Error('--audit-syslog needs --audit-spool DIR (where messages wait while the repository is down)');
    sink = await openAuditSink(o.auditSyslog, { tls: auditTls(o), spoolDir, source: { id: o.auditSourceId ?? hostname(), type: s.sourceType }, log: s.logLine });
  }
  let anchoring: { close(): Promise<void> } | null = null;
  if (s.log) {
    const { HeadAnchoring } = await import('./anchor.js');
    const tsa = o.auditTsa;
    const timestamp = tsa ? async (statement: Uint8Array) => (await import('../net/tsa-client.js')).requestTimestamp(tsa, statement) : undefined;
    anchoring = new HeadAnchoring(s.log, { sink, everyRecords: o.auditAnchorRecords, everyMinutes: o.auditAnchorMinutes, timestamp, log: s.logLine });
  }
  const activity = s.activity !== false;
  if (activity) sink.emit({ kind: 'application-activity', action: 'start', time: new Date(), outcome: 0, application: self, launcher: { userId: process.env.SUDO_USER || process.env.USER || 'system' } });
  return {
    sink, self,
    async stop() {
      if (activity) sink.emit({ kind: 'application-activity', action: 'stop', time: new Date(), outcome: 0, application: self });
      await anchoring?.close();
      await sink.close();
    },
  };
}

export interface CommandAudit {
  /** DICOM Instances Accessed (R) by the person running the command, for one object it read. */
  accessed(file: string, verdict: string): void;
  stop(): Promise<void>;
}

/**
 * Auditing for a one-shot command that reads objects (verify, report): Instances Accessed per
 * object, sent through its own spool (default ~/.radseal/atna-spool). Nothing loads without --audit-syslog.
 */
export async function startCommandAudit(o: AuditSyslogOptionValues, name: string): Promise<CommandAudit> {
  if (!o.auditSyslog) return { accessed: () => undefined, stop: async () => undefined };
  const [{ homedir }, { join }, { localUser }, { fileRefs }] = await Promise.all([import('node:os'), import('node:path'), import('./emit.js'), import('./dicom-refs.js')]);
  const a = await startServiceAudit({ ...o, auditTsa: undefined }, { name, sourceType: '1', defaultSpool: join(homedir(), '.radseal', 'atna-spool'), activity: false });
  const user = localUser();
  return {
    accessed(file, verdict) {
      let r: ObjectRefs = {};
      try {
        r = fileRefs(file);
      } catch {
        /* unreadable: the access is still recorded, without study and patient */
      }
      a.sink.emit({ kind: 'instances-accessed', time: new Date(), action: 'R', outcome: verdict === 'authentic' ? 0 : 4, ...(verdict === 'authentic' ? {} : { outcomeDescription: `verified: ${verdict}` }), accessor: user, patient: r.patient, studies: r.study ? [r.study] : [] });
    },
    stop: () => a.stop(),
  };
}
