// Certificate profiles of the radseal site PKI. A certificate says which kind
// of signer it is through an extended key usage purpose (and an OU people can
// read); verify enforces that a device certificate signs only as the device
// (purpose 14 Source) and a technologist certificate only as the author
// (purpose 1), and that a radseal site CA never signs objects itself.
//
// The OIDs live under a UUID-derived arc (ITU-T X.667: 2.25.<128-bit UUID as
// an integer>), which needs no registration and cannot collide.
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, id_ce_certificatePolicies, id_ce_extKeyUsage } from '@peculiar/asn1-x509';
import type { CertInfo } from '../certs.js';

/** 2.25 + UUID 63244015-b21e-4b8c-ac18-28c193cd44a3: radseal's OID arc. */
export const RADSEAL_ARC = '2.25.131781794062744928013781171960929928355';
/** Certificate policy: "issued under a radseal site PKI, profile v1"; carried by the site CA and every certificate it issues. */
export const POLICY_SITE_PKI_V1 = `${RADSEAL_ARC}.1.1`;
/** Extended key usage: signs DICOM objects as the capturing device (Source, CID 7007 code 14). */
export const EKU_DEVICE = `${RADSEAL_ARC}.2.1`;
/** Extended key usage: co-signs DICOM objects as the technologist (Author, CID 7007 code 1). */
export const EKU_TECHNOLOGIST = `${RADSEAL_ARC}.2.2`;

export const OU_SITE_CA = 'radseal site CA';
export const OU_DEVICE = 'radseal device';
export const OU_TECHNOLOGIST = 'radseal technologist';

export type ProfileKind = 'site-ca' | 'device' | 'technologist';

export interface Profile {
  /** The radseal profile, or null for a certificate that carries none (self-signed keygen certificates, other PKIs). */
  kind: ProfileKind | null;
  /** Carries the radseal site PKI policy OID. */
  sitePki: boolean;
  extendedKeyUsage: string[];
}

/**
 * DER TLV of an OBJECT IDENTIFIER, with BigInt arcs: the 128-bit arc under
 * 2.25 is beyond what @peculiar/asn1-schema decodes (it turns it into
 * garbage), so extensions are matched by the encoded OID bytes instead.
 */
export function oidTlv(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => BigInt(a));
  const body: number[] = [];
  const push = (v: bigint) => {
    const out = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) out.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...out);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from([0x06, body.length, ...body]);
}

const holds = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).includes(Buffer.from(needle));
const TLV = { device: oidTlv(EKU_DEVICE), technologist: oidTlv(EKU_TECHNOLOGIST), policy: oidTlv(POLICY_SITE_PKI_V1) };

const cache = new WeakMap<CertInfo, Profile>();

/** Reads the profile from the certificate's extensions (cached per parsed certificate). */
export function profileOf(cert: CertInfo): Profile {
  const hit = cache.get(cert);
  if (hit) return hit;
  // Extended key usage as OpenSSL decodes it (node:crypto), and the policy OID matched by its DER bytes.
  const eku = cert.x509.keyUsage ?? [];
  let ekuDer = new Uint8Array(0);
  let policiesDer = new Uint8Array(0);
  try {
    for (const e of AsnConvert.parse(cert.der, Certificate).tbsCertificate.extensions ?? []) {
      if (e.extnID === id_ce_extKeyUsage) ekuDer = new Uint8Array(e.extnValue.buffer);
      if (e.extnID === id_ce_certificatePolicies) policiesDer = new Uint8Array(e.extnValue.buffer);
    }
  } catch {
    // node:crypto already accepted the certificate; an extension we cannot read leaves the profile unknown
  }
  const sitePki = holds(policiesDer, TLV.policy);
  const device = eku.includes(EKU_DEVICE) && holds(ekuDer, TLV.device);
  const technologist = eku.includes(EKU_TECHNOLOGIST) && holds(ekuDer, TLV.technologist);
  let kind: ProfileKind | null = null;
  if (cert.x509.ca && sitePki) kind = 'site-ca';
  else if (device && !technologist) kind = 'device';
  else if (technologist && !device) kind = 'technologist';
  const profile = { kind, sitePki, extendedKeyUsage: eku };
  cache.set(cert, profile);
  return profile;
}

/** The signing role a DICOM signature claims (from its purpose code), as verify names it. */
export type SigningRole = 'device' | 'device-attributes' | 'technologist' | 'other';

const PROFILE_LABEL: Record<ProfileKind, string> = {
  'site-ca': 'the site CA profile',
  device: 'the device profile',
  technologist: 'the technologist profile',
};
const ROLE_LABEL: Record<'device' | 'technologist', string> = {
  device: 'the device (purpose 14, Source)',
  technologist: 'the technologist (purpose 1, Author)',
};

/**
 * Why this certificate may not sign in this role, or null when it may.
 * A radseal-profiled certificate signs only in its own role; a certificate
 * issued by a radseal site CA must carry the profile of the role it signs in.
 * Certificates outside the site PKI (self-signed, other CAs) keep working.
 */
export function profileProblem(cert: CertInfo, role: SigningRole | undefined, anchor: CertInfo | undefined): string | null {
  const p = profileOf(cert);
  if (p.kind === 'site-ca' && role !== undefined) return `certificate of ${cert.commonName} is the site CA's: a CA key issues certificates and never signs images`;
  if (role === undefined || role === 'other') return null;
  const wanted = role === 'technologist' ? 'technologist' : 'device';
  if (p.kind && p.kind !== wanted) return `certificate of ${cert.commonName} has ${PROFILE_LABEL[p.kind]}; it cannot sign as ${ROLE_LABEL[wanted]}`;
  if (!p.kind && anchor && anchor !== cert && profileOf(anchor).kind === 'site-ca') {
    return `certificate of ${cert.commonName} was issued by site CA ${anchor.commonName} without a radseal ${wanted} profile; it cannot sign as ${ROLE_LABEL[wanted]}`;
  }
  return null;
}
