// Certificate profiles: which role a certificate may sign DICOM objects in.
// The role comes from the certificate itself, through an extended key usage
// purpose (and an OU people can read), never from being in the trust bundle:
// a device certificate signs as the device (purpose 14 Source), a technologist
// certificate as the author (purpose 1), a PACS signer certificate as the PACS
// (purposes 5 Verification / 13 Review, reconciliation signatures); a CA or a
// time-stamping authority never signs objects at all.
//
// The OIDs live under a UUID-derived arc (ITU-T X.667: 2.25.<128-bit UUID as
// an integer>), which needs no registration and cannot collide.
import { certificateExtension } from '../der.js';
import type { CertInfo } from '../certs.js';

/** 2.25 + UUID 63244015-b21e-4b8c-ac18-28c193cd44a3: radseal's OID arc. */
export const RADSEAL_ARC = '2.25.131781794062744928013781171960929928355';
/** Certificate policy: "issued under a radseal site PKI, profile v1"; carried by the site CA and every certificate it issues. */
export const POLICY_SITE_PKI_V1 = `${RADSEAL_ARC}.1.1`;
/** Extended key usage: signs DICOM objects as the capturing device (Source, CID 7007 code 14). */
export const EKU_DEVICE = `${RADSEAL_ARC}.2.1`;
/** Extended key usage: co-signs DICOM objects as the technologist (Author, CID 7007 code 1). */
export const EKU_TECHNOLOGIST = `${RADSEAL_ARC}.2.2`;
/** Extended key usage: signs reconciliation changes as the PACS (Verification 5 / Review 13, CID 7007). */
export const EKU_PACS = `${RADSEAL_ARC}.2.3`;
/** RFC 5280 id-kp-timeStamping: a time-stamping authority's certificate. */
export const EKU_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

export const OU_SITE_CA = 'radseal site CA';
export const OU_DEVICE = 'radseal device';
export const OU_TECHNOLOGIST = 'radseal technologist';
export const OU_PACS = 'radseal PACS';

/** A role a radseal certificate is made for: the signer kinds the site CA issues. */
export type SignerKind = 'device' | 'technologist' | 'pacs';
export type ProfileKind = 'site-ca' | SignerKind;

/** The role extended key usage of each signer kind. */
export const SIGNER_EKU: Record<SignerKind, string> = { device: EKU_DEVICE, technologist: EKU_TECHNOLOGIST, pacs: EKU_PACS };
/** The OU the site CA writes into each signer kind's subject. */
export const SIGNER_OU: Record<SignerKind, string> = { device: OU_DEVICE, technologist: OU_TECHNOLOGIST, pacs: OU_PACS };

export interface Profile {
  /** The radseal profile: the site CA, or the one signer kind whose EKU the certificate carries; null otherwise. */
  kind: ProfileKind | null;
  /** Every radseal role EKU the certificate carries (more than one makes it sign in none of them). */
  signerKinds: SignerKind[];
  /** basicConstraints cA: a CA certificate, which never signs objects. */
  ca: boolean;
  /** Carries id-kp-timeStamping: a TSA certificate, which never signs objects. */
  timeStamping: boolean;
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
const SIGNER_TLV = Object.fromEntries(Object.entries(SIGNER_EKU).map(([k, oid]) => [k, oidTlv(oid)])) as Record<SignerKind, Uint8Array>;
const POLICY_TLV = oidTlv(POLICY_SITE_PKI_V1);

const cache = new WeakMap<CertInfo, Profile>();

const EXTENDED_KEY_USAGE_TLV = oidTlv('2.5.29.37');
const CERTIFICATE_POLICIES_TLV = oidTlv('2.5.29.32');

/** Reads the profile from the certificate's extensions (cached per parsed certificate). */
export function profileOf(cert: CertInfo): Profile {
  const hit = cache.get(cert);
  if (hit) return hit;
  // Extended key usage as OpenSSL decodes it (node:crypto), and the radseal OIDs matched by their DER bytes too.
  const eku = cert.x509.keyUsage ?? [];
  let ekuDer: Uint8Array = new Uint8Array(0);
  let policiesDer: Uint8Array = new Uint8Array(0);
  try {
    // Read by hand (der.ts): an ASN.1 library would cost more to load than verifying a small object.
    ekuDer = certificateExtension(cert.der, EXTENDED_KEY_USAGE_TLV) ?? ekuDer;
    policiesDer = certificateExtension(cert.der, CERTIFICATE_POLICIES_TLV) ?? policiesDer;
  } catch {
    // node:crypto already accepted the certificate; an extension we cannot read leaves the profile unknown
  }
  const sitePki = holds(policiesDer, POLICY_TLV);
  const signerKinds = (Object.keys(SIGNER_EKU) as SignerKind[]).filter((k) => eku.includes(SIGNER_EKU[k]) && holds(ekuDer, SIGNER_TLV[k]));
  const ca = cert.x509.ca;
  let kind: ProfileKind | null = null;
  if (ca && sitePki) kind = 'site-ca';
  else if (!ca && signerKinds.length === 1) kind = signerKinds[0]!;
  const profile: Profile = { kind, signerKinds, ca, timeStamping: eku.includes(EKU_TIME_STAMPING), sitePki, extendedKeyUsage: eku };
  cache.set(cert, profile);
  return profile;
}

/**
 * The role a DICOM signature claims (from its purpose code), as verify names it:
 * 14 Source = device (device-attributes when it leaves Pixel Data out), 1 Author =
 * technologist, 5 Verification / 13 Review = pacs, anything else = other (a valid
 * signature that vouches for nothing).
 */
export type SigningRole = 'device' | 'device-attributes' | 'technologist' | 'pacs' | 'other';

const KIND_OF_ROLE: Record<Exclude<SigningRole, 'other'>, SignerKind> = {
  device: 'device', 'device-attributes': 'device', technologist: 'technologist', pacs: 'pacs',
};
const PROFILE_LABEL: Record<ProfileKind, string> = {
  'site-ca': 'the site CA profile',
  device: 'the device profile',
  technologist: 'the technologist profile',
  pacs: 'the PACS signer profile',
};
const ROLE_LABEL: Record<SignerKind, string> = {
  device: 'the device (purpose 14, Source)',
  technologist: 'the technologist (purpose 1, Author)',
  pacs: 'the PACS (purpose 5 Verification or 13 Review)',
};

const MADE_BY: Record<SignerKind, string> = {
  device: '"radseal keygen" or "radseal pki issue-device"',
  technologist: '"radseal keygen --technologist" or "radseal pki issue-technologist"',
  pacs: '"radseal pki issue-pacs"',
};

/** The signer kind a signing role needs, or null for 'other' (which vouches for nothing). */
export function kindForRole(role: SigningRole): SignerKind | null {
  return role === 'other' ? null : KIND_OF_ROLE[role];
}

/**
 * Why this certificate may not sign in this role, or null when it may. One rule
 * for every certificate, CA-issued or pinned: a CA or TSA certificate never signs
 * objects; signing as the device, technologist or PACS needs that role's EKU (and
 * no other radseal role EKU); a certificate without any radseal role EKU (a
 * DCMTK RSA certificate, say) signs only in role 'other'. No role given = 'other'.
 */
export function profileProblem(cert: CertInfo, role: SigningRole | undefined, anchor: CertInfo | undefined): string | null {
  const p = profileOf(cert);
  const who = `certificate of ${cert.commonName}`;
  if (p.kind === 'site-ca') return `${who} is the site CA's: a CA key issues certificates and never signs images`;
  if (p.ca) return `${who} is a CA certificate (basicConstraints cA): a CA key issues certificates and never signs images`;
  if (p.timeStamping) return `${who} is a time-stamping authority's (extended key usage timeStamping): it certifies times and never signs images`;
  const wanted = kindForRole(role ?? 'other');
  if (!wanted) return null;
  if (p.kind === wanted) return null;
  if (p.signerKinds.length > 1) return `${who} carries several radseal roles (${p.signerKinds.join(', ')}); a certificate signs in one role only, so it cannot sign as ${ROLE_LABEL[wanted]}`;
  if (p.kind) return `${who} has ${PROFILE_LABEL[p.kind]}; it cannot sign as ${ROLE_LABEL[wanted]}`;
  if (anchor && anchor !== cert && profileOf(anchor).kind === 'site-ca') {
    return `${who} was issued by site CA ${anchor.commonName} without a radseal ${wanted} profile; it cannot sign as ${ROLE_LABEL[wanted]}`;
  }
  return `${who} carries no radseal ${wanted} role (extended key usage ${SIGNER_EKU[wanted]}); it cannot sign as ${ROLE_LABEL[wanted]}, whatever trust file holds it (${MADE_BY[wanted]} makes such certificates)`;
}
