// A whole log through the anomaly engine: the chain is checked first (a broken chain is
// itself an alert), then every record in order; alerts the live monitor already wrote
// into the log are recognised, so a report says which are new.
import { readAuditRecords, verifyAuditLog, type AnyAuditRecord, type AlertEntry } from '../ingest/audit.js';
import { AnomalyEngine, coalesce, type AlertDraft } from './engine.js';
import type { AnomalyRules } from './rules.js';

export interface AnalyzedAlert extends AlertDraft {
  /** seq of the alert record the live monitor wrote for the same hit, or null. */
  recorded: number | null;
}

export interface Analysis {
  records: number;
  chainOk: boolean;
  alerts: AnalyzedAlert[];
  unreadable: number[];
}

export interface AnalyzeOptions {
  /** Report only alerts at or after this time (the rules still learn from everything before). */
  since?: Date;
  /** The time the log is judged at (writer silence, open transfers); default now. */
  now?: Date;
  /** An anchor (seq and SHA-256 recorded elsewhere) the chain must match. */
  anchor?: { seq: number; sha256: string };
}

export function analyzeRecords(records: readonly AnyAuditRecord[], rules: AnomalyRules, now: number): AlertDraft[] {
  const engine = new AnomalyEngine(rules);
  const out: AlertDraft[] = [];
  for (const rec of records) out.push(...engine.observe(rec));
  out.push(...engine.finish(now));
  return coalesce(out).map(({ group: _group, ...a }) => a);
}

const sameHit = (a: AlertDraft, b: AlertEntry) => a.rule === b.rule && a.evidence.length === b.evidence.length && a.evidence.every((s, i) => s === b.evidence[i]);

export function analyzeLog(path: string, rules: AnomalyRules, o: AnalyzeOptions = {}): Analysis {
  const now = (o.now ?? new Date()).getTime();
  const check = verifyAuditLog(path, o.anchor ? { anchor: o.anchor } : {});
  const { records, unreadable } = readAuditRecords(path);
  const drafts: AlertDraft[] = [];
  const chain = new AnomalyEngine(rules).chainAlert(check, now);
  if (chain) drafts.push(chain);
  drafts.push(...analyzeRecords(records, rules, now));
  const written = records.filter((r): r is AnyAuditRecord & AlertEntry => r.kind === 'alert');
  const since = o.since?.getTime() ?? -Infinity;
  const alerts = drafts
    .filter((a) => a.rule === 'chain' || Date.parse(a.time) >= since)
    .map((a) => ({ ...a, recorded: (written.find((w) => sameHit(a, w)) as { seq?: number } | undefined)?.seq ?? null }));
  return { records: records.length, chainOk: check.ok, alerts, unreadable };
}
