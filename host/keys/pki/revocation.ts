// Revocation checks against the CRLs of a trust bundle (RFC 5280): which CRL
// speaks for the signer's issuer, whether it is fresh, whether the signer — its
// certificate, or the identity it belongs to — is on it, and if so whether the
// evidence places the signature before the revocation.
//
// Digital Signature DateTime (0400,0105) is the signer's own claim. After a
// key compromise (or a revocation that gives no reason) whoever holds the key
// can write any date, so only a verified RFC 3161 certified time before the
// revocation keeps such a signature trusted. After an ordinary retirement
// (superseded, cessationOfOperation, affiliationChanged) the signer's date is
// taken, as it always was. Revoking one certificate of a device, technologist
// or PACS signer revokes the identity (see reachesSibling). Mode "any" refuses
// every signature of a revoked certificate or identity, whatever the evidence.
import type { CertInfo } from '../certs.js';
import { isBeyondClockTolerance } from '../clock.js';
import { crlSignedBy, normaliseSerial, revokedFrom, type ParsedCrl, type RevocationReason, type RevokedEntry } from './crl.js';
import { identityOf, sameIdentity } from './identity.js';

export type RevocationMode = 'signing-time' | 'any';

export interface RevocationOptions {
  /** signing-time (default): a signature dated before the revocation stays trusted. any: a revoked certificate vouches for nothing. */
  mode?: RevocationMode;
  /** Refuse CA-issued certificates whose CA has no CRL in the trust set (default true). */
  requireCrl?: boolean;
  /** "Now" for CRL freshness and future-dated signatures (default: the clock); decideTrust's `now` overrides it. */
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
 * Reasons that retire a certificate without putting its key in doubt: the
 * signer's own date still places a signature before the revocation. Every
 * other reason (keyCompromise, cACompromise, aACompromise, privilegeWithdrawn,
 * a hold, and unspecified = no reason on the CRL entry) counts as a compromise.
 */
export const ORDINARY_REVOCATION_REASONS: readonly RevocationReason[] = ['superseded', 'cessationOfOperation', 'affiliationChanged'];

export const isCompromise = (reason: RevocationReason): boolean => !ORDINARY_REVOCATION_REASONS.includes(reason);

/**
 * Whether the revocation in `entry` (of a certificate of the signer's identity)
 * reaches the signer's certificate. Revoking a certificate revokes its identity:
 * every certificate of it the CA had issued when it processed the revocation.
 * superseded is narrower, because it means "replaced by a newer certificate":
 * it reaches the certificates enrolled with the revoked one or before it
 * (notBefore at most the revoked certificate's; the CA gives one enrolment one
 * notBefore, and each later enrolment a later one), never its successors.
 */
export function reachesSibling(entry: RevokedEntry, signer: CertInfo): boolean {
  if (entry.reason === 'superseded') return entry.identity?.issuedAt !== undefined && signer.notBefore <= entry.identity.issuedAt;
  return signer.notBefore < entry.revokedAt;
}

/** What places a signature in time. */
export interface SignatureEvidence {
  /** Digital Signature DateTime: the signer's own claim; null when the signature carries none. */
  signedAt: Date | null;
  /** A verified RFC 3161 certified time: a TSA attests the signature existed then. */
  certifiedTime?: Date;
}

/** One CRL entry that reaches the signer: its own serial, or a certificate of the same identity. */
interface Applicable {
  entry: RevokedEntry;
  from: Date;
  /** Human description: "certificate of DX-3 was revoked at …" or "device DX-3 was revoked at …, and …". */
  what: string;
}

/**
 * The entries of `crl` that revoke `signer`: its serial, and — for a radseal
 * signer — every entry naming its identity that reaches its certificate (a key
 * issued after the CA processed the revocation is the identity's fresh start).
 */
function entriesReaching(signer: CertInfo, crl: ParsedCrl): Applicable[] {
  const serial = normaliseSerial(signer.x509.serialNumber);
  const id = identityOf(signer);
  const out: Applicable[] = [];
  for (const entry of crl.entries) {
    const from = revokedFrom(entry);
    if (entry.serial === serial) {
      out.push({ entry, from, what: `certificate of ${signer.commonName} was revoked at ${iso(from)} (${entry.reason})` });
    } else if (id && entry.identity && sameIdentity(entry.identity, id) && reachesSibling(entry, signer)) {
      out.push({ entry, from, what: `${id.kind} ${id.commonName} was revoked at ${iso(from)} (${entry.reason}, certificate serial ${entry.serial}); this certificate (serial ${serial}) belongs to the same ${id.kind}` });
    }
  }
  return out.sort((a, b) => a.from.getTime() - b.from.getTime());
}

/** Whether one revocation leaves the signature trusted, and the sentence that says why. */
function judge(a: Applicable, ev: SignatureEvidence, mode: RevocationMode): { ok: boolean; reason: string } {
  const { what, from, entry } = a;
  const signed = ev.signedAt ? ` (signature dated ${iso(ev.signedAt)})` : '';
  if (mode === 'any') return { ok: false, reason: `${what}; policy refuses every signature by a revoked certificate or identity, whatever its date${signed}` };
  if (ev.certifiedTime && ev.certifiedTime < from) {
    return { ok: true, reason: `${what}; the certified timestamp (RFC 3161) shows the signature existed at ${iso(ev.certifiedTime)}, before it` };
  }
  if (isCompromise(entry.reason)) {
    const why = entry.reason === 'unspecified' ? 'a revocation without a reason counts as a key compromise' : `after ${entry.reason} the key may be in other hands`;
    if (ev.certifiedTime) return { ok: false, reason: `${what}; ${why}, and the certified timestamp (${iso(ev.certifiedTime)}) is not before it` };
    return { ok: false, reason: `${what}; ${why}, so the signature's own date${signed} proves nothing, and no certified timestamp (RFC 3161) shows it existed before the revocation` };
  }
  if (!ev.signedAt) return { ok: false, reason: `${what}; the signature carries no date, so it cannot be placed before the revocation` };
  if (ev.signedAt >= from) return { ok: false, reason: `${what}; signature dated ${iso(ev.signedAt)}, after it` };
  return { ok: true, reason: `${what}; signature dated ${iso(ev.signedAt)}, before it — that date is the signer's own claim (Digital Signature DateTime), not independently attested` };
}

/**
 * Revocation of `signer` (issued by `issuer`) for a signature with this
 * evidence, at `now`. Every revocation that reaches the signer must leave the
 * signature trusted; the earliest one that does not is the reason given.
 */
export function checkRevocation(signer: CertInfo, issuer: CertInfo, ev: SignatureEvidence, set: TrustSet, caIssued: boolean, now: Date): RevocationResult {
  const opts = set.revocation ?? {};
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
  if (isBeyondClockTolerance(crl.thisUpdate, now)) {
    return { ...base, status: 'unavailable', ok: false, reason: `the revocation list from CA ${issuer.commonName} (number ${crl.crlNumber}) is dated ${iso(crl.thisUpdate)}, in the future; check the clocks` };
  }
  if (now > crl.nextUpdate) {
    return { ...base, status: 'unavailable', ok: false, reason: `the revocation list from CA ${issuer.commonName} (number ${crl.crlNumber}) expired at ${iso(crl.nextUpdate)} (nextUpdate); load a fresh trust bundle` };
  }
  const reaching = entriesReaching(signer, crl);
  if (reaching.length === 0) return { ...base, status: 'not-revoked', ok: true };
  const judged = reaching.map((a) => ({ a, ...judge(a, ev, opts.mode ?? 'signing-time') }));
  const decisive = judged.find((j) => !j.ok) ?? judged[0]!;
  return { ...base, status: 'revoked', ok: decisive.ok, reason: decisive.reason, revokedAt: decisive.a.from, revocationReason: decisive.a.entry.reason };
}
