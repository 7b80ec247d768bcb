// A simulated week of a PACS audit log, from a fixed seed: four sealing modalities
// (one of them around the clock), a legacy unsigned CR and a forwarding PACS with mixed
// verdicts, five readers on day, night and weekend shifts (REST, WADO, QIDO), a viewer
// doing C-FIND + C-MOVE to known workstations, a workstation pulling by C-GET, an
// administrator deleting quarantined and unsigned objects, legitimate resends and a
// signed correction; plus planted incidents of every rule kind, each with the seq
// numbers that show it. Used by the anomaly tests and `npm run bench:anomalies`.
import type { AccessEntry, AuditEntry, AuditEvent, AuditSource } from '../../../host/ingest/audit.js';
import { AuditLog } from '../../../host/ingest/audit.js';
import type { RuleId } from '../../../host/anomaly/rules.js';

export interface PlantedIncident {
  id: string;
  rule: RuleId;
  /** seq numbers of the planted records (an alert is a hit when its evidence names one of them). */
  seqs: number[];
}

export interface SimulatedLog {
  records: number;
  incidents: PlantedIncident[];
  /** The time the log is judged at (just after its last record). */
  end: Date;
}

/** mulberry32: small, fast, and the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;
const MIN = 60_000;
const WEEK_START = Date.parse('2026-03-02T00:00:00Z'); // a Monday
/** The planted silence of the log writer: day 4 (Friday), 12:00 to 16:00. */
const GAP_FROM = WEEK_START + 4 * 24 * HOUR + 12 * HOUR;
const GAP_TO = WEEK_START + 4 * 24 * HOUR + 16 * HOUR;

interface Study {
  uid: string;
  patient: string;
  instances: string[];
}

interface Planned {
  t: number;
  e: AuditEvent;
  tag?: string;
}

export function simulateWeek(path: string, seed = 13): SimulatedLog {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  let uidCounter = 1000;
  const uid = () => `2.25.${seed}${++uidCounter}`;
  const events: Planned[] = [];
  const push = (t: number, e: AuditEvent, tag?: string) => events.push({ t, e, tag });

  // An archive of older studies the readers open, and the studies the modalities add this week.
  const archive: Study[] = Array.from({ length: 2500 }, () => ({ uid: uid(), patient: hex(16), instances: Array.from({ length: int(1, 4) }, uid) }));
  const fresh: Array<Study & { t: number; sha: Map<string, string>; device: string }> = [];

  const verification = (source: AuditSource, device: string | null, sop: string, verdict: string, sha: string, frameSerial: number | null, rawSha: string | null, reconciled = 0): AuditEntry => ({
    kind: 'verification', source, sopInstanceUid: sop, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', fileSha256: sha, bytes: 18_900_000,
    verdict, reasons: verdict === 'authentic' ? [] : [`simulated ${verdict}`], signers: [], device, frameSerial, rawSha256: rawSha, reconciled,
    technologist: null, watermark: null, tamperedTiles: null, action: verdict === 'authentic' ? 'stored' : 'quarantined', location: null, policy: 'accept-and-flag',
  });
  const access = (source: AuditSource, action: AccessEntry['action'], study: Study | null, sop: string | null, over: Partial<AccessEntry> = {}): AccessEntry => ({
    kind: 'access', source, action, level: sop ? 'instance' : study ? 'study' : null, studyUid: study?.uid ?? null, seriesUid: null,
    sopInstanceUid: sop, patientRef: study?.patient ?? null, instances: sop ? 1 : study ? study.instances.length : null, destination: null,
    transfer: null, fileSha256: null, outcome: 'success', detail: null, ...over,
  });

  // --- Modalities: sealed DX rooms (DX-4 in the emergency department, around the clock) ---
  const modalities = [1, 2, 3, 4].map((n) => ({ device: `DX-${n}`, source: { via: 'c-store', ae: `DX${n}`, host: `10.1.0.${n}` } as AuditSource, serial: 1000 * n, allDay: n === 4 }));
  for (const m of modalities) {
    for (let t = WEEK_START + int(0, 20) * MIN; t < WEEK_START + 7 * 24 * HOUR; t += int(8, 22) * MIN) {
      const h = new Date(t).getUTCHours();
      if (!m.allDay && (h < 7 || h >= 19)) continue;
      const study = { uid: uid(), patient: hex(16), instances: Array.from({ length: int(1, 3) }, uid), t, sha: new Map<string, string>(), device: m.device };
      study.instances.forEach((sop, i) => {
        const sha = hex(64);
        study.sha.set(sop, sha);
        push(t + i * 20_000, verification(m.source, m.device, sop, 'authentic', sha, ++m.serial, hex(64)));
      });
      fresh.push(study);
    }
  }
  // A legacy CR that never seals and a forwarding PACS with mixed verdicts from the start: never a downgrade.
  const legacy: AuditSource = { via: 'c-store', ae: 'CR_OLD', host: '10.1.0.20' };
  const forwarder: AuditSource = { via: 'c-store', ae: 'PACS_B', host: '10.1.0.30' };
  const unsignedLegacy: Array<{ t: number; sop: string; study: Study }> = [];
  for (let t = WEEK_START + 7 * HOUR; t < WEEK_START + 7 * 24 * HOUR; t += int(30, 90) * MIN) {
    const h = new Date(t).getUTCHours();
    if (h < 7 || h >= 18) continue;
    const study = { uid: uid(), patient: hex(16), instances: [uid()] };
    push(t, verification(legacy, null, study.instances[0]!, 'unsigned', hex(64), null, null));
    unsignedLegacy.push({ t, sop: study.instances[0]!, study });
    const v = rnd() < 0.5 ? 'authentic' : pick(['unsigned', 'untrusted']);
    push(t + 5 * MIN, verification(forwarder, v === 'authentic' ? 'DX-9' : null, uid(), v, hex(64), v === 'authentic' ? int(1, 1e6) : null, v === 'authentic' ? hex(64) : null));
  }

  // --- Readers ---
  const readers = [
    { user: 'alice', host: '10.2.0.11', days: [0, 1, 2, 3, 4, 5, 6], from: 8, to: 17 },
    { user: 'bob', host: '10.2.0.12', days: [0, 1, 2, 3, 4], from: 8, to: 17 },
    { user: 'carol', host: '10.2.0.13', days: [0, 1, 2, 3, 4], from: 9, to: 18 },
    { user: 'dave', host: '10.2.0.14', days: [0, 1, 2, 3, 4, 5, 6], from: 20, to: 30 }, // night shift, 20:00-06:00
    { user: 'erin', host: '10.2.0.15', days: [5, 6], from: 9, to: 15 },
  ];
  const studiesBefore = (t: number): Study[] => {
    const recent = fresh.filter((s) => s.t < t && s.t > t - 48 * HOUR);
    return recent.length > 20 && rnd() < 0.6 ? recent : archive;
  };
  const readStudy = (source: AuditSource, t: number, study: Study) => {
    push(t, access({ ...source, via: 'dicomweb' }, 'qido', null, null, { level: 'study', detail: 'GET /dicom-web/studies' }));
    for (const sop of study.instances.slice(0, int(1, study.instances.length))) {
      const action = rnd() < 0.5 ? 'wado' : 'rest-read';
      push(t + int(5, 120) * 1000, access({ ...source, via: action === 'wado' ? 'dicomweb' : 'rest' }, action, study, sop));
    }
  };
  for (const r of readers) {
    const source: AuditSource = { via: 'rest', ae: null, host: r.host, user: r.user };
    for (const d of r.days) {
      // Shifts start and end up to an hour early or late.
      const from = r.from + (rnd() < 0.3 ? pick([-1, 1]) : 0);
      const to = r.to + (rnd() < 0.3 ? pick([-1, 1]) : 0);
      for (let h = from; h < to; h++) {
        const start = WEEK_START + d * 24 * HOUR + h * HOUR;
        for (let k = int(3, 10); k > 0; k--) {
          const t = start + int(0, 59) * MIN;
          readStudy(source, t, pick(studiesBefore(t)));
        }
      }
    }
  }

  // Noise nobody planted: now and then a reader opens a study or two at any hour (from home, on call).
  for (const r of readers) {
    for (let d = 0; d < 7; d++) {
      if (rnd() >= 0.15) continue;
      const t = WEEK_START + d * 24 * HOUR + int(0, 23) * HOUR + int(0, 59) * MIN;
      for (let k = int(1, 2); k > 0; k--) readStudy({ via: 'rest', ae: null, host: r.host, user: r.user }, t + k * 4 * MIN, pick(studiesBefore(t)));
    }
  }

  // --- Viewer: C-FIND then C-MOVE to known workstations; a workstation pulling by C-GET ---
  const viewer: AuditSource = { via: 'dimse', ae: 'VIEWER1', host: '10.3.0.5', user: null };
  const ws3: AuditSource = { via: 'dimse', ae: 'WS3', host: '10.3.0.9', user: null };
  let transfer = 0;
  const move = (source: AuditSource, t: number, study: Study, destination: string, instances: number, complete = true, tag?: string) => {
    const id = `move-${++transfer}`;
    const action = source.ae === destination ? 'c-get' : 'c-move';
    push(t, access(source, action, study, null, { level: 'study', destination, instances, transfer: { id, phase: 'begin' } }), tag);
    if (complete) push(t + int(5, 90) * 1000, access(source, action, study, null, { level: 'study', destination, instances, transfer: { id, phase: 'end' } }));
  };
  for (let d = 0; d < 7; d++) {
    for (let h = 7; h < 22; h++) {
      for (let k = int(1, 4); k > 0; k--) {
        const t = WEEK_START + d * 24 * HOUR + h * HOUR + int(0, 58) * MIN;
        const study = pick(studiesBefore(t));
        push(t, access(viewer, 'c-find', null, null, { level: 'study', detail: 'C-FIND STUDY' }));
        move(viewer, t + 20_000, study, pick(['WS1', 'WS2']), int(1, 20));
      }
      if (h >= 8 && h < 18 && d < 5 && rnd() < 0.6) {
        const t = WEEK_START + d * 24 * HOUR + h * HOUR + int(0, 58) * MIN;
        move(ws3, t, pick(studiesBefore(t)), 'WS3', int(5, 30));
      }
    }
  }

  // --- Administrator: unsigned objects deleted, quarantine decisions; a resend; a signed correction ---
  const admin: AuditSource = { via: 'rest', ae: null, host: '10.2.0.2', user: 'pacs-admin' };
  for (const u of unsignedLegacy.filter(() => rnd() < 0.1)) push(u.t + 2 * HOUR, access(admin, 'delete', u.study, u.sop));
  for (let d = 0; d < 5; d++) {
    push(WEEK_START + d * 24 * HOUR + 16 * HOUR, { kind: 'admin', source: { ...admin, via: 'desk' }, action: pick(['quarantine-release', 'quarantine-delete']), sopInstanceUid: uid(), fileSha256: hex(64), location: null, reason: 'reviewed with the modality engineer', outcome: 'success' });
  }
  /** Sealed studies stored in the two days before t (not the emergency room's, which the planted deletions leave alone). */
  const sealedBefore = (t: number) => fresh.filter((s) => s.t < t - HOUR && s.t > t - 48 * HOUR && s.device !== 'DX-4' && (s.t < GAP_FROM || s.t >= GAP_TO));
  {
    const s = pick(sealedBefore(WEEK_START + 2 * 24 * HOUR));
    const sop = s.instances[0]!;
    const m = modalities.find((x) => x.device === s.device)!;
    push(s.t + 30 * MIN, verification(m.source, s.device, sop, 'authentic', s.sha.get(sop)!, null, null)); // the same bytes sent again
    const fix = pick(sealedBefore(WEEK_START + 3 * 24 * HOUR));
    const fixSop = fix.instances[0]!;
    push(fix.t + 3 * HOUR, access(admin, 'modify', fix, fixSop, { detail: 'reconcile (radseal, signed correction) CORRECT' }));
    push(fix.t + 3 * HOUR + 10_000, verification({ via: 'orthanc-plugin', ae: null, host: null }, fix.device, fixSop, 'authentic', hex(64), null, null, 1));
  }

  // --- Planted incidents (after three days of learning) ---
  const at = (day: number, h: number, m = 0) => WEEK_START + day * 24 * HOUR + h * HOUR + m * MIN;
  const tagged = new Map<string, RuleId>();
  const plant = (tag: string, rule: RuleId) => {
    tagged.set(tag, rule);
    return tag;
  };
  // downgrade: DX3 always sealed, then an unsigned object from the same AE and address.
  push(at(4, 10, 12), verification(modalities[2]!.source, null, uid(), 'unsigned', hex(64), null, null), plant('downgrade-dx3', 'downgrade'));
  // downgrade on the device: an object naming DX-2 signed by a key the site does not trust.
  push(at(5, 11, 3), verification({ via: 'c-store', ae: 'DX2', host: '10.9.9.9' }, 'DX-2', uid(), 'untrusted', hex(64), 999_999, hex(64)), plant('downgrade-dx2-untrusted', 'downgrade'));
  // replaced-authentic: different bytes under an authentic UID; a deletion; a modification.
  {
    const s = pick(sealedBefore(at(3, 14, 0)));
    push(at(3, 14, 0), verification({ via: 'c-store', ae: 'DX1', host: '10.1.0.1' }, s.device, s.instances[0]!, 'tampered', hex(64), null, null), plant('second-object-same-uid', 'replaced-authentic'));
    const del = pick(sealedBefore(at(5, 11, 0)));
    push(at(5, 11, 0), access({ via: 'rest', ae: null, host: '10.2.0.13', user: 'carol' }, 'delete', del, del.instances[0]!), plant('delete-authentic', 'replaced-authentic'));
    const mod = pick(sealedBefore(at(6, 9, 30)));
    push(at(6, 9, 30), access({ via: 'rest', ae: null, host: '10.2.0.11', user: 'alice' }, 'modify', mod, mod.instances[0]!, { detail: 'POST /instances/{id}/modify' }), plant('modify-authentic', 'replaced-authentic'));
  }
  // replay: DX-1's frame serial 1005 again, under a new SOP Instance UID.
  push(at(4, 17, 0), verification(modalities[0]!.source, 'DX-1', uid(), 'authentic', hex(64), 1005, hex(64)), plant('replay-dx1', 'replay'));
  // volume: alice opens 90 different studies in one hour.
  const bulk = plant('bulk-reading-alice', 'volume');
  for (let i = 0; i < 90; i++) push(at(5, 13, 0) + i * 30_000, access({ via: 'rest', ae: null, host: '10.2.0.11', user: 'alice' }, 'rest-read', archive[i]!, archive[i]!.instances[0]!), bulk);
  // new destination: 400 instances to an AE never seen before.
  const exfil = plant('move-to-exfil', 'new-destination');
  for (let i = 0; i < 8; i++) move(viewer, at(6, 14, 0) + i * 2 * MIN, archive[200 + i]!, 'EXFIL', 50, true, exfil);
  // off-hours: bob (weekdays 08-17) at 03:00.
  const night = plant('bob-at-3am', 'off-hours');
  for (let i = 0; i < 6; i++) push(at(5, 3, 5 + i * 6), access({ via: 'rest', ae: null, host: '10.2.0.12', user: 'bob' }, 'rest-read', archive[300 + i]!, archive[300 + i]!.instances[0]!), night);
  // transfer-incomplete: a C-MOVE that began and never finished.
  move(viewer, at(3, 16, 0), archive[400]!, 'WS1', 12, false, plant('move-never-finished', 'transfer-incomplete'));

  // writer-stopped: nothing written on day 4 from 12:00 to 16:00.
  const kept = events.filter((e) => e.t < GAP_FROM || e.t >= GAP_TO);
  kept.sort((a, b) => a.t - b.t);

  const log = new AuditLog(path, { clock: (() => { let i = 0; return () => new Date(kept[i++]!.t); })() });
  const written = log.appendMany(kept.map((k) => k.e));
  log.close();
  const incidents = new Map<string, PlantedIncident>();
  kept.forEach((k, i) => {
    if (!k.tag) return;
    const inc = incidents.get(k.tag) ?? { id: k.tag, rule: tagged.get(k.tag)!, seqs: [] };
    inc.seqs.push(written[i]!.seq);
    incidents.set(k.tag, inc);
  });
  const before = kept.filter((k) => k.t < GAP_FROM).length - 1;
  incidents.set('writer-silent', { id: 'writer-silent', rule: 'writer-stopped', seqs: [written[before]!.seq, written[before + 1]!.seq] });
  return { records: written.length, incidents: [...incidents.values()], end: new Date(kept[kept.length - 1]!.t + MIN) };
}

export interface Score {
  incidents: number;
  found: string[];
  missed: string[];
  alerts: number;
  trueAlerts: number;
  falseAlerts: Array<{ rule: string; summary: string }>;
  precision: number;
  recall: number;
}

/** An incident is found when an alert of its rule cites one of its seqs; an alert is true when it cites any incident's seq. */
export function score(incidents: PlantedIncident[], alerts: Array<{ rule: string; evidence: number[]; summary: string }>): Score {
  const cites = (a: { evidence: number[] }, i: PlantedIncident) => i.seqs.some((s) => a.evidence.includes(s));
  const found = incidents.filter((i) => alerts.some((a) => a.rule === i.rule && cites(a, i))).map((i) => i.id);
  const missed = incidents.filter((i) => !found.includes(i.id)).map((i) => i.id);
  const falseAlerts = alerts.filter((a) => !incidents.some((i) => cites(a, i))).map((a) => ({ rule: a.rule, summary: a.summary }));
  const trueAlerts = alerts.length - falseAlerts.length;
  return {
    incidents: incidents.length, found, missed, alerts: alerts.length, trueAlerts, falseAlerts,
    precision: alerts.length ? trueAlerts / alerts.length : 1, recall: incidents.length ? found.length / incidents.length : 1,
  };
}
