// Certificate profiles of the radseal site PKI. A certificate says which kind
// of signer it is through an extended key usage purpose (and an OU people can
// read); verify enforces that a device certificate signs only as the device
// (purpose 14 Source) and a technologist certificate only as the author
// (purpose 1), and that a radseal site CA never signs objects itself.
//
// The OIDs live under a UUID-derived arc (ITU-T X.667: 2.25.<128-bit UUID as
// an integer>), which needs no registration and cannot collide.
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Certificate, CertificatePolicies, ExtendedKeyUsage, id_ce_certificatePolicies, id_ce_extKeyUsage,
} from '@peculiar/asn1-x509';
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

const cache = new WeakMap<CertInfo, Profile>();

/** Reads the profile from the certificate's extensions (cached per parsed certificate). */
export function profileOf(cert: CertInfo): Profile {
  const hit = cache.get(cert);
  if (hit) return hit;
  let eku: string[] = [];
  let policies: string[] = [];
  try {
    const c = AsnConvert.parse(cert.der, Certificate);
    for (const e of c.tbsCertificate.extensions ?? []) {
      if (e.extnID === id_ce_extKeyUsage) eku = [...AsnConvert.parse(e.extnValue, ExtendedKeyUsage)];
      if (e.extnID === id_ce_certificatePolicies) policies = AsnConvert.parse(e.extnValue, CertificatePolicies).map((p) => p.policyIdentifier);
    }
  } catch {
    // node:crypto already accepted the certificate; an extension we cannot read leaves the profile unknown
  }
  const sitePki = policies.includes(POLICY_SITE_PKI_V1);
  let kind: ProfileKind | null = null;
  if (cert.x509.ca && sitePki) kind = 'site-ca';
  else if (eku.includes(EKU_DEVICE) && !eku.includes(EKU_TECHNOLOGIST)) kind = 'device';
  else if (eku.includes(EKU_TECHNOLOGIST) && !eku.includes(EKU_DEVICE)) kind = 'technologist';
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
