// X.509 v2 certificate revocation lists (RFC 5280 §5), built with
// @peculiar/asn1-x509 and signed through a Signer (file key or token), and
// parsed and checked here: issuer name and signature against a CA certificate,
// freshness, revoked serials with their revocation times.
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AuthorityKeyIdentifier, Certificate, CertificateList, CRLNumber, CRLReason, CRLReasons, Extension,
  InvalidityDate, KeyIdentifier, RevokedCertificate, TBSCertList, Time, Version,
  id_ce_authorityKeyIdentifier, id_ce_cRLNumber, id_ce_cRLReasons, id_ce_invalidityDate,
} from '@peculiar/asn1-x509';
import { verify as nodeVerify } from 'node:crypto';
import { ED25519_OID, type Signer } from '../ed25519.js';
import { ECDSA_WITH_SHA256_OID } from '../ecdsa.js';
import { keyIdentifier } from '../x509.js';
import { REVOCATION_REASONS, type RevocationReason } from './defaults.js';
import { tlv } from '../der.js';
import { strongSignature, type CertInfo } from '../certs.js';
import { identityExtension, isIdentityExtension, parseIdentity, type RevokedIdentity } from './identity.js';

export const CRL_PEM_LABEL = 'X509 CRL';

/** RFC 5280 CRLReason names (5.3.1), as `openssl crl -text` prints them in camelCase. */
export { REVOCATION_REASONS, type RevocationReason };

const REASON_CODE: Record<RevocationReason, number> = {
  unspecified: CRLReasons.unspecified, keyCompromise: CRLReasons.keyCompromise, cACompromise: CRLReasons.cACompromise,
  affiliationChanged: CRLReasons.affiliationChanged, superseded: CRLReasons.superseded,
  cessationOfOperation: CRLReasons.cessationOfOperation, certificateHold: CRLReasons.certificateHold,
  removeFromCRL: CRLReasons.removeFromCRL, privilegeWithdrawn: CRLReasons.privilegeWithdrawn, aACompromise: CRLReasons.aACompromise,
};

export interface RevokedEntry {
  /** Certificate serial number, upper-case hex without leading zero bytes (as node:crypto prints it). */
  serial: string;
  /**
   * RFC 5280 revocationDate: when the CA processed the revocation. A radseal CA
   * writes the moment of `pki revoke`, and the earlier instant given with --time
   * as invalidityDate; signatures are refused from the earlier of the two.
   */
  revokedAt: Date;
  reason: RevocationReason;
  /** RFC 5280 5.3.2 invalidityDate, when known to be earlier than revokedAt (key compromise suspected since). */
  invalidSince?: Date;
  /** The identity (device, technologist, PACS id) the certificate belonged to, and its notBefore; written by a radseal CA. */
  identity?: RevokedIdentity;
}

export interface CrlContent {
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  entries: RevokedEntry[];
}

export interface ParsedCrl extends CrlContent {
  der: Uint8Array;
  /** Exact bytes the signature covers. */
  tbsDer: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  /** DER of the issuer Name (re-encoded by the same library as certificate names, so they compare byte for byte). */
  issuerDer: Uint8Array;
  authorityKeyId?: Uint8Array;
}

/** Serial as upper-case hex without leading zero bytes. */
export function normaliseSerial(hexOrBytes: string | Uint8Array): string {
  const h = (typeof hexOrBytes === 'string' ? hexOrBytes : Buffer.from(hexOrBytes).toString('hex')).replace(/[:\s]/g, '').toUpperCase();
  return h.replace(/^(00)+(?=..)/, '');
}

const serialBytes = (serial: string) => {
  let h = normaliseSerial(serial);
  if (h.length % 2) h = `0${h}`;
  if (parseInt(h.slice(0, 2), 16) & 0x80) h = `00${h}`; // INTEGER is signed: keep it positive
  return Buffer.from(h, 'hex');
};

const ext = (extnID: string, value: unknown, critical = false) =>
  new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

const algorithmOf = (signer: Signer) => new AlgorithmIdentifier({ algorithm: signer.algorithm === 'ECDSA-P256' ? ECDSA_WITH_SHA256_OID : ED25519_OID });

/** RFC 5280 GeneralizedTime carries no fractional seconds; rounding down keeps a revocation from starting later than asked. */
const wholeSeconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** Builds and signs a CRL for the CA whose certificate is `caCertDer`; returns DER. */
export async function buildCrl(caCertDer: Uint8Array, signer: Signer, content: CrlContent): Promise<Uint8Array> {
  const ca = AsnConvert.parse(caCertDer, Certificate);
  const sigAlg = algorithmOf(signer);
  const entries = [...content.entries].sort((a, b) => a.revokedAt.getTime() - b.revokedAt.getTime());
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: sigAlg,
    issuer: ca.tbsCertificate.subject,
    thisUpdate: new Time(content.thisUpdate),
    nextUpdate: new Time(content.nextUpdate),
    revokedCertificates: entries.length ? entries.map((e) => new RevokedCertificate({
      userCertificate: new Uint8Array(serialBytes(e.serial)).buffer,
      revocationDate: new Time(e.revokedAt),
      crlEntryExtensions: [
        ...(e.reason !== 'unspecified' ? [ext(id_ce_cRLReasons, new CRLReason(REASON_CODE[e.reason]))] : []),
        ...(e.invalidSince && e.invalidSince < e.revokedAt ? [ext(id_ce_invalidityDate, new InvalidityDate(wholeSeconds(e.invalidSince)))] : []),
        ...(e.identity ? [identityExtension(e.identity)] : []),
      ],
    })).map((r) => (r.crlEntryExtensions!.length ? r : new RevokedCertificate({ userCertificate: r.userCertificate, revocationDate: r.revocationDate }))) : undefined,
    crlExtensions: [
      ext(id_ce_authorityKeyIdentifier, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(signer.publicKey).slice().buffer) })),
      ext(id_ce_cRLNumber, new CRLNumber(content.crlNumber)),
    ],
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = await signer.sign(tbsDer);
  return new Uint8Array(AsnConvert.serialize(new CertificateList({ tbsCertList: tbs, signatureAlgorithm: algorithmOf(signer), signature: new Uint8Array(signature).buffer })));
}

export class CrlError extends Error {
  override name = 'CrlError';
}

/** Parses a DER CRL; throws CrlError on anything that is not one. */
export function parseCrl(der: Uint8Array): ParsedCrl {
  let list: CertificateList;
  let tbsDer: Uint8Array;
  try {
    const outer = tlv(der, 0);
    if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error('not one DER SEQUENCE');
    const outerHeader = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
    const tbs = tlv(der, outerHeader);
    tbsDer = der.slice(tbs.start, tbs.end);
    list = AsnConvert.parse(der, CertificateList);
  } catch (err) {
    throw new CrlError(`not a DER X.509 CRL (${(err as Error).message})`);
  }
  const t = list.tbsCertList;
  if (!t.nextUpdate) throw new CrlError('the CRL has no nextUpdate, so its freshness cannot be judged');
  let crlNumber = -1;
  let authorityKeyId: Uint8Array | undefined;
  for (const e of t.crlExtensions ?? []) {
    if (e.extnID === id_ce_cRLNumber) crlNumber = AsnConvert.parse(e.extnValue, CRLNumber).value;
    else if (e.extnID === id_ce_authorityKeyIdentifier) {
      const kid = AsnConvert.parse(e.extnValue, AuthorityKeyIdentifier).keyIdentifier;
      if (kid) authorityKeyId = new Uint8Array(kid.buffer);
    } else if (e.critical) throw new CrlError(`the CRL has a critical extension radseal does not understand (${e.extnID}); refusing it`);
  }
  const entries: RevokedEntry[] = (t.revokedCertificates ?? []).map((r) => {
    let reason: RevocationReason = 'unspecified';
    let invalidSince: Date | undefined;
    let identity: RevokedIdentity | undefined;
    for (const e of r.crlEntryExtensions ?? []) {
      if (e.extnID === id_ce_cRLReasons) {
        const code = AsnConvert.parse(e.extnValue, CRLReason).reason as number;
        reason = REVOCATION_REASONS.find((name) => REASON_CODE[name] === code) ?? 'unspecified';
      }
      else if (e.extnID === id_ce_invalidityDate) invalidSince = AsnConvert.parse(e.extnValue, InvalidityDate).value;
      else if (isIdentityExtension(e.extnID)) identity = readIdentity(e.extnValue.buffer);
      else if (e.critical) throw new CrlError(`a CRL entry has a critical extension radseal does not understand (${e.extnID}); refusing the CRL`);
    }
    return { serial: normaliseSerial(new Uint8Array(r.userCertificate)), revokedAt: r.revocationDate.getTime(), reason, ...(invalidSince ? { invalidSince } : {}), ...(identity ? { identity } : {}) };
  });
  // RFC 5280 5.1.1.2: the signed algorithm and the one outside the signature must agree.
  if (t.signature.algorithm !== list.signatureAlgorithm.algorithm) throw new CrlError(`the CRL's signed algorithm (${t.signature.algorithm}) is not the one it is signed with (${list.signatureAlgorithm.algorithm}); refusing it`);
  return {
    der, tbsDer, signatureAlgorithm: list.signatureAlgorithm.algorithm, signature: new Uint8Array(list.signature),
    issuerDer: new Uint8Array(AsnConvert.serialize(t.issuer)), authorityKeyId,
    thisUpdate: t.thisUpdate.getTime(), nextUpdate: t.nextUpdate.getTime(), crlNumber, entries,
  };
}

function readIdentity(value: ArrayBuffer): RevokedIdentity {
  try {
    return parseIdentity(new Uint8Array(value));
  } catch {
    throw new CrlError('a CRL entry names its identity in a form radseal cannot read; refusing the CRL');
  }
}

/** Whether `ca` issued this CRL: issuer name equals the CA's subject and the CA's key verifies the signature. */
export function crlSignedBy(crl: ParsedCrl, ca: CertInfo): boolean {
  let subjectDer: Uint8Array;
  try {
    subjectDer = new Uint8Array(AsnConvert.serialize(AsnConvert.parse(ca.der, Certificate).tbsCertificate.subject));
  } catch {
    return false;
  }
  if (Buffer.compare(Buffer.from(subjectDer), Buffer.from(crl.issuerDer)) !== 0) return false;
  // The algorithms radseal accepts for certificates: a CRL signed with SHA-1 or MD5 could be forged to un-revoke a key.
  const how = strongSignature(crl.signatureAlgorithm);
  try {
    const key = ca.x509.publicKey;
    return !!how && key.asymmetricKeyType === how.key && nodeVerify(how.hash, crl.tbsDer, key, crl.signature);
  } catch {
    return false;
  }
}

/** The effective revocation instant: the earlier of revocationDate and invalidityDate. */
export function revokedFrom(e: RevokedEntry): Date {
  return e.invalidSince && e.invalidSince < e.revokedAt ? e.invalidSince : e.revokedAt;
}
