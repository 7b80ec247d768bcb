// --audit-syslog and its companions, the same on every service command (ingest, verify-service,
// proxy, capture). Options only: the commands load host/audit/service-audit.ts when they run.
import type { Command } from 'commander';

export interface AuditSyslogOptionValues {
  auditSyslog?: string;
  auditTlsKey?: string;
  auditTlsCert?: string;
  auditTlsCa?: string;
  auditSpool?: string;
  auditSourceId?: string;
  auditTsa?: string;
  auditAnchorRecords?: number;
  auditAnchorMinutes?: number;
}

const whole = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number, got "${v}"`);
  return Number(v);
};

export function withAuditSyslogOptions(c: Command): Command {
  return c
    .option('--audit-syslog <url>', 'send DICOM audit messages (IHE ATNA) to the Audit Record Repository: tls://HOST:PORT (RFC 5425, mutual TLS) or udp://HOST:PORT (RFC 5426)')
    .option('--audit-tls-key <file>', 'syslog over TLS: our private key, PEM (default: the command\'s --tls-key)')
    .option('--audit-tls-cert <file>', 'syslog over TLS: our certificate, PEM (default: --tls-cert)')
    .option('--audit-tls-ca <file>', "syslog over TLS: CA the repository's certificate must chain to (default: --tls-ca)")
    .option('--audit-spool <dir>', 'folder where audit messages wait until the repository has them (default: beside the audit log or outbox)')
    .option('--audit-source-id <id>', 'AuditSourceID of the messages (default: the host name)')
    .option('--audit-tsa <url>', "RFC 3161 time-stamping authority: time-stamp the audit log's head at every anchor")
    .option('--audit-anchor-records <n>', 'anchor the audit log head (syslog, time-stamp) after this many records (default 1000)', whole('--audit-anchor-records'))
    .option('--audit-anchor-minutes <n>', 'and after this many minutes when records were added (default 5; 0: only by count)', whole('--audit-anchor-minutes'));
}
