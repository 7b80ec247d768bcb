// The anomaly rules: a simulated week (fixed seed, thousands of records, planted
// incidents of every rule kind) gives every incident with few false alarms; each rule's
// legitimate look-alikes stay quiet; a broken chain is an alert; the rules file is
// checked against its schema with every bad field named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, type AccessEntry, type AuditEntry, type AuditSource } from '../../../host/ingest/audit.js';
import { analyzeLog } from '../../../host/anomaly/analyze.js';
import { DEFAULT_RULES, loadRules, rulesFrom, RulesError } from '../../../host/anomaly/rules.js';
import { tempDir } from '../dicom/fixtures.js';
import { simulateWeek, score } from './simulate.js';

const ALL_RULES = Object.keys(DEFAULT_RULES.rules);

test('a simulated week: every planted incident is found, false alarms are few, every alert cites real records', (t) => {
  const p = join(tempDir(t, 'radseal-anom-'), 'audit.jsonl');
  const sim = simulateWeek(p, 13);
  assert.ok(sim.records > 5000, `a week of thousands of records (${sim.records})`);
  const planted = new Set(sim.incidents.map((i) => i.rule));
  for (const rule of ALL_RULES.filter((r) => r !== 'chain')) assert.ok(planted.has(rule as never), `an incident of ${rule} is planted`);
  const a = analyzeLog(p, DEFAULT_RULES, { now: sim.end });
  assert.equal(a.chainOk, true);
  const s = score(sim.incidents, a.alerts);
  assert.deepEqual(s.missed, [], `missed: ${s.missed.join(', ')}`);
  assert.ok(s.falseAlerts.length <= 2, `false alarms: ${JSON.stringify(s.falseAlerts, null, 1)}`);
  for (const alert of a.alerts) {
    assert.ok(alert.evidence.length > 0 && alert.evidence.every((seq) => seq >= 1 && seq <= sim.records), `${alert.rule} cites records of the log`);
    assert.ok(alert.summary.length > 20);
  }
  // --since: the rules learn from everything, the report starts later.
  const late = analyzeLog(p, DEFAULT_RULES, { now: sim.end, since: new Date('2026-03-07T12:00:00Z') });
  assert.ok(late.alerts.length > 0 && late.alerts.length < a.alerts.length);
  assert.ok(late.alerts.every((x) => x.time >= '2026-03-07T12:00:00.000Z'));
});

test('a broken chain is an alert naming where: an edited record, a deleted record, a truncated tail', (t) => {
  const dir = tempDir(t, 'radseal-anom-');
  const p = join(dir, 'audit.jsonl');
  const log = new AuditLog(p);
  for (let i = 0; i < 6; i++) log.append(access({ sopInstanceUid: `2.25.${i}` }));
  log.close();
  const lines = readFileSync(p, 'utf8').trim().split('\n');
  const variants: Array<[string, string[], RegExp]> = [
    ['edited', lines.map((l, i) => (i === 2 ? l.replace('"rest-read"', '"qido"') : l)), /record 3/],
    ['deleted', lines.filter((_, i) => i !== 3), /record\(s\) 4 deleted/],
    ['truncated', lines.slice(0, 4), /truncated/],
  ];
  for (const [name, ls, why] of variants) {
    const q = join(dir, `${name}.jsonl`);
    writeFileSync(q, ls.map((l) => l + '\n').join(''));
    copyFileSync(`${p}.head`, `${q}.head`);
    const a = analyzeLog(q, DEFAULT_RULES, { now: new Date() });
    assert.equal(a.chainOk, false, name);
    const chain = a.alerts.filter((x) => x.rule === 'chain');
    assert.equal(chain.length, 1, name);
    assert.match(chain[0]!.summary, why, name);
  }
});

const mod: AuditSource = { via: 'c-store', ae: 'DX1', host: '10.1.0.1' };
const verification = (over: Partial<AuditEntry>): AuditEntry => ({
  kind: 'verification', source: mod, sopInstanceUid: '2.25.1', sopClassUid: null, fileSha256: 'aa'.repeat(32), bytes: 1, verdict: 'authentic', reasons: [], signers: [],
  device: 'DX-1', frameSerial: null, rawSha256: null, technologist: null, watermark: null, tamperedTiles: null, action: 'stored', location: null, policy: 'reject', ...over,
});
function access(over: Partial<AccessEntry>): AccessEntry {
  return {
    kind: 'access', source: { via: 'rest', ae: null, host: '10.2.0.1', user: 'u' }, action: 'rest-read', level: 'instance', studyUid: null, seriesUid: null,
    sopInstanceUid: null, patientRef: null, instances: 1, destination: null, transfer: null, fileSha256: null, outcome: 'success', detail: null, ...over,
  };
}

/** A log of the given entries, one minute apart from `start`. */
function logOf(dir: string, entries: Array<AuditEntry | AccessEntry>, start = Date.parse('2026-03-02T09:00:00Z')): string {
  const p = join(dir, `l-${Math.random().toString(36).slice(2)}.jsonl`);
  let i = 0;
  const log = new AuditLog(p, { clock: () => new Date(start + 60_000 * i++) });
  log.appendMany(entries);
  log.close();
  return p;
}
const rulesOf = (p: string, now = new Date('2026-03-02T12:00:00Z')) => analyzeLog(p, DEFAULT_RULES, { now }).alerts.map((a) => a.rule);

test('look-alikes stay quiet: the same bytes sent again, a signed correction, a source that was never always sealed, a refused deletion', (t) => {
  const dir = tempDir(t, 'radseal-anom-');
  const sealed = (n: number, over: Partial<AuditEntry> = {}) => verification({ sopInstanceUid: `2.25.${n}`, fileSha256: String(n).padStart(64, '0'), frameSerial: n, ...over });
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), sealed(2), sealed(1)])), [], 'a resend of the same bytes');
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), access({ action: 'modify', sopInstanceUid: '2.25.1', detail: 'reconcile (radseal, signed correction) CORRECT' }), sealed(1, { fileSha256: 'cd'.repeat(32), reconciled: 1 })])), [], 'a signed correction');
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), verification({ sopInstanceUid: '2.25.9', verdict: 'unsigned', device: null }), sealed(2), sealed(3), sealed(4), verification({ sopInstanceUid: '2.25.8', verdict: 'unsigned', device: null })])), [], 'mixed from the start');
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), sealed(2), sealed(3), access({ action: 'delete', sopInstanceUid: '2.25.1', outcome: 'refused' })])), [], 'a refused deletion');
  // And their counterparts fire.
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), sealed(2), sealed(3), verification({ sopInstanceUid: '2.25.9', verdict: 'unsigned', device: null })])), ['downgrade']);
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), sealed(1, { fileSha256: 'ee'.repeat(32) })])), ['replaced-authentic']);
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), sealed(2, { frameSerial: 1 })])), ['replay']);
  assert.deepEqual(rulesOf(logOf(dir, [sealed(1), access({ action: 'delete', sopInstanceUid: '2.25.1' })])), ['replaced-authentic']);
});

test('transfers: a begin without its end is an alert after the timeout, at the end of the log too', (t) => {
  const dir = tempDir(t, 'radseal-anom-');
  const begin = access({ action: 'c-move', destination: 'WS1', transfer: { id: 'm1', phase: 'begin' } });
  const end = access({ action: 'c-move', destination: 'WS1', transfer: { id: 'm1', phase: 'end' } });
  assert.deepEqual(rulesOf(logOf(dir, [begin, end])), []);
  const open = logOf(dir, [begin]);
  assert.deepEqual(rulesOf(open, new Date('2026-03-02T09:20:00Z')), [], 'not yet: inside the timeout');
  assert.deepEqual(rulesOf(open, new Date('2026-03-02T09:40:00Z')), ['transfer-incomplete']);
});

test('rules files: defaults fill what is left out; unknown rules, bad thresholds and bad time zones are named', (t) => {
  const r = rulesFrom({ timeZone: 'Europe/Berlin', rules: { volume: { maxStudiesPerHour: 40 } } });
  assert.equal(r.rules.volume.maxStudiesPerHour, 40);
  assert.equal(r.rules.volume.learnedFactor, DEFAULT_RULES.rules.volume.learnedFactor);
  assert.equal(r.rules.replay.enabled, true);
  assert.throws(() => rulesFrom({ rules: { volum: {} } }), (e: Error) => e instanceof RulesError && /volum/.test(e.message));
  assert.throws(() => rulesFrom({ rules: { 'off-hours': { minShare: 2, severity: 'urgent' } } }), (e: Error) => /minShare/.test(e.message) && /severity/.test(e.message));
  assert.throws(() => rulesFrom({ timeZone: 'Mars/Olympus' }), /Mars\/Olympus/);
  const dir = tempDir(t, 'radseal-anom-');
  writeFileSync(join(dir, 'bad.json'), '{ "rules": ');
  assert.throws(() => loadRules(join(dir, 'bad.json')), /not valid JSON/);
  assert.throws(() => loadRules(join(dir, 'none.json')), /no such file/);
  // A rule turned off stays off.
  const p = logOf(dir, [verification({}), verification({ fileSha256: 'ee'.repeat(32) })]);
  assert.deepEqual(analyzeLog(p, rulesFrom({ rules: { 'replaced-authentic': { enabled: false } } }), { now: new Date('2026-03-02T09:10:00Z') }).alerts, []);
});

test('off-hours: a day worker at night twice in one night is two sessions, two alerts; shifts an hour long stay quiet', (t) => {
  const dir = tempDir(t, 'radseal-anom-');
  const day = Date.parse('2026-03-02T00:00:00Z');
  const entries: AccessEntry[] = [];
  const times: number[] = [];
  const read = (at: number) => {
    times.push(at);
    entries.push(access({ source: { via: 'rest', ae: null, host: '10.2.0.12', user: 'bob' }, studyUid: `2.25.${times.length}` }));
  };
  for (let d = 0; d < 4; d++) for (let h = 9; h < 17; h++) for (let m = 0; m < 60; m += 10) read(day + d * 86_400_000 + h * 3_600_000 + m * 60_000);
  const night = day + 4 * 86_400_000;
  for (const m of [60, 70, 80]) read(night + m * 60_000); // 01:00-01:20
  for (const m of [240, 250, 260]) read(night + m * 60_000); // 04:00-04:20, after two quiet hours
  for (const m of [8 * 60 + 10, 8 * 60 + 20, 8 * 60 + 30]) read(night + m * 60_000); // 08:10: an hour early, not off-hours
  const p = join(dir, 'bob.jsonl');
  let i = 0;
  const log = new AuditLog(p, { clock: () => new Date(times[i++]!) });
  log.appendMany(entries);
  log.close();
  const alerts = analyzeLog(p, DEFAULT_RULES, { now: new Date(night + 9 * 3_600_000) }).alerts.filter((a) => a.rule === 'off-hours');
  assert.equal(alerts.length, 2, alerts.map((a) => a.summary).join('\n'));
  assert.match(alerts[0]!.summary, /user bob at 10\.2\.0\.12: 3 records within 60 min around 01:00 \(UTC\).*usual hours: 09–17h/);
  assert.equal(alerts[1]!.evidence.length, 3);
});

test('one act, one alert: a study deleted instance by instance is one replaced-authentic alert citing every pair; deleting one again raises nothing', (t) => {
  const dir = tempDir(t, 'radseal-anom-');
  const sealed = (n: number) => verification({ sopInstanceUid: `2.25.${n}`, fileSha256: String(n).padStart(64, '0'), frameSerial: n });
  const del = (n: number) => access({ action: 'delete', sopInstanceUid: `2.25.${n}`, source: { via: 'rest', ae: null, host: '10.0.0.9', user: 'mallory' }, detail: 'DELETE /studies/{id}' });
  // Records one minute apart (logOf): the three deletions of one request are written together, so give them one time.
  const p = join(dir, 'study.jsonl');
  const times = [0, 1, 2, 10, 10, 10, 20].map((m) => Date.parse('2026-03-02T09:00:00Z') + m * 60_000);
  let i = 0;
  const log = new AuditLog(p, { clock: () => new Date(times[i++]!) });
  log.appendMany([sealed(1), sealed(2), sealed(3), del(1), del(2), del(3)]);
  log.append(del(3)); // gone already: not authentic any more, no alert
  log.close();
  const alerts = analyzeLog(p, DEFAULT_RULES, { now: new Date('2026-03-02T10:00:00Z') }).alerts;
  assert.equal(alerts.length, 1, alerts.map((a) => a.summary).join('\n'));
  assert.deepEqual(alerts[0]!.evidence, [1, 4, 2, 5, 3, 6]);
  assert.match(alerts[0]!.summary, /user mallory at 10\.0\.0\.9 deleted 3 instances that were stored authentic/);
  assert.equal(alerts[0]!.subject.sopInstanceUid, null);
  assert.ok(!('group' in alerts[0]!), 'the grouping key is not part of the alert');
});
