// npm run bench:anomalies: the anomaly rules over simulated weeks (seeds 1..N, default 20):
// planted incidents found (recall), alerts that cite no incident (false alarms, precision),
// per rule; and speed: records judged per second, beside the chain check over the same log
// (the peer measured in the same run) and appends per second with and without the live monitor.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execSync } from 'node:child_process';
import { AuditLog, readAuditRecords, verifyAuditLog, type AccessEntry } from '../../../host/ingest/audit.js';
import { analyzeLog, analyzeRecords } from '../../../host/anomaly/analyze.js';
import { AnomalyMonitor } from '../../../host/anomaly/monitor.js';
import { DEFAULT_RULES } from '../../../host/anomaly/rules.js';
import { simulateWeek, score } from './simulate.js';

const seeds = Number(process.env.SEEDS ?? 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dir = mkdtempSync(join(tmpdir(), 'radseal-bench-anom-'));
try {
  let incidents = 0, found = 0, alerts = 0, falseAlerts = 0, records = 0;
  const missedByRule: Record<string, number> = {};
  const falseByRule: Record<string, number> = {};
  const judgeRate: number[] = [];
  const chainRate: number[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const p = join(dir, `week-${seed}.jsonl`);
    const sim = simulateWeek(p, seed);
    const a = analyzeLog(p, DEFAULT_RULES, { now: sim.end });
    const s = score(sim.incidents, a.alerts);
    incidents += s.incidents; found += s.found.length; alerts += s.alerts; falseAlerts += s.falseAlerts.length; records += sim.records;
    for (const m of s.missed) { const r = sim.incidents.find((i) => i.id === m)!.rule; missedByRule[r] = (missedByRule[r] ?? 0) + 1; }
    for (const f of s.falseAlerts) falseByRule[f.rule] = (falseByRule[f.rule] ?? 0) + 1;
    const recs = readAuditRecords(p).records;
    let t0 = performance.now();
    analyzeRecords(recs, DEFAULT_RULES, sim.end.getTime());
    judgeRate.push(recs.length / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    verifyAuditLog(p);
    chainRate.push(recs.length / ((performance.now() - t0) / 1000));
    console.log(`seed ${seed}: ${sim.records} records, ${s.found.length}/${s.incidents} incidents found, ${s.alerts} alerts, ${s.falseAlerts.length} false${s.falseAlerts.length ? ': ' + s.falseAlerts.map((f) => f.rule).join(', ') : ''}`);
  }
  // Live: appends of single access records (one fsync each) with and without the monitor watching.
  const access = (i: number): AccessEntry => ({ kind: 'access', source: { via: 'rest', ae: null, host: '10.0.0.1', user: `u${i % 7}` }, action: 'rest-read', level: 'instance', studyUid: `2.25.${i % 500}`, seriesUid: null, sopInstanceUid: `2.25.9${i}`, patientRef: null, instances: 1, destination: null, transfer: null, fileSha256: null, outcome: 'success', detail: null });
  const appendRate = (withMonitor: boolean) => {
    const p = join(dir, `live-${withMonitor}-${Math.random()}.jsonl`);
    const log = new AuditLog(p);
    const monitor = withMonitor ? new AnomalyMonitor(log, { rules: DEFAULT_RULES, detector: 'bench' }) : null;
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) log.append(access(i));
    const rate = n / ((performance.now() - t0) / 1000);
    monitor?.stop();
    log.close();
    return rate;
  };
  const plain: number[] = [], watched: number[] = [];
  for (let r = 0; r < 3; r++) { plain.push(appendRate(false)); watched.push(appendRate(true)); }
  let commit = 'unknown';
  try { commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
  console.log(`\ncommit ${commit}, Node ${process.version}, ${seeds} simulated weeks, ${records} records`);
  console.log(`incidents found: ${found}/${incidents} (recall ${(found / incidents).toFixed(3)})${Object.keys(missedByRule).length ? ', missed by rule ' + JSON.stringify(missedByRule) : ''}`);
  console.log(`alerts: ${alerts}, false alarms: ${falseAlerts} (precision ${((alerts - falseAlerts) / alerts).toFixed(3)}, ${(falseAlerts / seeds).toFixed(2)} per week)${falseAlerts ? ', by rule ' + JSON.stringify(falseByRule) : ''}`);
  console.log(`rules: median ${Math.round(median(judgeRate))} records/s judged; chain check over the same logs ${Math.round(median(chainRate))} records/s (ratio ${(median(judgeRate) / median(chainRate)).toFixed(2)})`);
  console.log(`live appends (one fsync each): ${Math.round(median(plain))}/s without the monitor, ${Math.round(median(watched))}/s with it (ratio ${(median(watched) / median(plain)).toFixed(2)})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
