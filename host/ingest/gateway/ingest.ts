// One object arriving at PACS: verify it, keep its ORIGINAL bytes where the
// policy says (store or quarantine, with the report JSON beside a quarantined
// one), append one audit record, and say what to answer the sender. Shared by
// the C-STORE gateway, the folder watcher and the Orthanc verify-service.
//
// Order: bytes on disk (fsynced) → audit record (fsynced) → answer. An object
// the sender was told is stored is always on disk and in the audit log.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../../io/atomic.js';
import { parsePart10 } from '../../net/cstore.js';
import type { CertInfo } from '../../keys/certs.js';
import { DEFAULT_POLICY, type VerifyPolicy } from '../policy.js';
import { verifyObject, type VerifyReportWithWatermark } from '../watermark-check.js';
import { auditFieldsOf, type AuditLog, type AuditRecord, type AuditSource, type IngestAction } from '../audit.js';

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
}

export interface IngestResult {
  report: VerifyReportWithWatermark;
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

export class Ingestor {
  constructor(readonly o: IngestorOptions) {
    for (const d of [o.storeDir, o.quarantineDir]) if (d) mkdirSync(d, { recursive: true });
  }

  /** Takes a new trust bundle (a fresh CRL), policy and watermark key for the objects that arrive from now on. */
  reload(settings: Pick<IngestorOptions, 'trust' | 'policy' | 'watermarkKey'>): void {
    this.o.trust = settings.trust;
    this.o.policy = settings.policy;
    this.o.watermarkKey = settings.watermarkKey;
  }

  ingest(bytes: Uint8Array, source: AuditSource): IngestResult {
    const fileSha256 = createHash('sha256').update(bytes).digest('hex');
    let sopInstanceUid: string | null = null;
    let sopClassUid: string | null = null;
    try {
      const p = parsePart10(bytes);
      sopInstanceUid = p.sopInstanceUid;
      sopClassUid = p.sopClassUid;
    } catch {
      // Not Part 10: verify says 'invalid' with the reason.
    }
    const baseName = sopInstanceUid && SAFE_UID.test(sopInstanceUid) ? sopInstanceUid : `sha256-${fileSha256.slice(0, 32)}`;
    const report = verifyObject(`${baseName}.dcm`, bytes, this.o.trust, { policy: this.o.policy ?? DEFAULT_POLICY, watermarkKey: this.o.watermarkKey });
    const authentic = report.verdict === 'authentic';

    let action: IngestAction;
    let path: string | null = null;
    if (authentic) {
      action = 'stored';
      if (this.o.storeDir) path = keep(this.o.storeDir, baseName, fileSha256, bytes);
    } else {
      action = this.o.onNonAuthentic === 'reject' ? 'rejected' : (this.o.flaggedAction ?? 'quarantined');
      path = keep(this.o.quarantineDir, baseName, fileSha256, bytes, true);
      const sidecar = {
        ...report,
        ingest: { receivedAt: new Date().toISOString(), source, fileSha256, bytes: bytes.length, sopInstanceUid, action, policy: this.o.onNonAuthentic },
      };
      writeFileAtomic(path.replace(/\.dcm$/, '.json'), Buffer.from(JSON.stringify(sidecar, null, 2) + '\n'));
    }
    const where = path ? path.slice((authentic ? this.o.storeDir! : this.o.quarantineDir).length).replace(/^\/+/, '') : null;
    const record = this.o.audit.append({
      source, sopInstanceUid, sopClassUid, fileSha256, bytes: bytes.length,
      ...auditFieldsOf(report),
      action, location: where ? `${authentic ? 'store' : 'quarantine'}/${where}` : null, policy: this.o.onNonAuthentic,
    });
    const result: IngestResult = { report, action, path, fileSha256, sopInstanceUid, record, status: 0 };
    if (action === 'rejected') {
      result.status = REFUSED_STATUS;
      result.comment = `radseal ${report.verdict}: ${report.reasons[0] ?? 'not authentic'}`.slice(0, 64);
    }
    return result;
  }
}

/**
 * Writes the original bytes as <name>.dcm (atomic, fsynced). The same object
 * twice is kept once; a different object under the same UID gets its hash in
 * the name (never overwrite: the first copy may be evidence). Quarantined
 * copies always carry the hash, so each report sits beside its exact bytes.
 */
function keep(dir: string, name: string, sha: string, bytes: Uint8Array, withHash = false): string {
  const plain = join(dir, withHash ? `${name}.${sha.slice(0, 12)}.dcm` : `${name}.dcm`);
  if (!existsSync(plain)) {
    writeFileAtomic(plain, bytes, { noClobber: true });
    return plain;
  }
  if (createHash('sha256').update(readFileSync(plain)).digest('hex') === sha) return plain;
  const alt = join(dir, `${name}.${sha.slice(0, 12)}.dcm`);
  if (!existsSync(alt)) writeFileAtomic(alt, bytes, { noClobber: true });
  return alt;
}
