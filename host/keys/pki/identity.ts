// A signer identity: the radseal id (certificate CN) of one device, technologist
// or PACS signer, under one CA. An identity may hold several certificates (the
// device's Ed25519 and ECDSA keys, a re-issued key), and revoking one of them
// revokes the identity: the CRL entry of a revoked certificate names its
// identity, and the revoked certificate's notBefore, in a non-critical entry
// extension, so verify can refuse the siblings too. Other verifiers (OpenSSL,
// DCMTK) ignore the extension and still see the serial.
import * as asn1js from 'asn1js';
import { OctetString } from '@peculiar/asn1-schema';
import { Extension } from '@peculiar/asn1-x509';
import type { CertInfo } from '../certs.js';
import { RADSEAL_ARC, SIGNER_EKU, oidTlv, profileOf, type SignerKind } from './profiles.js';

/**
 * CRL entry extension: SEQUENCE { kind UTF8String ("device" | "technologist" | "pacs"),
 * commonName UTF8String, issuedAt GeneralizedTime (the revoked certificate's notBefore) }.
 */
export const EXT_REVOKED_IDENTITY = `${RADSEAL_ARC}.3.1`;

export interface SignerIdentity {
  kind: SignerKind;
  /** The radseal id: device id, operator id or PACS id. */
  commonName: string;
}

/** The identity as a CRL entry names it: plus the revoked certificate's notBefore, which dates its enrolment. */
export interface RevokedIdentity extends SignerIdentity {
  issuedAt?: Date;
}

/** The identity a certificate speaks for, from its role EKU and CN; null for a certificate without exactly one radseal role. */
export function identityOf(cert: CertInfo): SignerIdentity | null {
  const kind = profileOf(cert).kind;
  return kind && kind !== 'site-ca' ? { kind, commonName: cert.commonName } : null;
}

export const sameIdentity = (a: SignerIdentity, b: SignerIdentity): boolean => a.kind === b.kind && a.commonName === b.commonName;

const ab = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

/** The identity as a CRL entry extension (non-critical). */
export function identityExtension(id: RevokedIdentity): Extension {
  const value: asn1js.AsnType[] = [new asn1js.Utf8String({ value: id.kind }), new asn1js.Utf8String({ value: id.commonName })];
  if (id.issuedAt) value.push(new asn1js.GeneralizedTime({ valueDate: new Date(Math.floor(id.issuedAt.getTime() / 1000) * 1000) }));
  const der = new asn1js.Sequence({ value }).toBER(false);
  return new Extension({ extnID: EXT_REVOKED_IDENTITY, critical: false, extnValue: new OctetString(der) });
}

/**
 * The extnID string @peculiar/asn1-schema gives this OID when it parses it: the
 * 128-bit arc comes back in its own notation, the same every time.
 */
const PARSED_EXTN_ID = (asn1js.fromBER(ab(oidTlv(EXT_REVOKED_IDENTITY))).result as asn1js.ObjectIdentifier).valueBlock.toString();

export const isIdentityExtension = (extnID: string): boolean => extnID === PARSED_EXTN_ID || extnID === EXT_REVOKED_IDENTITY;

/** Reads the extension's value; throws on anything that is not one. */
export function parseIdentity(value: Uint8Array): RevokedIdentity {
  const asn = asn1js.fromBER(ab(value));
  const seq = asn.result;
  if (asn.offset === -1 || !(seq instanceof asn1js.Sequence)) throw new Error('not a radseal identity');
  const [k, c, t, ...rest] = seq.valueBlock.value;
  const kind = k instanceof asn1js.Utf8String ? k.getValue() : null;
  const cn = c instanceof asn1js.Utf8String ? c.getValue() : null;
  if (!kind || !(kind in SIGNER_EKU) || !cn || rest.length || (t && !(t instanceof asn1js.GeneralizedTime))) throw new Error('not a radseal identity');
  return { kind: kind as SignerKind, commonName: cn, ...(t instanceof asn1js.GeneralizedTime ? { issuedAt: t.toDate() } : {}) };
}
