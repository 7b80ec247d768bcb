// radseal anomalies, the built CLI: alerts printed with their evidence (exit 1), JSON for a
// SIEM job, --since limits the report, a quiet log exits 0, a bad rules file exits 2 naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from '../../../host/ingest/audit.js';
import { analyzeLog } from '../../../host/anomaly/analyze.js';
import { DEFAULT_RULES } from '../../../host/anomaly/rules.js';
import { tempDir } from '../dicom/fixtures.js';
import { radseal } from '../support/run.js';
import { simulateWeek } from './simulate.js';

test('radseal anomalies: text and JSON reports, exit codes, --since, a bad rules file', (t) => {
  const dir = tempDir(t, 'radseal-anom-cli-');
  const p = join(dir, 'audit.jsonl');
  const sim = simulateWeek(p, 5);
  const now = sim.end.toISOString();
  const text = radseal('anomalies', '--audit', p, '--now', now);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, new RegExp(`${sim.records} records, chain intact`));
  assert.match(text.stdout, /HIGH\s+replay: device DX-1, frame serial 1005/);
  assert.match(text.stdout, /evidence: records \d+, \d+/);
  const json = radseal('anomalies', '--audit', p, '--now', now, '--json');
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout) as { records: number; chainOk: boolean; alerts: Array<{ rule: string; evidence: number[] }> };
  assert.equal(doc.records, sim.records);
  assert.deepEqual(doc.alerts.map((a) => a.rule), analyzeLog(p, DEFAULT_RULES, { now: sim.end }).alerts.map((a) => a.rule));
  const since = JSON.parse(radseal('anomalies', '--audit', p, '--now', now, '--json', '--since', '2026-03-07T12:00:00Z').stdout) as typeof doc;
  assert.ok(since.alerts.length < doc.alerts.length);

  const quiet = join(dir, 'quiet.jsonl');
  const log = new AuditLog(quiet);
  log.append({ kind: 'access', source: { via: 'rest', ae: null, host: '10.0.0.1', user: 'a' }, action: 'rest-read', level: 'instance', studyUid: '2.25.1', seriesUid: null, sopInstanceUid: '2.25.2', patientRef: null, instances: 1, destination: null, transfer: null, fileSha256: null, outcome: 'success', detail: null });
  log.close();
  const ok = radseal('anomalies', '--audit', quiet);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /0 alert\(s\)/);

  writeFileSync(join(dir, 'rules.json'), JSON.stringify({ rules: { volume: { learnedFactor: 0.5 } } }));
  const bad = radseal('anomalies', '--audit', quiet, '--rules', join(dir, 'rules.json'));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /learnedFactor/);
  assert.equal(radseal('anomalies', '--audit', quiet, '--since', 'yesterday').code, 2);
});
