// One object arriving at PACS: verify it, keep its ORIGINAL bytes where the
// policy says (store or quarantine, with the report JSON beside a quarantined
// one), append one audit record, and say what to answer the sender. Shared by
// the C-STORE gateway, the folder watcher and the Orthanc verify-service.
//
// Order: bytes on disk (fsynced) → audit record (fsynced) → answer. An object
// the sender was told is stored is always on disk and in the audit log.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { privateDir, writeFileAtomicAsync } from '../../io/atomic.js';
import type { CertInfo } from '../../keys/certs.js';
import { DEFAULT_POLICY, type VerifyPolicy } from '../policy.js';
import { verifyObject, type VerifyOptions, type VerifyReport } from '../verify.js';
import { auditFieldsOf, type AuditLog, type AuditRecord, type AuditSource, type IngestAction } from '../audit.js';
import { dicomNode, ingestEvents, type AuditSink } from '../../audit/emit.js';
import { objectRefs } from '../../audit/dicom-refs.js';
import type { Participant } from '../../audit/atna-message.js';

/** What happens to an object that is not authentic. */
export type NonAuthenticPolicy = 'flag' | 'reject';

/** C-STORE failure status for refused objects: A900 ("data set does not match SOP class" family: a data set problem, not retryable). */
export const REFUSED_STATUS = 0xa900;

export interface IngestorOptions {
  trust: CertInfo[];
  policy?: VerifyPolicy;
  watermarkKey?: Uint8Array;
  /** Authentic objects are written here; omitted when the PACS itself stores them (Orthanc hook). */
  storeDir?: string;
  /** Every non-authentic object is kept here with <name>.json, its verification report. */
  quarantineDir: string;
  audit: AuditLog;
  onNonAuthentic: NonAuthenticPolicy;
  /**
   * What the action is called when a non-authentic object is accepted under
   * the flag policy: 'quarantined' for the gateway (kept out of PACS),
   * 'stored' for the Orthanc hook (kept in PACS, flagged in its metadata).
   */
  flaggedAction?: IngestAction;
  /** The verifier (a seam for tests); verifyObject by default. */
  verify?: Verifier;
  /** ATNA: Instances Transferred and Security Alerts for every object, reported as `receiver`. */
  atna?: { sink: AuditSink; receiver: Participant };
}

export type Verifier = (file: string, bytes: Uint8Array, trust: CertInfo[], opts: VerifyOptions) => VerifyReport;

/** What the sender said the object is (the C-STORE command's Affected SOP Class and Instance UIDs). */
export interface ClaimedIdentity {
  sopInstanceUid: string;
  sopClassUid: string;
}

/** An object refused before it could be verified (too large, gateway out of buffer space). */
export interface RefusedUnverified {
  /** UIDs as the sender named them: never verified. */
  claimed: ClaimedIdentity;
  /** Bytes received (or announced) when it was refused. */
  bytes: number;
  reason: string;
}

export interface IngestResult {
  report: VerifyReport;
  action: IngestAction;
  /** Absolute path of the kept copy, or null. */
  path: string | null;
  fileSha256: string;
  sopInstanceUid: string | null;
  record: AuditRecord;
  /** DIMSE status to answer: 0 for stored/flagged, REFUSED_STATUS when rejected. */
  status: number;
  /** Error Comment for a refusal (at most 64 chars). */
  comment?: string;
}

const SAFE_UID = /^[0-9.]{1,64}$/;
/** Stored and quarantined objects are PHI: files owner-only, in privateDir folders. */
const PRIVATE_FILE = 0o600;

/** The report for an object the verifier could not handle: invalid, with the reason (never a stack trace). */
export function internalErrorReport(file: string, err: unknown): VerifyReport {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
  return {
    file, verdict: 'invalid', reasons: [`internal error while verifying: ${message}`],
    signatures: [], capture: null, technologist: null, sopInstanceUid: null, sopClassUid: null,
  };
}

/**
 * Why the object is not what the sender said it is, or null. The signed UIDs are those in the
 * data set; a C-STORE command naming others would have the object filed (and believed) as
 * another one: object A sent as B must never be recorded "B authentic".
 */
export function claimedIdentityProblem(report: VerifyReport, claimed: ClaimedIdentity | undefined): string | null {
  if (!claimed) return null;
  const problems: string[] = [];
  // A data set whose UIDs could not be read is already invalid, with its own reason; an
  // "authentic" one without them is not believed.
  const known = (uid: string | null) => uid != null || report.verdict === 'authentic';
  if (known(report.sopInstanceUid) && claimed.sopInstanceUid !== report.sopInstanceUid) {
    problems.push(`the C-STORE command names SOP Instance UID ${claimed.sopInstanceUid || '(none)'}, the data set holds ${report.sopInstanceUid ?? '(none)'}`);
  }
  if (known(report.sopClassUid) && claimed.sopClassUid !== report.sopClassUid) {
    problems.push(`the C-STORE command names SOP Class UID ${claimed.sopClassUid || '(none)'}, the data set holds ${report.sopClassUid ?? '(none)'}`);
  }
  return problems.length ? `${problems.join('; ')}: refused, an object is never filed under another's identity` : null;
}

export class Ingestor {
  constructor(readonly o: IngestorOptions) {
    for (const d of [o.storeDir, o.quarantineDir]) if (d) privateDir(d);
  }

  /** Takes a new trust bundle (a fresh CRL), policy and watermark key for the objects that arrive from now on. */
  reload(settings: Pick<IngestorOptions, 'trust' | 'policy' | 'watermarkKey'>): void {
    this.o.trust = settings.trust;
    this.o.policy = settings.policy;
    this.o.watermarkKey = settings.watermarkKey;
  }

  /**
   * Verifies, keeps, audits one object and says what to answer. `claimed`: what the sender's
   * command said the object is (gateway); a disagreement with the signed data set refuses it.
   * Throws only when the object cannot be kept or audited (disk, audit log): the caller
   * answers "try again later"; a verifier failure is an `invalid` verdict.
   */
  async ingest(bytes: Uint8Array, source: AuditSource, claimed?: ClaimedIdentity): Promise<IngestResult> {
    const fileSha256 = createHash('sha256').update(bytes).digest('hex');
    const received = `sha256-${fileSha256.slice(0, 32)}.dcm`;
    let report: VerifyReport;
    try {
      report = (this.o.verify ?? verifyObject)(received, bytes, this.o.trust, { policy: this.o.policy ?? DEFAULT_POLICY, watermarkKey: this.o.watermarkKey });
    } catch (err) {
      report = internalErrorReport(received, err);
    }
    // Files and records are named by the data set's (signed) UIDs, never the command's or the meta header's.
    const sopInstanceUid = report.sopInstanceUid ?? null;
    const sopClassUid = report.sopClassUid ?? null;
    const identity = claimedIdentityProblem(report, claimed);
    if (identity) {
      report.reasons.unshift(identity);
      if (report.verdict === 'authentic') report.verdict = 'invalid';
    }
    const baseName = sopInstanceUid && SAFE_UID.test(sopInstanceUid) ? sopInstanceUid : `sha256-${fileSha256.slice(0, 32)}`;
    report.file = `${baseName}.dcm`;
    const authentic = report.verdict === 'authentic';

    let action: IngestAction;
    let path: string | null = null;
    if (authentic) {
      action = 'stored';
      if (this.o.storeDir) path = await keep(this.o.storeDir, baseName, fileSha256, bytes);
    } else {
      action = this.o.onNonAuthentic === 'reject' ? 'rejected' : (this.o.flaggedAction ?? 'quarantined');
      path = await keep(this.o.quarantineDir, baseName, fileSha256, bytes, true);
      const sidecar = {
        ...report,
        ingest: { receivedAt: new Date().toISOString(), source, fileSha256, bytes: bytes.length, sopInstanceUid, claimed: claimed ?? null, action, policy: this.o.onNonAuthentic },
      };
      await writeFileAtomicAsync(path.replace(/\.dcm$/, '.json'), Buffer.from(JSON.stringify(sidecar, null, 2) + '\n'), { mode: PRIVATE_FILE });
    }
    const where = path ? path.slice((authentic ? this.o.storeDir! : this.o.quarantineDir).length).replace(/^\/+/, '') : null;
    const record = this.o.audit.append({
      source, sopInstanceUid, sopClassUid, fileSha256, bytes: bytes.length,
      ...auditFieldsOf(report),
      action, location: where ? `${authentic ? 'store' : 'quarantine'}/${where}` : null, policy: this.o.onNonAuthentic,
    });
    if (this.o.atna) {
      // Replaced: another object was already stored under this SOP Instance UID (kept under its hash).
      const replaced = authentic && !!path && !path.endsWith(`/${baseName}.dcm`);
      for (const e of ingestEvents({ time: new Date(record.time), report, refs: objectRefs(bytes, sopInstanceUid, sopClassUid), sender: dicomNode(source.ae, source.host), receiver: this.o.atna.receiver, accepted: action !== 'rejected', replaced, subject: sopInstanceUid ? `urn:oid:${sopInstanceUid}` : `sha256:${fileSha256}` })) this.o.atna.sink.emit(e);
    }
    const result: IngestResult = { report, action, path, fileSha256, sopInstanceUid, record, status: 0 };
    if (action === 'rejected') {
      result.status = REFUSED_STATUS;
      // Error Comment holds 64 characters: too few for two UIDs (the audit record has them).
      result.comment = (identity ? 'radseal: C-STORE UIDs are not the data set\'s, refused' : `radseal ${report.verdict}: ${report.reasons[0] ?? 'not authentic'}`).slice(0, 64);
    }
    return result;
  }

  /** Audits an object refused before it could be verified (size or buffer limits); nothing is kept. */
  refuseUnverified(source: AuditSource, r: RefusedUnverified): AuditRecord {
    const record = this.o.audit.append({
      source, sopInstanceUid: r.claimed.sopInstanceUid || null, sopClassUid: r.claimed.sopClassUid || null, fileSha256: null, bytes: r.bytes,
      verdict: 'unverified', reasons: [r.reason], signers: [], device: null, technologist: null, watermark: null, tamperedTiles: null,
      action: 'rejected', location: null, policy: this.o.onNonAuthentic,
    });
    // ATNA: a failed transfer (the object was never read whole, so no study or patient to name).
    this.o.atna?.sink.emit({
      kind: 'instances-transferred', time: new Date(record.time), action: 'C', outcome: 4, outcomeDescription: r.reason,
      source: dicomNode(source.ae, source.host), destination: this.o.atna.receiver, requestor: 'source', studies: [],
    });
    return record;
  }
}

/**
 * Writes the original bytes as <name>.dcm (atomic, fsynced, off the event loop). The same object
 * twice is kept once; a different object under the same UID gets its hash in the name (never
 * overwrite: the first copy may be evidence). Quarantined copies always carry the hash, so each
 * report sits beside its exact bytes.
 */
async function keep(dir: string, name: string, sha: string, bytes: Uint8Array, withHash = false): Promise<string> {
  const plain = join(dir, withHash ? `${name}.${sha.slice(0, 12)}.dcm` : `${name}.dcm`);
  if (await writeNew(plain, bytes) || await holds(plain, sha)) return plain;
  const alt = join(dir, `${name}.${sha.slice(0, 12)}.dcm`);
  await writeNew(alt, bytes);
  return alt;
}

/** Writes a file that must not exist yet; false when one does (another arrival got there first). */
async function writeNew(path: string, bytes: Uint8Array): Promise<boolean> {
  if (existsSync(path)) return false;
  try {
    await writeFileAtomicAsync(path, bytes, { noClobber: true, mode: PRIVATE_FILE });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function holds(path: string, sha: string): Promise<boolean> {
  return createHash('sha256').update(await readFile(path)).digest('hex') === sha;
}
