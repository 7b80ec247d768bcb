// The anomaly engine: deterministic, explainable rules over the audit chain's records,
// fed one record at a time in log order. The same engine runs over a whole log
// (`radseal anomalies`) and live inside ingest / verify-service (monitor.ts), so a
// rule behaves the same in both. Baselines are learned only from records before
// the one being judged; every alert names the records (seq) that are its evidence.
import type { AccessEntry, AlertEntry, AnyAuditRecord, AuditEntry, AuditSource, Chained, ChainCheck } from '../ingest/audit.js';
import { HOUR_MS, localClock, MINUTE_MS, span, type LocalTime } from './clock.js';
import type { AnomalyRules, RuleId } from './rules.js';

export type AlertDraft = Omit<AlertEntry, 'kind' | 'detector'> & {
  rule: RuleId;
  time: string;
  /** Hits that belong together when adjacent (one request deleting a study instance by instance); see coalesce(). */
  group?: { key: string; who: string; verb: string; count: number };
};

type Verification = Chained<AuditEntry>;
type Access = Chained<AccessEntry>;

/** Evidence lists are capped so one alert stays one readable record. */
const MAX_EVIDENCE = 200;

/** Who a record names as its source; verification records have no user. */
export function sourceKey(s: AuditSource): string {
  return `${s.ae ?? '-'}|${s.host ?? '-'}|${s.user ?? '-'}`;
}
export function describeSource(s: AuditSource): string {
  const parts = [s.user ? `user ${s.user}` : null, s.ae ? `AE ${s.ae}` : null, s.host ? `at ${s.host}` : null].filter(Boolean);
  return parts.length ? parts.join(' ') : `an unnamed source (${s.via})`;
}
const sourceOnly = (s: AuditSource): AuditSource => ({ via: s.via, ae: s.ae, host: s.host, user: s.user ?? null });

/** A hit list that keeps the first MAX_EVIDENCE seq numbers. */
const capped = (seqs: number[]) => seqs.slice(0, MAX_EVIDENCE);

interface SealHistory {
  sealed: number;
  lastSealed: number[];
  mixed: boolean;
}

interface HourBucket {
  hour: number;
  studies: Map<string, number>;
  patients: Map<string, number>;
  alertedStudies: boolean;
  alertedPatients: boolean;
}

interface OffHoursState {
  hist: number[];
  total: number;
  days: Set<string>;
  /** Off-hours events not yet learned (they join the baseline once they leave the window). */
  pending: Array<{ seq: number; t: number; hour: number; date: string }>;
  /** Time of the last off-hours record, and whether its session has been alerted. */
  lastOff: number;
  alerted: boolean;
}

export class AnomalyEngine {
  private readonly r: AnomalyRules['rules'];
  private readonly local: (ms: number) => LocalTime;
  private firstTime = NaN;
  private lastTime = NaN;
  private lastSeq = 0;

  // downgrade
  private readonly sealBySource = new Map<string, SealHistory>();
  private readonly sealByDevice = new Map<string, SealHistory>();
  // replaced-authentic
  private readonly authentic = new Map<string, { seq: number; sha: string | null }>();
  // replay
  private readonly captures = new Map<string, { uid: string; seq: number }>();
  private readonly replayAlerted = new Set<string>();
  // volume
  private readonly buckets = new Map<string, HourBucket>();
  private readonly hourHistory = new Map<string, { studies: number[]; patients: number[] }>();
  // new destination
  private readonly knownDestinations: Set<string>;
  private readonly newDestinations = new Map<string, { start: number; instances: number; seqs: number[]; alerted: boolean }>();
  // off-hours
  private readonly offHours = new Map<string, OffHoursState>();
  // transfer-incomplete
  private readonly openTransfers = new Map<string, { seq: number; t: number; source: AuditSource; destination: string | null }>();
  // writer-stopped
  private readonly rate = { hist: new Array<number>(24).fill(0), days: new Set<string>() };

  constructor(readonly rules: AnomalyRules) {
    this.r = rules.rules;
    this.local = localClock(rules.timeZone);
    this.knownDestinations = new Set(this.r['new-destination'].knownDestinations);
  }

  /** Judges one record (in log order); returns the alerts it completes. Alert records are not judged. */
  observe(rec: AnyAuditRecord): AlertDraft[] {
    const t = Date.parse(rec.time);
    if (!Number.isFinite(t) || rec.kind === 'alert') return [];
    const out: AlertDraft[] = [];
    if (Number.isNaN(this.firstTime)) this.firstTime = t;
    out.push(...this.tick(t));
    const lt = this.local(t);
    if (this.r['writer-stopped'].enabled && this.lastSeq > 0) {
      const a = this.silence(this.lastTime, t, [this.lastSeq, rec.seq], `between record ${this.lastSeq} and record ${rec.seq}`);
      if (a) out.push(a);
    }
    if (rec.kind === 'verification' || rec.kind === undefined) out.push(...this.verification(rec as Verification));
    else if (rec.kind === 'access') out.push(...this.access(rec as Access, t));
    const source = (rec as { source?: AuditSource }).source;
    if (source) out.push(...this.offHoursOf(source, rec.seq, t, lt));
    this.rate.hist[lt.hour]! += 1;
    this.rate.days.add(lt.date);
    this.lastTime = Math.max(Number.isNaN(this.lastTime) ? t : this.lastTime, t);
    this.lastSeq = rec.seq;
    return out;
  }

  /** Time-based rules up to `now` (transfers that never finished). Called by observe and by the live monitor's timer. */
  tick(now: number): AlertDraft[] {
    const out: AlertDraft[] = [];
    const rule = this.r['transfer-incomplete'];
    if (!rule.enabled) return out;
    for (const [id, b] of this.openTransfers) {
      if (now - b.t <= rule.timeoutMinutes * MINUTE_MS) continue;
      this.openTransfers.delete(id);
      out.push({
        rule: 'transfer-incomplete', severity: rule.severity, time: new Date(now).toISOString(), evidence: [b.seq],
        summary: `transfer ${id} by ${describeSource(b.source)}${b.destination ? ` to ${b.destination}` : ''} began (record ${b.seq}) but no record says its instances were transferred within ${rule.timeoutMinutes} min`,
        subject: { source: b.source, device: null, sopInstanceUid: null },
      });
    }
    return out;
  }

  /** At the end of a log: transfers still open and a writer silent since the last record, judged at `now`. */
  finish(now: number): AlertDraft[] {
    const out = this.tick(now);
    if (this.r['writer-stopped'].enabled && this.lastSeq > 0) {
      const a = this.silence(this.lastTime, now, [this.lastSeq], `since record ${this.lastSeq} (the last)`);
      if (a) out.push(a);
    }
    return out;
  }

  /**
   * A service resuming a log at `now` (after reading it to learn): transfers left open and the
   * writer's silence since the last record; later records are judged from `now` on.
   */
  resume(now: number): AlertDraft[] {
    const out = this.finish(now);
    if (this.lastSeq > 0) this.lastTime = Math.max(this.lastTime, now);
    return out;
  }

  /** An alert for a chain that does not verify (edit, deletion, reordering, truncation), or null. */
  chainAlert(check: ChainCheck, now: number): AlertDraft | null {
    const rule = this.r.chain;
    if (check.ok || !rule.enabled || !check.firstBroken) return null;
    const line = check.firstBroken.line;
    return {
      rule: 'chain', severity: rule.severity, time: new Date(now).toISOString(),
      evidence: check.head.seq >= 1 ? [Math.min(check.head.seq, Math.max(1, line - 1))] : [],
      summary: `the audit chain is broken at record ${line}: ${check.firstBroken.problem}`,
      subject: { source: null, device: null, sopInstanceUid: null },
    };
  }

  private verification(v: Verification): AlertDraft[] {
    const out: AlertDraft[] = [];
    const time = v.time;
    const sealed = v.verdict === 'authentic';
    const downgraded = v.verdict === 'unsigned' || v.verdict === 'untrusted';
    const dg = this.r.downgrade;
    if (dg.enabled) {
      const judge = (map: Map<string, SealHistory>, key: string, what: string) => {
        const h = map.get(key) ?? { sealed: 0, lastSealed: [], mixed: false };
        map.set(key, h);
        if (sealed) {
          h.sealed++;
          h.lastSealed = [...h.lastSealed, v.seq].slice(-3);
        } else if (downgraded) {
          if (!h.mixed && h.sealed >= dg.minSealedBefore) {
            out.push({
              rule: 'downgrade', severity: dg.severity, time, evidence: [...h.lastSealed, v.seq],
              summary: `${what} sent ${h.sealed} sealed, authentic object(s) and now an ${v.verdict} one (record ${v.seq}, SOP Instance ${v.sopInstanceUid ?? 'unknown'}): a downgrade, as when sealed images are intercepted and replaced`,
              subject: { source: sourceOnly(v.source), device: v.device, sopInstanceUid: v.sopInstanceUid },
            });
          }
          h.mixed = true; // one alert per source: after this it is no longer "always sealed"
        }
      };
      if (v.source.ae || v.source.host) judge(this.sealBySource, sourceKey(v.source), describeSource(v.source));
      if (v.device && (sealed || v.verdict === 'untrusted')) judge(this.sealByDevice, v.device, `device ${v.device}`);
    }
    const ra = this.r['replaced-authentic'];
    const uid = v.sopInstanceUid;
    if (uid) {
      const before = this.authentic.get(uid);
      const differs = before && before.sha && v.fileSha256 && before.sha !== v.fileSha256;
      // A correction made the standard way (signed by the PACS signer, verified) replaces the bytes legitimately.
      const correction = sealed && (v.reconciled ?? 0) > 0;
      if (ra.enabled && before && differs && !correction) {
        out.push({
          rule: 'replaced-authentic', severity: ra.severity, time, evidence: [before.seq, v.seq],
          summary: `a second object arrived under SOP Instance UID ${uid} with different bytes (record ${v.seq}, ${v.verdict}, SHA-256 ${v.fileSha256!.slice(0, 16)}…) after an authentic one (record ${before.seq}, ${before.sha!.slice(0, 16)}…)`,
          subject: { source: sourceOnly(v.source), device: v.device, sopInstanceUid: uid },
        });
      }
      if (sealed && (!before || correction)) this.authentic.set(uid, { seq: v.seq, sha: v.fileSha256 });
    }
    const rp = this.r.replay;
    if (rp.enabled && v.device && uid) {
      const keys: Array<[string, string]> = [];
      if (typeof v.frameSerial === 'number') keys.push([`${v.device}#serial:${v.frameSerial}`, `frame serial ${v.frameSerial}`]);
      if (v.rawSha256) keys.push([`${v.device}#raw:${v.rawSha256}`, `raw frame SHA-256 ${v.rawSha256.slice(0, 16)}…`]);
      for (const [key, what] of keys) {
        const first = this.captures.get(key);
        if (!first) {
          this.captures.set(key, { uid, seq: v.seq });
          continue;
        }
        const pair = `${first.uid}|${uid}`;
        if (first.uid === uid || this.replayAlerted.has(pair)) continue;
        this.replayAlerted.add(pair);
        out.push({
          rule: 'replay', severity: rp.severity, time, evidence: [first.seq, v.seq],
          summary: `device ${v.device}, ${what}: the same capture under two SOP Instance UIDs (${first.uid} in record ${first.seq}, ${uid} in record ${v.seq}): a replayed frame`,
          subject: { source: sourceOnly(v.source), device: v.device, sopInstanceUid: uid },
        });
      }
    }
    return out;
  }

  private access(a: Access, t: number): AlertDraft[] {
    const out: AlertDraft[] = [];
    const time = a.time;
    const done = a.outcome !== 'refused' && a.outcome !== 'failure';
    const ra = this.r['replaced-authentic'];
    const uid = a.sopInstanceUid;
    if (ra.enabled && done && uid && (a.action === 'delete' || (a.action === 'modify' && !a.detail?.startsWith('reconcile')))) {
      const before = this.authentic.get(uid);
      if (before) {
        out.push({
          rule: 'replaced-authentic', severity: ra.severity, time, evidence: [before.seq, a.seq],
          summary: `${describeSource(a.source)} ${a.action === 'delete' ? 'deleted' : 'modified'} instance ${uid} (record ${a.seq}), which was stored authentic (record ${before.seq})`,
          subject: { source: sourceOnly(a.source), device: null, sopInstanceUid: uid },
          group: { key: `${sourceKey(a.source)}|${a.action}|${a.detail ?? ''}`, who: describeSource(a.source), verb: a.action === 'delete' ? 'deleted' : 'modified', count: 1 },
        });
        if (a.action === 'delete') this.authentic.delete(uid);
      }
    }
    if (a.transfer) {
      if (a.transfer.phase === 'begin') this.openTransfers.set(a.transfer.id, { seq: a.seq, t, source: a.source, destination: a.destination });
      else this.openTransfers.delete(a.transfer.id);
    }
    if (done) out.push(...this.volume(a, t));
    if (done && (a.action === 'c-move' || a.action === 'c-get') && a.transfer?.phase !== 'end') out.push(...this.destination(a, t));
    return out;
  }

  private volume(a: Access, t: number): AlertDraft[] {
    const rule = this.r.volume;
    if (!rule.enabled || (!a.studyUid && !a.patientRef)) return [];
    const key = sourceKey(a.source);
    const hour = Math.floor(t / HOUR_MS);
    let b = this.buckets.get(key);
    const hist = this.hourHistory.get(key) ?? { studies: [], patients: [] };
    this.hourHistory.set(key, hist);
    if (!b || b.hour !== hour) {
      if (b) {
        hist.studies.push(b.studies.size);
        hist.patients.push(b.patients.size);
      }
      b = { hour, studies: new Map(), patients: new Map(), alertedStudies: false, alertedPatients: false };
      this.buckets.set(key, b);
    }
    if (a.studyUid && !b.studies.has(a.studyUid)) b.studies.set(a.studyUid, a.seq);
    if (a.patientRef && !b.patients.has(a.patientRef)) b.patients.set(a.patientRef, a.seq);
    const out: AlertDraft[] = [];
    const limitFor = (what: 'studies' | 'patients'): { max: number; why: string } => {
      const cfgKey = what === 'studies' ? 'maxStudiesPerHour' : 'maxPatientsPerHour';
      const own = rule.sources.find((s) => (s.ae === undefined || s.ae === a.source.ae) && (s.host === undefined || s.host === a.source.host) && (s.user === undefined || s.user === a.source.user) && s[cfgKey] !== undefined);
      if (own) return { max: own[cfgKey]!, why: 'the limit configured for this source' };
      if (rule[cfgKey] !== null) return { max: rule[cfgKey]!, why: 'the configured limit' };
      const past = hist[what];
      if (past.length >= rule.minActiveHours) {
        const peak = Math.max(...past);
        const max = Math.max(rule.learnedFloor, Math.ceil(rule.learnedFactor * peak));
        return { max, why: `${rule.learnedFactor}× its busiest hour so far (${peak} in ${past.length} active hours, floor ${rule.learnedFloor})` };
      }
      return { max: rule.untrainedMaxPerHour, why: `the limit for a source with fewer than ${rule.minActiveHours} active hours of history` };
    };
    for (const what of ['studies', 'patients'] as const) {
      const seen = what === 'studies' ? b.studies : b.patients;
      const flag = what === 'studies' ? 'alertedStudies' : 'alertedPatients';
      if (b[flag] || seen.size === 0) continue;
      const { max, why } = limitFor(what);
      if (seen.size <= max) continue;
      b[flag] = true;
      out.push({
        rule: 'volume', severity: rule.severity, time: a.time, evidence: capped([...seen.values()]),
        summary: `${describeSource(a.source)} touched ${seen.size} distinct ${what} within the hour from ${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}:00Z, over ${max} (${why})`,
        subject: { source: sourceOnly(a.source), device: null, sopInstanceUid: null },
      });
    }
    return out;
  }

  private destination(a: Access, t: number): AlertDraft[] {
    const rule = this.r['new-destination'];
    const dest = a.action === 'c-get' ? a.source.ae : a.destination;
    if (!rule.enabled || !dest) return [];
    const learning = t - this.firstTime < rule.learnDays * 24 * HOUR_MS;
    for (const [d, w] of this.newDestinations) {
      if (t - w.start > rule.windowMinutes * MINUTE_MS) {
        this.newDestinations.delete(d);
        this.knownDestinations.add(d); // seen now: later transfers to it are not "never seen before"
      }
    }
    if (learning || this.knownDestinations.has(dest)) {
      this.knownDestinations.add(dest);
      return [];
    }
    const w = this.newDestinations.get(dest) ?? { start: t, instances: 0, seqs: [], alerted: false };
    this.newDestinations.set(dest, w);
    w.instances += a.instances ?? 1;
    w.seqs.push(a.seq);
    if (w.alerted || w.instances < rule.minInstances) return [];
    w.alerted = true;
    return [{
      rule: 'new-destination', severity: rule.severity, time: a.time, evidence: capped(w.seqs),
      summary: `${w.instances} instances retrieved (${a.action}) to AE ${dest}, never seen as a destination before, within ${span(t - w.start)} (threshold ${rule.minInstances} in ${rule.windowMinutes} min); last request by ${describeSource(a.source)}`,
      subject: { source: sourceOnly(a.source), device: null, sopInstanceUid: null },
    }];
  }

  private offHoursOf(source: AuditSource, seq: number, t: number, lt: LocalTime): AlertDraft[] {
    const rule = this.r['off-hours'];
    if (!rule.enabled || !source) return [];
    const key = sourceKey(source);
    const s = this.offHours.get(key) ?? { hist: new Array<number>(24).fill(0), total: 0, days: new Set<string>(), pending: [], lastOff: -Infinity, alerted: false };
    this.offHours.set(key, s);
    const learn = (hour: number, date: string) => {
      s.hist[hour]! += 1;
      s.total++;
      s.days.add(date);
    };
    while (s.pending.length && t - s.pending[0]!.t > rule.windowMinutes * MINUTE_MS) {
      const p = s.pending.shift()!;
      learn(p.hour, p.date);
    }
    const trained = s.days.size >= rule.minDaysToLearn && s.total >= rule.minEventsToLearn;
    let share = 1;
    if (trained) {
      let near = 0;
      for (let d = -rule.neighbourHours; d <= rule.neighbourHours; d++) near += s.hist[(lt.hour + d + 24) % 24]!;
      share = near / s.total;
    }
    if (!trained || share >= rule.minShare) {
      learn(lt.hour, lt.date);
      return [];
    }
    // A session of off-hours activity ends after cooldownMinutes without any: one alert per session.
    if (t - s.lastOff > rule.cooldownMinutes * MINUTE_MS) s.alerted = false;
    s.lastOff = t;
    s.pending.push({ seq, t, hour: lt.hour, date: lt.date });
    if (s.pending.length < rule.minEvents || s.alerted) return [];
    s.alerted = true;
    const usual = s.hist.map((n, h) => [h, n] as const).filter(([, n]) => n / s.total >= rule.minShare).map(([h]) => h);
    return [{
      rule: 'off-hours', severity: rule.severity, time: new Date(t).toISOString(), evidence: capped(s.pending.map((p) => p.seq)),
      summary: `${describeSource(source)}: ${s.pending.length} records within ${rule.windowMinutes} min around ${String(lt.hour).padStart(2, '0')}:00 (${this.rules.timeZone}), an hour holding ${(share * 100).toFixed(1)}% of its ${s.total} records over ${s.days.size} days (usual hours: ${hoursText(usual)})`,
      subject: { source: sourceOnly(source), device: null, sopInstanceUid: null },
    }];
  }

  /** A silence of the log writer longer than the rule allows, in hours when records are usually written. */
  private silence(from: number, to: number, evidence: number[], where: string): AlertDraft | null {
    const rule = this.r['writer-stopped'];
    const gap = to - from;
    if (gap <= rule.maxSilenceMinutes * MINUTE_MS || this.rate.days.size < rule.minDaysToLearn) return null;
    let expected = 0;
    const days = this.rate.days.size;
    const step = 15 * MINUTE_MS;
    for (let x = from; x < to && x - from < 31 * 24 * HOUR_MS; x += step) expected += (this.rate.hist[this.local(x).hour]! / days) * (Math.min(step, to - x) / HOUR_MS);
    if (expected < rule.minExpectedRecords) return null;
    return {
      rule: 'writer-stopped', severity: rule.severity, time: new Date(to).toISOString(), evidence,
      summary: `no audit record for ${span(gap)} ${where}, when the log usually holds about ${Math.round(expected)} records in those hours (learned over ${days} days): the log writer stopped or records were withheld`,
      subject: { source: null, device: null, sopInstanceUid: null },
    };
  }
}

/**
 * One alert for one act: adjacent deletions or changes of authentic instances by the same source
 * through the same request path, within a minute of each other (a study deleted instance by
 * instance), become one alert citing every pair of records; the rest pass unchanged.
 */
export function coalesce(drafts: readonly AlertDraft[]): AlertDraft[] {
  const out: AlertDraft[] = [];
  for (const d of drafts) {
    const prev = out[out.length - 1];
    if (prev?.group && d.group && prev.group.key === d.group.key && Math.abs(Date.parse(d.time) - Date.parse(prev.time)) <= MINUTE_MS) {
      const count = prev.group.count + 1;
      out[out.length - 1] = {
        ...prev, time: d.time, evidence: capped([...prev.evidence, ...d.evidence]), group: { ...prev.group, count },
        summary: `${prev.group.who} ${prev.group.verb} ${count} instances that were stored authentic (records ${capped([...prev.evidence, ...d.evidence]).join(', ')}: each authentic verification, then the access)`,
        subject: { ...prev.subject, sopInstanceUid: null },
      };
      continue;
    }
    out.push(d);
  }
  return out;
}

function hoursText(hours: number[]): string {
  if (!hours.length) return 'none yet';
  const ranges: string[] = [];
  let start = hours[0]!;
  let prev = start;
  for (const h of [...hours.slice(1), -1]) {
    if (h === prev + 1) {
      prev = h;
      continue;
    }
    ranges.push(start === prev ? `${String(start).padStart(2, '0')}h` : `${String(start).padStart(2, '0')}–${String(prev + 1).padStart(2, '0')}h`);
    start = prev = h;
  }
  return ranges.join(', ');
}
