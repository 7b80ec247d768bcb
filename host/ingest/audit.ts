// The audit trail: append-only JSON Lines, each record hash-chained to the line
// before it and fsynced before the action it records is acknowledged.
//
// One chain holds records of several kinds (field `kind`): `verification`
// (one per object verified at ingest; records written before kinds existed
// have no `kind` field and are verifications), `access` (who read, queried,
// retrieved, stored, deleted or modified which study/series/instance at the
// PACS, and the outcome), `admin` (a person releasing or deleting a
// quarantined object, with the reason given) and `alert` (an anomaly rule
// hit, naming the seq numbers of the records that are its evidence).
//
// Chain: record n carries `seq` = n (1-based) and `prev` = SHA-256 (hex) of the
// exact bytes of line n-1 (without its newline); record 1 has prev = 64 zeros.
// A head file beside the log (LOG.head) holds the seq and SHA-256 of the last
// line, rewritten atomically after each append: it is what makes truncation of
// whole trailing records visible. The chain is unkeyed: it catches edits,
// deletions, reordering and truncation by anyone who does not rewrite every
// later record and the head; copying the head hash off the machine
// (`radseal audit verify` prints it; `--anchor SEQ:HASH` checks it later) is
// what makes a rewrite of the whole chain detectable.
//
// PHI: a record holds study/series/SOP Instance UIDs, hashes, the verdict and
// its reasons, signer certificate names (devices, technologists), AE titles,
// addresses and user names — never patient names, IDs or birth dates, never
// query values (a QIDO or C-FIND may search by name), and never keys. Where a
// rule needs to count patients, an access record carries a keyed pseudonym.
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic.js';
import type { VerifyReport } from './verify.js';

export type IngestAction = 'stored' | 'quarantined' | 'rejected';

/** Who acted (every kind of record names its source the same way: it is what anomaly rules group by). */
export interface AuditSource {
  /** How the object arrived or the access came in: c-store (gateway), orthanc (verify-service hook), http, watch, dicomweb, rest, dimse, cli. */
  via: string;
  /** Calling AE title of the sender, when known. */
  ae: string | null;
  /** Remote host/IP, when known. */
  host: string | null;
  /** Authenticated user name, when the front door knows one (Orthanc's HTTP user, a desk login). */
  user?: string | null;
}

export type AuditKind = 'verification' | 'access' | 'admin' | 'alert';

/** The fields of one verification record the caller provides; seq, time and prev are added by the log. */
export interface AuditEntry {
  /** Absent in records written before kinds existed; the log writes 'verification'. */
  kind?: 'verification';
  source: AuditSource;
  sopInstanceUid: string | null;
  sopClassUid: string | null;
  /** SHA-256 of the Part 10 file as received; null when it was refused before it was complete (size limits). */
  fileSha256: string | null;
  bytes: number;
  verdict: string;
  reasons: string[];
  signers: Array<{ cn: string; role: string; algorithm: string; valid: boolean; trusted: boolean }>;
  device: string | null;
  /** The capture's frame serial and raw frame SHA-256 from the signed attestation, when known (replay detection). */
  frameSerial?: number | null;
  rawSha256?: string | null;
  /** How many verified corrections (Original Attributes Sequence, PACS signer) the object carries. */
  reconciled?: number;
  technologist: { operatorId: string | null; signer: string | null; accepted: boolean } | null;
  watermark: { present: boolean; score: number; payloadMatchesAttestation: boolean | null; contentTagMatches: boolean | null; blockSize: number; tamperedBlocks: Array<[number, number]> } | null;
  tamperedTiles: { size: number; tiles: Array<[number, number]>; tableAuthenticated: boolean } | null;
  action: IngestAction;
  /** Where the bytes were kept (path relative to the store or quarantine folder), or null. */
  location: string | null;
  /** Policy in force: accept-and-flag or reject. */
  policy: string;
}

export type VerificationEntry = AuditEntry;

/** What can be done to an instance at the PACS (REST and DICOMweb reads, queries, retrievals, stores, deletions, changes). */
export const ACCESS_ACTIONS = ['rest-read', 'wado', 'qido', 'stow', 'c-store', 'c-find', 'c-move', 'c-get', 'delete', 'modify'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];
/** requested: let through by a filter that runs before the request is served (it never sees the answer). */
export type AccessOutcome = 'success' | 'failure' | 'refused' | 'requested';

/** One access at the PACS. UIDs only: the patient appears as a keyed pseudonym, never as a name or ID. */
export interface AccessEntry {
  kind: 'access';
  source: AuditSource;
  action: AccessAction;
  /** patient, study, series or instance (the REST resource or the query/retrieve level), or null. */
  level: string | null;
  studyUid: string | null;
  seriesUid: string | null;
  sopInstanceUid: string | null;
  /** Keyed pseudonym of the patient (HMAC under a key kept beside the log), so rules can count patients; null when unknown. */
  patientRef: string | null;
  /** How many instances the access concerned, when known (a study retrieval moves many). */
  instances: number | null;
  /** Destination AE of a C-MOVE (or the peer a transfer went to). */
  destination: string | null;
  /** A transfer is two records with the same id: phase 'begin' when it starts, 'end' when its instances were sent. */
  transfer: { id: string; phase: 'begin' | 'end' } | null;
  /** SHA-256 of the instance's stored bytes when the access wrote, replaced or deleted one. */
  fileSha256: string | null;
  outcome: AccessOutcome;
  /** Why it failed or was refused, or the HTTP method and resource path; never query values. */
  detail: string | null;
}

export const ADMIN_ACTIONS = ['quarantine-release', 'quarantine-delete'] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** A person's decision on a quarantined object, with the reason they gave. */
export interface AdminEntry {
  kind: 'admin';
  source: AuditSource;
  action: AdminAction;
  sopInstanceUid: string | null;
  fileSha256: string | null;
  /** Where the object was (quarantine-relative path), or null. */
  location: string | null;
  reason: string;
  outcome: 'success' | 'failure';
  /** Who decided: the desk's client-certificate subject CN or admin token name (never a patient's). */
  operator?: string;
}

export type AlertSeverity = 'low' | 'medium' | 'high';

/** An anomaly rule hit: which rule, why in one sentence, and the records that show it. */
export interface AlertEntry {
  kind: 'alert';
  /** Rule id from the rules file (downgrade, replaced-authentic, replay, ...). */
  rule: string;
  severity: AlertSeverity;
  summary: string;
  /** seq numbers of the records that triggered the rule, oldest first. */
  evidence: number[];
  /** What the alert is about: a source, a device, an instance (null where it does not apply). */
  subject: { source: AuditSource | null; device: string | null; sopInstanceUid: string | null };
  /** What raised it: 'radseal anomalies', 'verify-service', 'ingest'. */
  detector: string;
}

/** Every kind of record the chain holds: one union, one append path. */
export type AuditEvent = AuditEntry | AccessEntry | AdminEntry | AlertEntry;
export type Chained<E> = E & { seq: number; time: string; prev: string };

export interface AuditRecord extends AuditEntry {
  seq: number;
  time: string;
  prev: string;
}
export type AnyAuditRecord = Chained<AuditEvent>;

/** The kind of a record as read back (records without `kind` are verifications). */
export const kindOf = (r: { kind?: string }): AuditKind => (r.kind ?? 'verification') as AuditKind;

/**
 * The records of a log as written, for tools that read it (anomaly rules, reports).
 * Does not check the chain (verifyAuditLog does); a line that is not JSON is
 * skipped and named in `unreadable` so the caller can report it.
 */
export function readAuditRecords(path: string): { records: AnyAuditRecord[]; unreadable: number[] } {
  const text = readFileSync(path, 'utf8');
  const records: AnyAuditRecord[] = [];
  const unreadable: number[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    try {
      const rec = JSON.parse(line) as AnyAuditRecord;
      if (typeof rec !== 'object' || rec === null) throw new Error('not an object');
      if (rec.kind === undefined) (rec as AuditRecord).kind = 'verification';
      records.push(rec);
    } catch {
      unreadable.push(i + 1);
    }
  });
  return { records, unreadable };
}

export const GENESIS = '0'.repeat(64);
const sha256hex = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The audit fields of a verification report (no PHI: reasons and signer names only). */
export function auditFieldsOf(r: VerifyReport): Pick<AuditEntry, 'verdict' | 'reasons' | 'signers' | 'device' | 'frameSerial' | 'rawSha256' | 'reconciled' | 'technologist' | 'watermark' | 'tamperedTiles'> {
  // The attestation's serial; else the watermark's, only where it matches the attestation (a transplanted mark names another frame).
  const serial = (r.capture as { frameSerial?: number } | null)?.frameSerial ?? (r.watermark?.payloadMatchesAttestation ? r.watermark.decoded?.frameSerial : undefined);
  return {
    verdict: r.verdict,
    reasons: r.reasons,
    signers: r.signatures.map((s) => ({ cn: s.signer, role: s.role, algorithm: s.algorithm, valid: s.valid, trusted: s.trusted })),
    device: r.capture?.deviceId ?? null,
    frameSerial: typeof serial === 'number' && serial >= 0 ? serial : null,
    rawSha256: r.capture?.rawSha256 ?? null,
    reconciled: r.reconciled?.length ?? 0,
    technologist: r.technologist ? { operatorId: r.technologist.operatorId, signer: r.technologist.signer, accepted: r.technologist.accepted } : null,
    watermark: r.watermark ? {
      present: r.watermark.present, score: Math.round(r.watermark.score * 100) / 100,
      payloadMatchesAttestation: r.watermark.payloadMatchesAttestation, contentTagMatches: r.watermark.contentTagMatches,
      blockSize: r.watermark.blocks.size, tamperedBlocks: r.watermark.blocks.tampered,
    } : null,
    tamperedTiles: r.tamperedTiles ? { size: r.tamperedTiles.size, tiles: r.tamperedTiles.tiles, tableAuthenticated: r.tamperedTiles.tableAuthenticated } : null,
  };
}

export class AuditLogError extends Error {
  override name = 'AuditLogError';
}

/** Reads the last line of a log (for seq and prev) without loading the whole file. */
function lastLine(fd: number): { line: string | null; size: number } {
  const size = fstatSync(fd).size;
  if (size === 0) return { line: null, size };
  const back = Math.min(size, 1 << 20);
  const buf = Buffer.alloc(back);
  readSync(fd, buf, 0, back, size - back);
  const text = buf.toString('utf8');
  if (!text.endsWith('\n')) throw new AuditLogError('the audit log ends with an incomplete record (a write was cut short, or the log was truncated): run `radseal audit verify` and move the log aside before ingesting again');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 2 && back < size) throw new AuditLogError('the last audit record is longer than 1 MiB');
  return { line: lines[lines.length - 1]!, size };
}

/**
 * One writer of one log. The lock file (LOG.lock, holding the writer's pid)
 * keeps two processes from interleaving chains; a lock whose pid is gone is taken over.
 */
export class AuditLog {
  private fd: number;
  private seq: number;
  private prev: string;
  private readonly lockPath: string;
  private closed = false;
  /** Called after each append is durable, with the new head (anchoring sends it off the machine). */
  onAppend: ((head: { seq: number; sha256: string }) => void) | null = null;

  private readonly clock: () => Date;
  private readonly watchers: Array<(written: AnyAuditRecord[]) => void> = [];

  /** `clock` stamps each record's time (a replayed or simulated log passes its own). */
  constructor(readonly path: string, opts: { clock?: () => Date } = {}) {
    this.clock = opts.clock ?? (() => new Date());
    this.lockPath = `${path}.lock`;
    this.takeLock();
    try {
      this.fd = openSync(path, 'a+', 0o640);
      const { line } = lastLine(this.fd);
      if (line === null) {
        this.seq = 0;
        this.prev = GENESIS;
      } else {
        let rec: AuditRecord;
        try {
          rec = JSON.parse(line) as AuditRecord;
        } catch {
          throw new AuditLogError(`the last record of ${path} is not JSON: run \`radseal audit verify ${path}\``);
        }
        this.seq = rec.seq;
        this.prev = sha256hex(line);
      }
    } catch (err) {
      this.releaseLock();
      throw err;
    }
  }

  private takeLock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockPath, 'wx', 0o640);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(this.lockPath, 'utf8').trim());
        let alive = false;
        try {
          if (pid > 0) {
            process.kill(pid, 0);
            alive = true;
          }
        } catch {
          alive = false;
        }
        if (alive) throw new AuditLogError(`${this.path} is being written by process ${pid} (${this.lockPath}); one writer per audit log`);
        unlinkSync(this.lockPath);
      }
    }
    throw new AuditLogError(`cannot lock ${this.lockPath}`);
  }

  private releaseLock(): void {
    try {
      unlinkSync(this.lockPath);
    } catch {
      /* already gone */
    }
  }

  get head(): { seq: number; sha256: string } {
    return { seq: this.seq, sha256: this.prev };
  }

  /** Appends one record, fsyncs the log, then rewrites the head file atomically. Returns the record as written. */
  append(entry: AuditEntry): AuditRecord;
  append<E extends AuditEvent>(entry: E): Chained<E>;
  append(entry: AuditEvent): AnyAuditRecord {
    return this.appendMany([entry])[0]!;
  }

  /**
   * Appends records in order with one fsync and one head rewrite (a replay or a
   * burst of access records); nothing is acknowledged before the fsync.
   */
  appendMany<E extends AuditEvent>(entries: readonly E[]): Array<Chained<E>> {
    if (this.closed) throw new AuditLogError('audit log is closed');
    const out: Array<Chained<E>> = [];
    const parts: string[] = [];
    let seq = this.seq;
    let prev = this.prev;
    for (const entry of entries) {
      if (entry.kind === 'alert' && entry.evidence.some((s) => !Number.isInteger(s) || s < 1 || s > seq)) {
        throw new AuditLogError(`an alert's evidence must name records already in the log (1..${seq}): got ${entry.evidence.join(', ')}`);
      }
      // kind right after the chain fields so a reader sees what a line is; a verification entry without one gets it here.
      const rec = { seq: seq + 1, time: this.clock().toISOString(), prev, kind: kindOf(entry), ...entry } as unknown as Chained<E>;
      (rec as { kind?: string }).kind = kindOf(entry);
      const line = JSON.stringify(rec);
      parts.push(line + '\n');
      seq = rec.seq;
      prev = sha256hex(line);
      out.push(rec);
    }
    if (out.length === 0) return out;
    const buf = Buffer.from(parts.join(''), 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    fsyncSync(this.fd);
    this.seq = seq;
    this.prev = prev;
    writeFileAtomic(`${this.path}.head`, Buffer.from(JSON.stringify(this.head) + '\n'));
    this.onAppend?.(this.head);
    for (const watcher of this.watchers) {
      try {
        watcher(out as unknown as AnyAuditRecord[]);
      } catch {
        // A watcher's failure (the anomaly monitor) never undoes or blocks a record already written.
      }
    }
    return out;
  }

  /** Calls `watcher` with the records of every later append once they are on disk (the live anomaly monitor); returns the unsubscribe. */
  watch(watcher: (written: AnyAuditRecord[]) => void): () => void {
    this.watchers.push(watcher);
    return () => {
      const i = this.watchers.indexOf(watcher);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    this.releaseLock();
  }
}

export interface ChainProblem {
  /** 1-based line number of the first broken record. */
  line: number;
  problem: string;
}

export interface ChainCheck {
  ok: boolean;
  records: number;
  /** seq and SHA-256 of the last line that checked out. */
  head: { seq: number; sha256: string };
  firstBroken: ChainProblem | null;
  /** Whether a head file was found and compared. */
  headFileChecked: boolean;
}

/**
 * Checks a log: every line JSON, seq = line number, prev = SHA-256 of the line
 * before; the head file (when present) names the last line; an anchor (seq and
 * hash recorded elsewhere) must match. Names the first record that breaks.
 */
export function verifyAuditLog(path: string, opts: { anchor?: { seq: number; sha256: string }; anchors?: Array<{ seq: number; sha256: string; from?: string }>; headFile?: boolean } = {}): ChainCheck {
  const text = readFileSync(path, 'utf8');
  const complete = text.endsWith('\n') || text.length === 0;
  const lines = text.length === 0 ? [] : (complete ? text.slice(0, -1) : text).split('\n');
  let prev = GENESIS;
  let head = { seq: 0, sha256: GENESIS };
  const hashes: string[] = [];
  const fail = (line: number, problem: string): ChainCheck => ({ ok: false, records: lines.length, head, firstBroken: { line, problem }, headFileChecked: false });
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!;
    if (!complete && n === lines.length) return fail(n, `record ${n} is incomplete (no newline at the end of the log): the log was truncated or a write was cut short`);
    let rec: Partial<AuditRecord>;
    try {
      rec = JSON.parse(line) as Partial<AuditRecord>;
    } catch {
      return fail(n, `record ${n} is not valid JSON: it was edited`);
    }
    if (rec.seq !== n) {
      const why = typeof rec.seq === 'number' && rec.seq > n ? `record(s) ${n}${rec.seq > n + 1 ? `..${rec.seq - 1}` : ''} deleted` : 'records reordered or seq edited';
      return fail(n, `line ${n} holds seq ${String(rec.seq)}, expected ${n}: ${why}`);
    }
    if (rec.prev !== prev) {
      // Line n's prev names line n-1 as it was written; a mismatch means line n-1 changed (or n's prev was edited).
      // Was line n itself edited (its prev field)? Then line n+1 (or the head file) no longer matches line n either.
      const own = sha256hex(line);
      const next = lines[i + 1];
      let nextPrev: string | undefined;
      try {
        nextPrev = next !== undefined ? (JSON.parse(next) as { prev?: string }).prev : undefined;
      } catch {
        nextPrev = undefined;
      }
      if (n === 1 || (nextPrev !== undefined && nextPrev !== own)) {
        return fail(n, n === 1 ? 'record 1 does not start the chain (prev is not 64 zeros): earlier records were removed or it was edited' : `record ${n} was edited: its prev does not hash-link to record ${n - 1} and record ${n + 1} does not link to it`);
      }
      return fail(n - 1, `record ${n - 1} was changed after it was written: record ${n} holds prev ${String(rec.prev).slice(0, 16)}…, but record ${n - 1} hashes to ${prev.slice(0, 16)}… (or record ${n}'s prev was edited)`);
    }
    prev = sha256hex(line);
    hashes.push(prev);
    head = { seq: n, sha256: prev };
  }
  let headFileChecked = false;
  if (opts.headFile !== false && existsSync(`${path}.head`)) {
    headFileChecked = true;
    let h: { seq: number; sha256: string };
    try {
      h = JSON.parse(readFileSync(`${path}.head`, 'utf8')) as { seq: number; sha256: string };
    } catch {
      return { ...fail(lines.length, `${path}.head is not valid JSON`), headFileChecked };
    }
    if (h.seq > lines.length) return { ...fail(lines.length + 1, `the head file says the log has ${h.seq} records, it has ${lines.length}: records ${lines.length + 1}..${h.seq} were truncated`), headFileChecked };
    if (h.seq < lines.length) return { ...fail(h.seq + 1, `the head file says the log ends at record ${h.seq}, but it has ${lines.length}: records after ${h.seq} were appended by something other than radseal (or the head file is stale)`), headFileChecked };
    if (h.sha256 !== head.sha256) return { ...fail(lines.length, `record ${lines.length} (the last) does not hash to the value in the head file: it was edited`), headFileChecked };
  }
  for (const a of [...(opts.anchor ? [opts.anchor] : []), ...(opts.anchors ?? [])]) {
    const from = 'from' in a && a.from ? ` (${a.from})` : '';
    if (a.seq > lines.length) return { ...fail(lines.length + 1, `the anchor${from} names record ${a.seq}, but the log has only ${lines.length}: records were truncated`), headFileChecked };
    if (a.seq >= 1 && hashes[a.seq - 1] !== a.sha256.toLowerCase()) return { ...fail(a.seq, `record ${a.seq} does not hash to the anchor${from} ${a.sha256.slice(0, 16)}…: the chain up to it was rewritten`), headFileChecked };
  }
  return { ok: true, records: lines.length, head, firstBroken: null, headFileChecked };
}
