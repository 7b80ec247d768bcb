// The anomaly rules inside a running service (ingest gateway, verify-service): at start the
// service's own log is checked (chain) and read to learn the baselines, then every record
// appended is judged as it is written, and a timer catches transfers that never finish.
// Each hit is appended to the same chain as an alert record (citing its evidence) and sent
// as an ATNA Security Alert. An alert the log already holds is not raised twice.
import { readAuditRecords, verifyAuditLog, type AlertEntry, type AnyAuditRecord, type AuditLog } from '../ingest/audit.js';
import { AnomalyEngine, coalesce, type AlertDraft } from './engine.js';
import { alertEvent, type AtnaTarget } from './atna.js';
import type { AnomalyRules } from './rules.js';

export interface MonitorOptions {
  rules: AnomalyRules;
  /** Who raises the alerts ('verify-service', 'ingest'). */
  detector: string;
  atna?: AtnaTarget;
  log?: (m: string) => void;
  /** How often open transfers are checked (default 60 s). */
  tickMs?: number;
}

const hitKey = (a: { rule: string; evidence: number[] }) => `${a.rule}|${a.evidence.join(',')}`;

export class AnomalyMonitor {
  private readonly engine: AnomalyEngine;
  private readonly raised = new Set<string>();
  private readonly unwatch: () => void;
  private readonly timer: NodeJS.Timeout;
  /** Alerts raised by this monitor (seq of their records), for status lines and tests. */
  readonly alerts: number[] = [];

  constructor(private readonly audit: AuditLog, private readonly o: MonitorOptions) {
    this.engine = new AnomalyEngine(o.rules);
    const now = Date.now();
    const startup: AlertDraft[] = [];
    const chain = this.engine.chainAlert(verifyAuditLog(audit.path), now);
    if (chain) startup.push(chain);
    for (const rec of readAuditRecords(audit.path).records) {
      if (rec.kind === 'alert') this.raised.add(hitKey(rec));
      else this.engine.observe(rec); // learning: what the log already shows was judged when it was written
    }
    startup.push(...this.engine.resume(now));
    this.raise(startup);
    this.unwatch = audit.watch((written) => this.judge(written));
    this.timer = setInterval(() => this.raise(this.engine.tick(Date.now())), o.tickMs ?? 60_000);
    this.timer.unref();
  }

  private judge(written: AnyAuditRecord[]): void {
    const drafts: AlertDraft[] = [];
    for (const rec of written) if (rec.kind !== 'alert') drafts.push(...this.engine.observe(rec));
    this.raise(drafts);
  }

  private raise(drafts: AlertDraft[]): void {
    const fresh = coalesce(drafts).map(({ group: _group, ...d }) => d).filter((d) => !this.raised.has(hitKey(d)));
    if (!fresh.length) return;
    for (const d of fresh) this.raised.add(hitKey(d));
    let written: Array<AnyAuditRecord & AlertEntry>;
    try {
      written = this.audit.appendMany(fresh.map(({ time: _time, ...d }): AlertEntry => ({ kind: 'alert', ...d, detector: this.o.detector })));
    } catch (err) {
      this.o.log?.(`anomaly monitor: could not record ${fresh.length} alert(s): ${(err as Error).message}`);
      return;
    }
    for (const a of written) {
      this.alerts.push(a.seq);
      this.o.log?.(`ALERT ${a.severity} ${a.rule} (audit #${a.seq}, evidence ${a.evidence.join(', ')}): ${a.summary}`);
      if (this.o.atna) this.o.atna.sink.emit(alertEvent(a, this.o.atna));
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.unwatch();
  }
}
