// Revoking at the site CA: one certificate, or every certificate of an
// identity (a device, technologist or PACS signer), then re-signing the CRL.
// Each CRL entry names the identity its certificate belonged to (see
// identity.ts), so verify refuses the identity's other certificates too (for
// superseded only those enrolled with it or before it); revoking the identity
// puts them all on the list, for verifiers that only read serials (OpenSSL, DCMTK).
import { parseCertificate } from '../certs.js';
import { isBeyondClockTolerance } from '../clock.js';
import { normaliseSerial, REVOCATION_REASONS, type RevocationReason } from './crl.js';
import { openCa, PkiError, withLock, writeCrl, type IssuedRecord, type OpenCa, type RevokedRecord } from './ca.js';
import { profileOf, type SignerKind } from './profiles.js';

interface RevokeCommon {
  caDir: string;
  caPin?: string;
  reason?: RevocationReason;
  /** From when the certificate is not to be trusted (default now). Earlier than now when a compromise is known to date back. */
  time?: Date;
}

export interface RevokeOptions extends RevokeCommon {
  certDer: Uint8Array;
}

export interface RevokeIdentityOptions extends RevokeCommon {
  kind: SignerKind;
  /** The radseal id: device id, operator id or PACS id (certificate CN). */
  id: string;
}

export interface RevokeResult {
  crlNumber: number;
  /** The certificates this command put on the CRL. */
  revoked: RevokedRecord[];
  /** The identity's other certificates, not on the CRL by serial, still within their validity, and whether radseal verify refuses them too. */
  others: { cert: IssuedRecord; refused: boolean }[];
}

/** Checks reason and time; returns the instant to record, never after now (a revocation takes effect when processed at the latest). */
function checkedTime(reason: RevocationReason, time: Date | undefined, now: Date): Date {
  if (!REVOCATION_REASONS.includes(reason)) throw new PkiError(`unknown revocation reason "${reason}" (one of ${REVOCATION_REASONS.join(', ')})`);
  if (reason === 'removeFromCRL' || reason === 'certificateHold') throw new PkiError(`reason ${reason} is for temporary holds, which radseal does not use: a revocation is final`);
  const at = time ?? now;
  if (Number.isNaN(at.getTime())) throw new PkiError('the revocation time is not a valid date (ISO 8601, e.g. 2026-03-01T08:00:00Z)');
  if (isBeyondClockTolerance(at, now)) throw new PkiError(`revocation time ${at.toISOString()} is in the future; revoke when the certificate must stop being trusted`);
  return at > now ? now : at;
}

/** Whether verify treats `other` as revoked along with `revoked` (the rule of reachesSibling in revocation.ts). */
function alsoRefused(other: IssuedRecord, revoked: IssuedRecord | undefined, reason: RevocationReason): boolean {
  if (reason !== 'superseded') return true; // issued before this revocation was processed
  return revoked !== undefined && new Date(other.notBefore) <= new Date(revoked.notBefore);
}

async function record(ca: OpenCa, targets: { serial: string; commonName: string; profile?: SignerKind }[], reason: RevocationReason, at: Date, now: Date): Promise<RevokeResult> {
  const revoked = targets.map((t): RevokedRecord => ({
    serial: t.serial, commonName: t.commonName, revokedAt: at.toISOString(), reason, recordedAt: now.toISOString(), ...(t.profile ? { profile: t.profile } : {}),
  }));
  ca.state.revoked.push(...revoked);
  await writeCrl(ca, now);
  const onCrl = new Set(ca.state.revoked.map((r) => r.serial));
  const issued = (serial: string) => ca.state.issued.find((i) => i.serial === serial);
  const others = ca.state.issued
    .filter((i) => targets.some((t) => t.commonName === i.commonName && t.profile === i.profile) && !onCrl.has(i.serial) && new Date(i.notAfter) > now)
    .map((cert) => ({ cert, refused: targets.some((t) => t.profile === cert.profile && t.commonName === cert.commonName && alsoRefused(cert, issued(t.serial), reason)) }));
  return { crlNumber: ca.state.crlNumber, revoked, others };
}

/** Adds one certificate to the revocation list and re-signs the CRL. */
export async function revoke(o: RevokeOptions): Promise<RevokeResult> {
  const reason = o.reason ?? 'unspecified';
  const now = new Date();
  const at = checkedTime(reason, o.time, now);
  return withLock(o.caDir, async () => {
    const ca = openCa(o.caDir, o.caPin);
    const cert = parseCertificate(o.certDer);
    if (!cert.x509.checkIssued(ca.cert.x509) || !cert.x509.verify(ca.cert.x509.publicKey)) {
      throw new PkiError(`certificate of ${cert.commonName} was not issued by this CA (${ca.cert.commonName})`);
    }
    const kind = profileOf(cert).kind;
    if (kind === 'site-ca') throw new PkiError('that is the CA certificate itself; to retire the CA, make a new one and redistribute the bundle');
    const serial = normaliseSerial(cert.x509.serialNumber);
    const already = ca.state.revoked.find((r) => r.serial === serial);
    if (already) throw new PkiError(`certificate of ${cert.commonName} (serial ${serial}) is already revoked since ${already.revokedAt} (${already.reason})`);
    return record(ca, [{ serial, commonName: cert.commonName, ...(kind ? { profile: kind } : {}) }], reason, at, now);
  });
}

/** Revokes every certificate this CA issued to the identity (from its issued list) and re-signs the CRL. */
export async function revokeIdentity(o: RevokeIdentityOptions): Promise<RevokeResult> {
  const reason = o.reason ?? 'unspecified';
  const now = new Date();
  const at = checkedTime(reason, o.time, now);
  return withLock(o.caDir, async () => {
    const ca = openCa(o.caDir, o.caPin);
    const mine = ca.state.issued.filter((i) => i.profile === o.kind && i.commonName === o.id);
    if (mine.length === 0) throw new PkiError(`this CA (${ca.cert.commonName}) has issued no ${o.kind} certificate to "${o.id}" ("radseal pki list" shows what it issued)`);
    const onCrl = new Set(ca.state.revoked.map((r) => r.serial));
    const targets = mine.filter((i) => !onCrl.has(i.serial));
    if (targets.length === 0) throw new PkiError(`every ${o.kind} certificate of "${o.id}" is already revoked`);
    return record(ca, targets.map((i) => ({ serial: i.serial, commonName: i.commonName, profile: i.profile })), reason, at, now);
  });
}
