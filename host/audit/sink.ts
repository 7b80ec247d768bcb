// An audit sink: where a radseal service hands its ATNA events. emit() builds the DICOM audit
// message, wraps it in RFC 5424 syslog, and queues it in the on-disk spool (fsynced) before it
// returns; a sender drains the spool to the repository in order. Loaded only when a service is
// given --audit-syslog (see emit.ts for the no-op sink and the lazy loader).
import { hostname } from 'node:os';
import { buildAtnaMessage, type AuditEvent, type AuditSource } from './atna-message.js';
import { formatSyslog, SD_PEN } from './syslog.js';
import { AuditSpool } from './spool.js';
import { parseSyslogUrl, SpoolSender, type SenderStats } from './transport.js';
import type { DicomTls } from '../net/tls.js';
import type { AuditSink, HeadAnchor } from './emit.js';

export interface AuditSinkOptions {
  /** Our key, certificate and the CA the repository's certificate must chain to (required for tls://). */
  tls?: DicomTls;
  /** The spool folder (private): messages wait here until delivered. */
  spoolDir: string;
  /** AuditSourceIdentification of every message (station or service id, source type). */
  source: AuditSource;
  /** The syslog APP-NAME (default "radseal"). */
  appName?: string;
  log?: (m: string) => void;
}

const ITI20 = { facility: 10, severity: 5 } as const;

export class SyslogAuditSink implements AuditSink {
  private readonly spool: AuditSpool;
  private readonly sender: SpoolSender;
  private readonly host = hostname();
  private closed = false;
  /** Events that could not be spooled (disk full, spool removed): counted and logged, never thrown at the service. */
  failed = 0;

  constructor(readonly url: string, private readonly o: AuditSinkOptions) {
    const t = parseSyslogUrl(url);
    if (t.protocol === 'tls' && !o.tls) throw new Error(`--audit-syslog ${url}: syslog over TLS needs our key, certificate and the repository's CA (--audit-tls-key, --audit-tls-cert, --audit-tls-ca, or the command's --tls-*)`);
    this.spool = new AuditSpool(o.spoolDir);
    if (this.spool.repaired) o.log?.(`audit: spool ${o.spoolDir}: ${this.spool.repaired}`);
    this.sender = new SpoolSender(this.spool, t.protocol === 'tls' ? { ...t, protocol: 'tls', tls: o.tls! } : { ...t, protocol: 'udp' }, o.log);
    this.sender.start();
  }

  get stats(): SenderStats & { pending: number; failed: number } {
    return { ...this.sender.stats, pending: this.spool.pending, failed: this.failed };
  }

  private queue(msgId: string, msg: string, sd: Record<string, Record<string, string>>, time: Date): number | null {
    if (this.closed) throw new Error('the audit sink is closed');
    try {
      const seq = this.spool.nextSeq;
      const bytes = formatSyslog({ ...ITI20, time, hostname: this.host, appName: this.o.appName ?? 'radseal', procId: String(process.pid), msgId, structuredData: { [`radseal@${SD_PEN}`]: { spool: String(seq) }, ...sd }, msg });
      this.spool.append(bytes);
      this.sender.kick();
      return seq;
    } catch (e) {
      this.failed++;
      this.o.log?.(`audit: could not spool an audit message (${(e as Error).message}); it is lost, the JSON audit log still holds the event`);
      return null;
    }
  }

  emit(event: AuditEvent): void {
    this.queue('IHE+RFC-3881', buildAtnaMessage(event, this.o.source), {}, event.time);
  }

  /** Sends the audit log's head off the machine: its own message, MSGID RADSEAL-HEAD. */
  anchorHead(a: HeadAnchor): number | null {
    return this.queue('RADSEAL-HEAD', `audit log ${a.log} head seq ${a.seq} sha256 ${a.sha256}`, { [`radseal-head@${SD_PEN}`]: { log: a.log, seq: String(a.seq), sha256: a.sha256 } }, new Date());
  }

  async close(flushMs?: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sender.stop(flushMs);
    this.spool.close();
  }
}

export function createSyslogAuditSink(url: string, o: AuditSinkOptions): SyslogAuditSink {
  return new SyslogAuditSink(url, o);
}
