// Revocation checks against the CRLs of a trust bundle: which CRL speaks for
// the signer's issuer, whether it is fresh, and whether the signer's serial is
// on it — and if so, whether the signature predates the revocation.
//
// The signature time is Digital Signature DateTime (0400,0105): the signer
// asserts it. A thief holding a revoked key can write any date, so
// "signed before revocation" is only as good as that claim. Mode "any"
// refuses every signature by a revoked certificate whatever its date.
import type { CertInfo } from '../certs.js';
import { crlSignedBy, normaliseSerial, revokedFrom, type ParsedCrl, type RevocationReason } from './crl.js';

export type RevocationMode = 'signing-time' | 'any';

export interface RevocationOptions {
  /** signing-time (default): a signature dated before the revocation stays trusted. any: a revoked certificate vouches for nothing. */
  mode?: RevocationMode;
  /** Refuse CA-issued certificates whose CA has no CRL in the trust set (default true). */
  requireCrl?: boolean;
  /** "Now" for CRL freshness (default: the clock). */
  now?: Date;
}

/** A CRL from the trust bundle with the CA certificate whose key verified it. */
export interface TrustedCrl {
  crl: ParsedCrl;
  issuer: CertInfo;
}

/** The certificates of a trust bundle, plus its verified CRLs and the revocation policy. A plain CertInfo[] is one with neither. */
export interface TrustSet extends Array<CertInfo> {
  crls?: TrustedCrl[];
  revocation?: RevocationOptions;
}

export type RevocationStatus = 'not-revoked' | 'revoked' | 'not-checked' | 'unavailable';

export interface RevocationResult {
  status: RevocationStatus;
  /** False when revocation forbids trusting this signature. */
  ok: boolean;
  /** A plain sentence; absent when there is nothing to say. */
  reason?: string;
  revokedAt?: Date;
  revocationReason?: RevocationReason;
  crlNumber?: number;
}

/** Matches CRLs to the CA certificates of the set that signed them; a CRL no CA in the set signed is an error. */
export function attachCrls(certs: CertInfo[], crls: ParsedCrl[]): TrustedCrl[] {
  return crls.map((crl, i) => {
    const issuer = certs.find((c) => c.x509.ca && crlSignedBy(crl, c));
    if (!issuer) throw new Error(`revocation list #${i + 1} in the trust bundle is not signed by any CA certificate in it`);
    return { crl, issuer };
  });
}

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

/**
 * Revocation of `signer` (issued by `issuer`) for a signature dated `signedAt`
 * (null: undated, treated as made after any revocation).
 */
export function checkRevocation(signer: CertInfo, issuer: CertInfo, signedAt: Date | null, set: TrustSet, caIssued: boolean): RevocationResult {
  const opts = set.revocation ?? {};
  const now = opts.now ?? new Date();
  const mine = (set.crls ?? []).filter((c) => c.issuer.fingerprint256 === issuer.fingerprint256);
  if (mine.length === 0) {
    if (caIssued && (opts.requireCrl ?? true)) {
      return { status: 'unavailable', ok: false, reason: `the trust bundle holds no revocation list from CA ${issuer.commonName}, so revocation of ${signer.commonName} cannot be checked (load the bundle made by "radseal pki bundle")` };
    }
    return { status: 'not-checked', ok: true };
  }
  // The newest list wins: highest CRL number, then latest thisUpdate.
  const { crl } = mine.reduce((a, b) => (b.crl.crlNumber > a.crl.crlNumber || (b.crl.crlNumber === a.crl.crlNumber && b.crl.thisUpdate > a.crl.thisUpdate) ? b : a));
  const base = { crlNumber: crl.crlNumber };
  if (crl.thisUpdate.getTime() > now.getTime() + 5 * 60_000) {
    return { ...base, status: 'unavailable', ok: false, reason: `the revocation list from CA ${issuer.commonName} (number ${crl.crlNumber}) is dated ${iso(crl.thisUpdate)}, in the future; check the clocks` };
  }
  if (now > crl.nextUpdate) {
    return { ...base, status: 'unavailable', ok: false, reason: `the revocation list from CA ${issuer.commonName} (number ${crl.crlNumber}) expired at ${iso(crl.nextUpdate)} (nextUpdate); load a fresh trust bundle` };
  }
  const serial = normaliseSerial(signer.x509.serialNumber);
  const entry = crl.entries.find((e) => e.serial === serial);
  if (!entry) return { ...base, status: 'not-revoked', ok: true };
  const from = revokedFrom(entry);
  const detail = { ...base, status: 'revoked' as const, revokedAt: from, revocationReason: entry.reason };
  const what = `certificate of ${signer.commonName} was revoked at ${iso(from)} (${entry.reason})`;
  if ((opts.mode ?? 'signing-time') === 'any') {
    return { ...detail, ok: false, reason: `${what}; policy refuses every signature by a revoked certificate${signedAt ? `, whatever its date (signature dated ${iso(signedAt)})` : ''}` };
  }
  if (!signedAt) return { ...detail, ok: false, reason: `${what}; the signature carries no date, so it cannot be placed before the revocation` };
  if (signedAt >= from) return { ...detail, ok: false, reason: `${what}; signature dated ${iso(signedAt)}, after it` };
  return { ...detail, ok: true, reason: `${what}; signature dated ${iso(signedAt)}, before it — that date is the signer's own claim (Digital Signature DateTime), not independently attested` };
}
