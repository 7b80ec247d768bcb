// Building X.509 v3 certificates (RFC 5280) for Ed25519 (RFC 8410) and P-256 (RFC 5480) keys.
// The ASN.1 structures come from @peculiar/asn1-x509; signing goes through a
// Signer so a key held on a PKCS#11 token can issue or self-sign as well. Issuing is rare (keygen,
// the site CA): the ASN.1 libraries load when a certificate is first built, not with this module.
import { createHash, randomBytes } from 'node:crypto';
import { ED25519_OID, type Signer } from './ed25519.js';
import { ECDSA_WITH_SHA256_OID, EC_PUBLIC_KEY_OID } from './ecdsa.js';
import type { AlgorithmIdentifier, Name } from '@peculiar/asn1-x509';
import { loadOnUse } from '../io/load-on-use.js';

const asn1 = loadOnUse<typeof import('@peculiar/asn1-x509')>(import.meta.url, '@peculiar/asn1-x509');
const schema = loadOnUse<typeof import('@peculiar/asn1-schema')>(import.meta.url, '@peculiar/asn1-schema');

/** DER of OBJECT IDENTIFIER prime256v1 (1.2.840.10045.3.1.7): the EC key's named-curve parameter. */
const P256_PARAMS = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

/** Subject key: 32 bytes is Ed25519 (RFC 8410), a 65-byte uncompressed point is P-256 (RFC 5480). */
function spkiAlgorithm(publicKey: Uint8Array): AlgorithmIdentifier {
  const { AlgorithmIdentifier } = asn1();
  if (publicKey.length === 32) return new AlgorithmIdentifier({ algorithm: ED25519_OID });
  if (publicKey.length === 65 && publicKey[0] === 4) return new AlgorithmIdentifier({ algorithm: EC_PUBLIC_KEY_OID, parameters: P256_PARAMS.slice().buffer });
  throw new RangeError(`unsupported subject public key (${publicKey.length} bytes): expected Ed25519 or uncompressed P-256`);
}

function signatureAlgorithm(signer: Signer): AlgorithmIdentifier {
  const { AlgorithmIdentifier } = asn1();
  return new AlgorithmIdentifier({ algorithm: signer.algorithm === 'ECDSA-P256' ? ECDSA_WITH_SHA256_OID : ED25519_OID });
}

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_ORGANIZATIONAL_UNIT = '2.5.4.11';
const OID_SURNAME = '2.5.4.4';
const OID_GIVEN_NAME = '2.5.4.42';

export interface DistinguishedName {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  surname?: string;
  givenName?: string;
}

export interface CertificateRequest {
  subject: DistinguishedName;
  subjectPublicKey: Uint8Array;
  /** Issuer name; omit for a self-signed certificate. */
  issuer?: DistinguishedName;
  issuerSigner: Signer;
  isCa?: boolean;
  notBefore?: Date;
  validDays?: number;
  /** CA only: pathLenConstraint (0 = may issue end-entity certificates only). */
  pathLen?: number;
  /** Extended key usage purposes (OIDs); the extension is left out when absent. */
  extendedKeyUsage?: string[];
  /** Certificate policy OIDs; the extension is left out when absent. */
  policies?: string[];
  /** Key usage flags (KeyUsageFlags); default: CA keyCertSign|cRLSign|digitalSignature, others digitalSignature|nonRepudiation. */
  keyUsage?: number;
  /** Issuer's certificate (DER): its subject Name is copied byte for byte as the issuer. Overrides `issuer`. */
  issuerCertificateDer?: Uint8Array;
  /** Issuer's public key: adds an Authority Key Identifier (RFC 5280 4.2.1.1) matching the issuer's SKI. */
  issuerPublicKey?: Uint8Array;
}

export function toName(dn: DistinguishedName): Name {
  const { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } = asn1();
  const rdn = (type: string, v: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: v }) })]);
  const parts = [];
  if (dn.organization) parts.push(rdn(OID_ORGANIZATION, dn.organization));
  if (dn.organizationalUnit) parts.push(rdn(OID_ORGANIZATIONAL_UNIT, dn.organizationalUnit));
  if (dn.surname) parts.push(rdn(OID_SURNAME, dn.surname));
  if (dn.givenName) parts.push(rdn(OID_GIVEN_NAME, dn.givenName));
  parts.push(rdn(OID_COMMON_NAME, dn.commonName));
  return new Name(parts);
}

/** SHA-1 of the subject public key bytes: RFC 5280 4.2.1.2 method (1), used for SKI and AKI. */
export function keyIdentifier(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(publicKey).digest());
}

const ext = (extnID: string, critical: boolean, value: unknown) =>
  new (asn1().Extension)({ extnID, critical, extnValue: new (schema().OctetString)(schema().AsnConvert.serialize(value)) });

/** Issues (or self-signs) a certificate and returns its DER bytes. */
export async function issueCertificate(req: CertificateRequest): Promise<Uint8Array> {
  const {
    AuthorityKeyIdentifier, BasicConstraints, Certificate, CertificatePolicies, ExtendedKeyUsage, Extensions, KeyIdentifier, KeyUsage,
    KeyUsageFlags, PolicyInformation, SubjectKeyIdentifier, SubjectPublicKeyInfo, TBSCertificate, Validity, Version,
    id_ce_authorityKeyIdentifier, id_ce_basicConstraints, id_ce_certificatePolicies, id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectKeyIdentifier,
  } = asn1();
  const { AsnConvert } = schema();
  const sigAlg = signatureAlgorithm(req.issuerSigner);
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (req.validDays ?? 3650) * 86_400_000);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // a positive INTEGER whose DER is minimal (a 0x00 lead byte would make it non-canonical, which OpenSSL rejects)
  const keyId = keyIdentifier(req.subjectPublicKey);
  const usage = req.keyUsage ?? (req.isCa ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature : KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: sigAlg,
    issuer: req.issuerCertificateDer ? AsnConvert.parse(req.issuerCertificateDer, Certificate).tbsCertificate.subject : toName(req.issuer ?? req.subject),
    validity: new Validity({ notBefore, notAfter }),
    subject: toName(req.subject),
    subjectPublicKeyInfo: new SubjectPublicKeyInfo({ algorithm: spkiAlgorithm(req.subjectPublicKey), subjectPublicKey: new Uint8Array(req.subjectPublicKey).buffer }),
    extensions: new Extensions([
      ext(id_ce_basicConstraints, true, new BasicConstraints(req.isCa && req.pathLen !== undefined ? { cA: true, pathLenConstraint: req.pathLen } : { cA: !!req.isCa })),
      ext(id_ce_keyUsage, true, new KeyUsage(usage)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(new Uint8Array(keyId).buffer)),
      ...(req.issuerPublicKey ? [ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(req.issuerPublicKey).slice().buffer) }))] : []),
      ...(req.extendedKeyUsage?.length ? [ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage(req.extendedKeyUsage))] : []),
      ...(req.policies?.length ? [ext(id_ce_certificatePolicies, false, new CertificatePolicies(req.policies.map((policyIdentifier) => new PolicyInformation({ policyIdentifier }))))] : []),
    ]),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = await req.issuerSigner.sign(tbsDer);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: signatureAlgorithm(req.issuerSigner), signatureValue: new Uint8Array(signature).buffer });
  return new Uint8Array(AsnConvert.serialize(cert));
}
