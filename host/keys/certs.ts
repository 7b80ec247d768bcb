// Reading certificates and deciding trust, on node:crypto's X509Certificate
// (OpenSSL underneath): parsing, issuer signature checks, validity. The role and revocation
// rules read extensions and CRLs with an ASN.1 library: loaded when a decision first needs them,
// so reading a certificate (and every command that only names one) stays light.
import { X509Certificate } from 'node:crypto';
import { fromPemAll } from './pem.js';
import type { RevocationStatus, TrustSet } from './pki/revocation.js';
import { CLOCK_TOLERANCE_MS, isBeyondClockTolerance } from './clock.js';
import type { SigningRole } from './pki/profiles.js';
import { loadOnUse } from '../io/load-on-use.js';
import { certificateExtension, certificateExtensions, children, oidText, tlv, type CertificateExtension } from './der.js';

const crlRules = loadOnUse<typeof import('./pki/crl.js')>(import.meta.url, './pki/crl.js');
const revocationRules = loadOnUse<typeof import('./pki/revocation.js')>(import.meta.url, './pki/revocation.js');
const profileRules = loadOnUse<typeof import('./pki/profiles.js')>(import.meta.url, './pki/profiles.js');

export type { TrustSet } from './pki/revocation.js';

export interface CertInfo {
  der: Uint8Array;
  subject: string;
  commonName: string;
  issuer: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  keyType: string;
  /** Raw public key for Ed25519 (32 bytes); undefined for other key types. */
  ed25519PublicKey?: Uint8Array;
  x509: X509Certificate;
}

export function parseCertificate(der: Uint8Array): CertInfo {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw new Error('not a DER X.509 certificate');
  }
  const key = x509.publicKey;
  const keyType = key.asymmetricKeyType ?? 'unknown';
  let ed25519PublicKey: Uint8Array | undefined;
  if (keyType === 'ed25519') {
    const jwk = key.export({ format: 'jwk' });
    ed25519PublicKey = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
  }
  // One CN names the signer; with two, tools disagree on which one (OpenSSL shows the last), so none is taken.
  const cns = [...x509.subject.matchAll(/(?:^|\n)CN=([^\n]*)/g)];
  const cn = cns.length === 1 ? cns[0]![1]! : x509.subject.replace(/\n/g, ', ');
  return {
    der, subject: x509.subject.replace(/\n/g, ', '), commonName: cn, issuer: x509.issuer.replace(/\n/g, ', '),
    fingerprint256: x509.fingerprint256, notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo),
    keyType, ed25519PublicKey, x509,
  };
}

/**
 * Certificates from PEM text (one or many) or a single DER blob. A PEM trust
 * bundle may also hold X.509 CRLs ("X509 CRL" blocks): each must be signed by
 * a CA certificate of the bundle (else this throws) and is kept on the
 * returned array's `crls`, where decideTrust finds it.
 */
export function parseCertificates(bytes: Uint8Array): TrustSet {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN ')) return [parseCertificate(bytes)];
  const set: TrustSet = fromPemAll(text, 'CERTIFICATE').map(parseCertificate);
  if (!/-----BEGIN (?!CERTIFICATE-----)/.test(text)) return set; // nothing but certificates: no CRL to read
  const { CRL_PEM_LABEL, parseCrl } = crlRules();
  const crls = fromPemAll(text, CRL_PEM_LABEL).map((der) => parseCrl(der));
  if (crls.length) set.crls = revocationRules().attachCrls(set, crls);
  return set;
}

export interface TrustDecision {
  trusted: boolean;
  reason: string;
  anchor?: CertInfo;
  /** Revocation status from the trust set's CRLs (absent when trust failed before it was looked at). */
  revocation?: RevocationStatus;
  /** Something a reader should know even though trust holds (a revoked certificate whose signature predates the revocation). */
  note?: string;
}

export interface TrustOptions {
  /**
   * The role the signature claims (from its purpose code): the certificate must carry that
   * role's extended key usage. Absent = 'other', a signature that vouches for nothing.
   */
  role?: SigningRole;
  /** The signature's own date (Digital Signature DateTime, signer-asserted); null when it has none. Defaults to `when`. */
  signedAt?: Date | null;
  /**
   * A certified time the caller has already verified (RFC 3161 token over this signature,
   * TSA trusted): the only evidence that keeps a signature of a compromised key trusted.
   */
  certifiedTime?: Date;
  /** The verifier's clock, for future-dated signatures and CRL freshness (default: the trust set's revocation.now, else the clock). */
  now?: Date;
}

const issuedBy = (cert: CertInfo, ca: CertInfo) => ca.x509.ca && allows(ca, KEY_CERT_SIGN) && cert.x509.checkIssued(ca.x509) && cert.x509.verify(ca.x509.publicKey);

/** Keys a signature can rest on today (NIST SP 800-131A): RSA of 2048 bits or more, the NIST curves P-256 and up, Ed25519/Ed448. */
function weakKey(cert: CertInfo): string | undefined {
  const details = cert.x509.publicKey.asymmetricKeyDetails;
  if (cert.keyType === 'rsa' || cert.keyType === 'rsa-pss') {
    const bits = details?.modulusLength ?? 0;
    return bits >= 2048 ? undefined : `an RSA key of ${bits} bits (at least 2048 required)`;
  }
  if (cert.keyType === 'ec') {
    const curve = details?.namedCurve ?? 'unknown';
    return ['prime256v1', 'secp384r1', 'secp521r1'].includes(curve) ? undefined : `an EC key on curve ${curve} (P-256, P-384 or P-521 required)`;
  }
  return cert.keyType === 'ed25519' || cert.keyType === 'ed448' ? undefined : `a ${cert.keyType} key (RSA, ECDSA or EdDSA required)`;
}

const KEY_USAGE_TLV = Uint8Array.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);
const DIGITAL_SIGNATURE = 0x80, NON_REPUDIATION = 0x40, KEY_CERT_SIGN = 0x04;

/**
 * Whether the certificate's key usage (RFC 5280 4.2.1.3) allows any of `bits` (of its first byte):
 * true when it has no keyUsage extension, false when the extension cannot be read.
 */
function allows(cert: CertInfo, bits: number): boolean {
  try {
    const v = certificateExtension(cert.der, KEY_USAGE_TLV);
    if (!v) return true;
    const bitString = tlv(v, 0);
    return bitString.tag === 0x03 && bitString.end - bitString.content >= 2 && (v[bitString.content + 1]! & bits) !== 0;
  } catch {
    return false;
  }
}

/**
 * DER of the OIDs of the extensions radseal evaluates when it decides trust: basicConstraints and
 * keyUsage (here), extendedKeyUsage and certificatePolicies (pki/profiles.ts), subject and authority
 * key identifiers (OpenSSL's issuer match). Any other extension marked critical is one radseal does
 * not process, and RFC 5280 4.2 says such a certificate must be refused.
 */
const EVALUATED_EXTENSIONS = ['0603551d13', '0603551d0f', '0603551d25', '0603551d20', '0603551d0e', '0603551d23'].map((hex) => Buffer.from(hex, 'hex'));
/** nameConstraints (2.5.29.30): radseal does not evaluate them, so a CA that carries them is not trusted. */
const NAME_CONSTRAINTS = Buffer.from('0603551d1e', 'hex');

/** Why one certificate of a chain cannot be relied on: a critical extension radseal does not process, or (a CA) name constraints. */
function extensionProblem(cert: CertInfo, asCa: boolean): string | undefined {
  let exts: CertificateExtension[];
  try {
    exts = certificateExtensions(cert.der);
  } catch {
    return `certificate of ${cert.commonName} has extensions radseal cannot read`;
  }
  if (asCa && exts.some((e) => NAME_CONSTRAINTS.equals(e.oidTlv))) {
    return `CA certificate ${cert.commonName} carries name constraints, which radseal does not evaluate: no certificate it issued is trusted`;
  }
  const unknown = exts.find((e) => e.critical && !EVALUATED_EXTENSIONS.some((o) => o.equals(e.oidTlv)));
  if (unknown) {
    return `certificate of ${cert.commonName} has a critical extension radseal does not process (${oidText(unknown.oidTlv.subarray(2))}); RFC 5280 requires refusing it`;
  }
  return undefined;
}

/**
 * Issuer signature algorithms that still resist forgery (NIST SP 800-131A): RSA PKCS#1 v1.5 and ECDSA with
 * SHA-224 and up, Ed25519, Ed448 (and RSASSA-PSS whose hash is SHA-256 and up, judged apart: its hash is a
 * parameter), with the key type and digest node:crypto verifies each with (null: the algorithm hashes
 * itself). An allow-list, so MD2, MD4, MD5, SHA-1 and whatever else OpenSSL still verifies
 * (X509Certificate.verify applies no security level) fail. Certificates and revocation lists are judged by it.
 */
const STRONG_SIGNATURES: ReadonlyMap<string, StrongSignature> = new Map<string, StrongSignature>([
  ['1.2.840.113549.1.1.11', { name: 'sha256WithRSAEncryption', key: 'rsa', hash: 'sha256' }],
  ['1.2.840.113549.1.1.12', { name: 'sha384WithRSAEncryption', key: 'rsa', hash: 'sha384' }],
  ['1.2.840.113549.1.1.13', { name: 'sha512WithRSAEncryption', key: 'rsa', hash: 'sha512' }],
  ['1.2.840.113549.1.1.14', { name: 'sha224WithRSAEncryption', key: 'rsa', hash: 'sha224' }],
  ['1.2.840.10045.4.3.1', { name: 'ecdsa-with-SHA224', key: 'ec', hash: 'sha224' }],
  ['1.2.840.10045.4.3.2', { name: 'ecdsa-with-SHA256', key: 'ec', hash: 'sha256' }],
  ['1.2.840.10045.4.3.3', { name: 'ecdsa-with-SHA384', key: 'ec', hash: 'sha384' }],
  ['1.2.840.10045.4.3.4', { name: 'ecdsa-with-SHA512', key: 'ec', hash: 'sha512' }],
  ['1.3.101.112', { name: 'Ed25519', key: 'ed25519', hash: null }],
  ['1.3.101.113', { name: 'Ed448', key: 'ed448', hash: null }],
]);

export interface StrongSignature { name: string; key: 'rsa' | 'ec' | 'ed25519' | 'ed448'; hash: string | null }

/** The signature algorithm with this OID, when it is one that still resists forgery (RSASSA-PSS aside). */
export function strongSignature(oid: string): StrongSignature | undefined {
  return STRONG_SIGNATURES.get(oid);
}
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const STRONG_PSS_HASHES = ['2.16.840.1.101.3.4.2.1', '2.16.840.1.101.3.4.2.2', '2.16.840.1.101.3.4.2.3'];
const WEAK_NAMES: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption', '1.2.840.113549.1.1.3': 'md4WithRSAEncryption', '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption', '1.3.14.3.2.29': 'sha1WithRSASignature', '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
};

/** Why the issuer's signature on a certificate is one anyone may forge, or undefined when its algorithm is strong. */
function weakSignature(cert: CertInfo): string | undefined {
  let oid = '?';
  try {
    const der = cert.der;
    const [, algorithm] = children(der, tlv(der, 0));
    const [id, params] = children(der, algorithm!);
    if (id?.tag !== 0x06) throw new Error('no signature algorithm OID');
    oid = oidText(der.subarray(id.content, id.end));
    if (STRONG_SIGNATURES.has(oid)) return undefined;
    if (oid === RSASSA_PSS && params?.tag === 0x30) {
      // RSASSA-PSS-params: [0] hashAlgorithm, absent = SHA-1 (RFC 4055).
      const hash = children(der, params).find((t) => t.tag === 0xa0);
      const hashId = hash ? children(der, children(der, hash)[0]!)[0] : undefined;
      if (hashId?.tag === 0x06 && STRONG_PSS_HASHES.includes(oidText(der.subarray(hashId.content, hashId.end)))) return undefined;
      oid = `${RSASSA_PSS} with a hash weaker than SHA-256`;
    }
  } catch {
    // an algorithm that cannot be read is not a strong one
  }
  return `certificate of ${cert.commonName} is signed by its issuer with ${WEAK_NAMES[oid] ?? oid}, a signature algorithm that can be forged (SHA-256 or stronger, or EdDSA, required)`;
}

/**
 * Why the chain a signer's trust rests on cannot be relied on: the signer's certificate and, when
 * a trusted CA issued it, that CA's (a critical extension radseal does not process, name
 * constraints on the CA) and the CA's signature on the signer's certificate (its algorithm). A
 * certificate of the trust set is trusted because it is pinned there: its own signature (a
 * self-signature, or a root's over it) is never what trust rests on, so its algorithm is not judged.
 */
export function chainProblem(signer: CertInfo, ca: CertInfo | undefined): string | undefined {
  return extensionProblem(signer, false) ?? (ca ? extensionProblem(ca, true) ?? weakSignature(signer) : undefined);
}

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const TOLERANCE = `${CLOCK_TOLERANCE_MS / 60_000} min`;

/**
 * Why a certificate is not what its issuer signed, when its issuer is known (itself, or a
 * certificate of the trust set by name), or why it is a copy of a trusted one: a Certificate of
 * Signer lies outside every MAC, so a copy altered after signing (a changed serial, name,
 * extension or signature byte) must not pass for a stranger's certificate. Undefined when it
 * verifies, or when nothing here knows its issuer or its key.
 */
export function alteredCertificate(cert: CertInfo, trustSet: readonly CertInfo[]): string | undefined {
  const issuers = [cert, ...trustSet].filter((t) => t.x509.subject === cert.x509.issuer);
  if (!issuers.length) {
    // Its issuer name altered too: a stranger's certificate does not carry a trusted certificate's key.
    const twin = trustSet.find((t) => t.fingerprint256 !== cert.fingerprint256 && t.x509.publicKey.equals(cert.x509.publicKey));
    return twin ? `the certificate of ${cert.commonName} carries the key of trusted certificate ${twin.commonName} but is not it, and no known issuer signed it: altered after it was issued` : undefined;
  }
  const verifies = issuers.some((t) => {
    try {
      return cert.x509.verify(t.x509.publicKey);
    } catch {
      return false;
    }
  });
  return verifies ? undefined : `the certificate of ${cert.commonName} does not verify under its issuer ${issuers[0]!.commonName}: altered after it was issued`;
}

/**
 * A signer is trusted when its certificate is itself in the trust set, or was
 * issued by a CA in the trust set (issuer signature checked), and `when` lies
 * within the certificate's validity; its dates are not in the future; the chain
 * holds no critical extension radseal does not process, no CA name constraints and
 * no weak issuer signature (chainProblem); its own
 * extended key usage allows the role it signs in (pki/profiles.ts); and, when
 * its issuer's CRL is in the trust set (required for CA-issued certificates
 * unless the set's revocation options say otherwise), neither the certificate
 * nor its identity was revoked before the signature (pki/revocation.ts).
 */
export function decideTrust(signer: CertInfo, trustSet: CertInfo[] | TrustSet, when: Date, opts: TrustOptions = {}): TrustDecision {
  const set = trustSet as TrustSet;
  const now = opts.now ?? set.revocation?.now ?? new Date();
  const signedAt = opts.signedAt === undefined ? when : opts.signedAt;
  if (signedAt && isBeyondClockTolerance(signedAt, now)) {
    return { trusted: false, reason: `signature by ${signer.commonName} is dated ${iso(signedAt)}, in the future (this clock reads ${iso(now)}, tolerance ${TOLERANCE}): a signer's clock that runs ahead cannot place the signature in time` };
  }
  if (opts.certifiedTime && isBeyondClockTolerance(opts.certifiedTime, now)) {
    return { trusted: false, reason: `the certified time of the signature by ${signer.commonName} is ${iso(opts.certifiedTime)}, in the future (this clock reads ${iso(now)}, tolerance ${TOLERANCE}); check the clocks` };
  }
  if (when < signer.notBefore || when > signer.notAfter) {
    return { trusted: false, reason: `certificate of ${signer.commonName} not valid at ${when.toISOString()}` };
  }
  const same = trustSet.find((t) => t.fingerprint256 === signer.fingerprint256);
  const ca = same ? trustSet.find((t) => t !== same && issuedBy(signer, t)) : trustSet.find((t) => issuedBy(signer, t));
  const anchor = same ?? ca;
  if (!anchor) return { trusted: false, reason: `signer ${signer.commonName} (${signer.fingerprint256}) is not in the trust set nor issued by a CA in it` };
  const reason = same ? 'signer certificate is in the trust set' : `issued by trusted CA ${anchor.commonName}`;
  const broken = chainProblem(signer, same ? undefined : ca);
  if (broken) return { trusted: false, reason: broken, anchor };
  const profile = profileRules().profileProblem(signer, opts.role, ca);
  if (profile) return { trusted: false, reason: profile, anchor };
  const weak = weakKey(signer);
  if (weak) return { trusted: false, reason: `certificate of ${signer.commonName} has ${weak}: anyone can forge its signatures`, anchor };
  if (!allows(signer, DIGITAL_SIGNATURE | NON_REPUDIATION)) {
    return { trusted: false, reason: `certificate of ${signer.commonName} has a key usage without digitalSignature or nonRepudiation: its key may not sign`, anchor };
  }
  if (!ca) return { trusted: true, reason, anchor, revocation: 'not-checked' };
  const rev = revocationRules().checkRevocation(signer, ca, { signedAt, certifiedTime: opts.certifiedTime }, set, !same, now);
  if (!rev.ok) return { trusted: false, reason: rev.reason ?? 'revoked', anchor, revocation: rev.status };
  return { trusted: true, reason, anchor, revocation: rev.status, ...(rev.reason ? { note: rev.reason } : {}) };
}
