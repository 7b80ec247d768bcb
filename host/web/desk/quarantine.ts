// The quarantine folder as the desk sees it: each object the ingest kept out of PACS is
// NAME.dcm (its original bytes) beside NAME.json (its verification report plus an "ingest" block:
// when, from which AE, its SHA-256), written by host/ingest/gateway/ingest.ts. Objects are named
// on the desk by that SHA-256: no UID or patient value ever appears in a URL.
import { existsSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { VerifyReport } from '../../ingest/verify-report.js';
import type { AuditSource } from '../../ingest/audit.js';
import { makeDirs } from '../../io/dirs.js';

export interface QuarantinedObject {
  /** SHA-256 of the quarantined bytes (hex): the object's name on the desk. */
  id: string;
  /** File name of the .dcm, relative to the quarantine folder. */
  name: string;
  dcmPath: string;
  jsonPath: string;
  report: VerifyReport;
  receivedAt: string | null;
  source: AuditSource | null;
  sopInstanceUid: string | null;
}

interface Sidecar extends VerifyReport {
  ingest?: { receivedAt?: string; source?: AuditSource; fileSha256?: string; sopInstanceUid?: string | null };
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Every quarantined object with a readable report, newest first. Files without a pair are left alone. */
export function listQuarantine(dir: string): QuarantinedObject[] {
  const out: QuarantinedObject[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json') || f.startsWith('.')) continue;
    const jsonPath = join(dir, f);
    const dcmPath = jsonPath.replace(/\.json$/, '.dcm');
    if (!existsSync(dcmPath)) continue;
    let side: Sidecar;
    try {
      side = JSON.parse(readFileSync(jsonPath, 'utf8')) as Sidecar;
    } catch {
      continue;
    }
    const id = side.ingest?.fileSha256;
    if (!id || !SHA256.test(id) || typeof side.verdict !== 'string') continue;
    const { ingest, ...report } = side;
    out.push({ id, name: f.replace(/\.json$/, '.dcm'), dcmPath, jsonPath, report, receivedAt: ingest?.receivedAt ?? null, source: ingest?.source ?? null, sopInstanceUid: ingest?.sopInstanceUid ?? report.sopInstanceUid ?? null });
  }
  return out.sort((a, b) => (b.receivedAt ?? '').localeCompare(a.receivedAt ?? ''));
}

export function findQuarantined(dir: string, id: string): QuarantinedObject | null {
  if (!SHA256.test(id)) return null;
  return listQuarantine(dir).find((o) => o.id === id) ?? null;
}

/** The object's bytes, refused when they no longer hash to its name (changed in the quarantine folder). */
export function readQuarantined(o: QuarantinedObject): Uint8Array {
  const bytes = readFileSync(o.dcmPath);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== o.id) throw new Error('the quarantined file no longer matches the SHA-256 recorded when it was quarantined: it was changed on disk; nothing was sent');
  return bytes;
}

/** After a release the pair is kept as evidence in DIR/.released/ (not listed again). */
export function markReleased(dir: string, o: QuarantinedObject): void {
  const to = join(dir, '.released');
  makeDirs(to, 0o700);
  renameSync(o.dcmPath, join(to, o.name));
  renameSync(o.jsonPath, join(to, o.name.replace(/\.dcm$/, '.json')));
}

export function deleteQuarantined(o: QuarantinedObject): void {
  unlinkSync(o.dcmPath);
  unlinkSync(o.jsonPath);
}
