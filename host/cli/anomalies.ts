// radseal anomalies: the anomaly rules over an audit log, for a security officer or a SIEM
// job. Argument parsing and printing only; the rules are in host/anomaly/ (loaded when the
// command runs). Exit 0: no alert; 1: alerts (or a broken chain); 2: usage or I/O error.
import type { Command } from 'commander';

function parseSince(v: string): Date {
  const rel = /^(\d+)([mhd])$/.exec(v);
  if (rel) return new Date(Date.now() - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd']);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new Error(`--since must be an ISO 8601 time (2026-03-05T08:00Z) or an age (30m, 12h, 7d), got "${v}"`);
  return new Date(t);
}

function parseAnchor(v: string): { seq: number; sha256: string } {
  const m = /^(\d+):([0-9a-fA-F]{64})$/.exec(v);
  if (!m) throw new Error('--anchor must be SEQ:SHA256 (as printed by radseal audit verify)');
  return { seq: Number(m[1]), sha256: m[2]!.toLowerCase() };
}

export function register(program: Command): void {
  program.command('anomalies')
    .description('run the anomaly rules over an audit log (downgrade, replaced or deleted authentic instances, replay, unusual volume, hours and destinations, unfinished transfers, chain breaks, a silent writer); each alert names its evidence records')
    .requiredOption('--audit <log>', 'audit log (JSON Lines, hash-chained)')
    .option('--since <time>', 'report alerts from this time on (ISO 8601, or an age: 30m, 12h, 7d); the rules still learn from the whole log')
    .option('--rules <file>', 'rules and thresholds (JSON, host/anomaly/rules.schema.json; defaults in docs/AUDIT.md)')
    .option('--now <time>', 'judge the log as of this time (writer silence, unfinished transfers); default: now')
    .option('--anchor <seq:sha256>', 'a head recorded elsewhere that the chain must still match', parseAnchor)
    .option('--json', 'one JSON document: {records, chainOk, alerts: [{rule, severity, time, summary, evidence, subject, recorded}]}')
    .action(async (o: { audit: string; since?: string; rules?: string; now?: string; anchor?: { seq: number; sha256: string }; json?: boolean }) => {
      const [{ analyzeLog }, { loadRules }] = await Promise.all([import('../anomaly/analyze.js'), import('../anomaly/rules.js')]);
      const rules = loadRules(o.rules);
      const since = o.since ? parseSince(o.since) : undefined;
      const now = o.now ? parseSince(o.now) : undefined;
      const a = analyzeLog(o.audit, rules, { since, now, anchor: o.anchor });
      if (o.json) {
        console.log(JSON.stringify({ records: a.records, chainOk: a.chainOk, unreadable: a.unreadable, alerts: a.alerts }, null, 2));
      } else {
        console.log(`${o.audit}: ${a.records} records, chain ${a.chainOk ? 'intact' : 'BROKEN'}${since ? `, alerts since ${since.toISOString()}` : ''}: ${a.alerts.length} alert(s)`);
        for (const x of a.alerts) {
          console.log(`${x.time}  ${x.severity.toUpperCase().padEnd(6)} ${x.rule}: ${x.summary}`);
          console.log(`    evidence: record${x.evidence.length === 1 ? '' : 's'} ${x.evidence.join(', ')}${x.recorded ? `  (already in the log as alert record ${x.recorded})` : ''}`);
        }
      }
      process.exitCode = a.alerts.length || !a.chainOk ? 1 : 0;
    });
}
