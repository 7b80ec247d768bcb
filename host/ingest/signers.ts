// Each signature of an object judged on its own: its role (from the purpose
// code), whether it matches the data, whether its certified timestamp holds,
// whether its signer is trusted in that role at a time the evidence supports,
// and whether it meets the policy. verify.ts combines these into one verdict.
import { type Tag, formatTag, PIXEL_DATA } from '../dicom/model.js';
import { type SignatureCheck, keyDescription } from '../dicom/signatures.js';
import { attestationBlocksListed, attestationTags, CAPTURE_BLOCK, type AttestationBlock } from '../dicom/attestation.js';
import { alteredCertificate, decideTrust, type CertInfo, type TrustDecision } from '../keys/certs.js';
import { loadOnUse } from '../io/load-on-use.js';
import { requiredTagsAt, type VerifyPolicy } from './policy.js';
import type { SignatureReport, SignatureRole } from './verify-report.js';


/** The RFC 3161 checker and its CMS library: loaded only for a signature that carries a certified timestamp. */
const timestamps = loadOnUse<typeof import('../keys/timestamp.js')>(import.meta.url, '../keys/timestamp.js');

/** Beyond this, a signer's clock and the certified time disagree enough to say so. */
const CLOCK_SKEW_NOTE_MS = 5 * 60 * 1000;

export interface SignatureEvaluation {
  check: SignatureCheck;
  report: SignatureReport;
  role: SignatureRole;
  /** Valid, trusted in its role, and within policy: it may vouch. */
  acceptable: boolean;
  /** A certified timestamp is attached and does not hold. */
  badTimestamp: boolean;
  /** The Certificate of Signer does not verify under its known issuer: changed after signing. */
  alteredCertificate: boolean;
  /** Sentences for the object's reasons, each naming the signature. */
  reasons: string[];
}

/**
 * Where the capture attestation a signature is judged against lies: `at`, the block the data set
 * holds it in (attestation.ts locateAttestation), when the caller knows it; else the blocks the
 * signature lists a radseal creator and device id for ((0009,0010) when none).
 */
function attestationBlocks(check: SignatureCheck, at?: AttestationBlock): AttestationBlock[] {
  if (at) return [at];
  const listed = attestationBlocksListed(check.signedTags);
  return listed.length ? listed : [CAPTURE_BLOCK];
}

/**
 * A device Source signature that covers the tile table but not Pixel Data authenticates
 * the attributes alone: it stays valid when only pixels were edited, so the changed tiles
 * it names can be trusted. It never vouches for an image.
 */
export function roleOf(check: SignatureCheck, attestationAt?: AttestationBlock): SignatureRole {
  switch (check.purposeCode) {
    case '14':
      return !check.signedTags.includes(PIXEL_DATA) && attestationBlocks(check, attestationAt).some((b) => check.signedTags.includes(attestationTags(b).tileSha256Table))
        ? 'device-attributes' : 'device';
    case '1':
      return 'technologist';
    case '5':
    case '13':
      return 'pacs';
    default:
      return 'other';
  }
}

/** `attestationAt`: the block the data set holds its attestation in, when known (see attestationBlocks). */
export function evaluateSignature(check: SignatureCheck, trustSet: CertInfo[], policy: VerifyPolicy, now: Date, attestationAt?: AttestationBlock): SignatureEvaluation {
  const role = roleOf(check, attestationAt);
  const cn = check.certificate?.commonName;
  const who = `signature ${check.macId} (${check.algorithm}, ${cn ?? 'unknown signer'})`;
  const reasons = check.problems.map((p) => `${who}: ${p}`);
  const report: SignatureReport = {
    macId: check.macId,
    role,
    algorithm: check.algorithm,
    key: check.certificate ? keyDescription(check.certificate) : 'unknown',
    purpose: check.purpose ?? (check.purposeCode ? `code ${check.purposeCode}` : 'unspecified'),
    signer: cn ?? 'unknown',
    valid: check.valid,
    trusted: false,
    time: check.time ? check.time.toISOString() : null,
    macAlgorithm: check.macAlgorithm ?? null,
    signedElements: check.signedTags.length,
    policyOk: false,
  };
  const certified = check.certifiedTimestamp ? certifiedTimeOf(check, trustSet, report, who, reasons) : undefined;
  const badTimestamp = certified === null;
  const trust = trustOf(check, trustSet, role, certified ?? undefined, now);
  report.trusted = trust.trusted;
  report.trustReason = trust.reason;
  if (trust.revocation) report.revocation = trust.revocation;
  const policyProblems = policyProblemsOf(check, policy, role, attestationBlocks(check, attestationAt));
  report.policyOk = policyProblems.length === 0;
  const altered = check.valid && !trust.trusted && check.certificate ? alteredCertificate(check.certificate, trustSet) : undefined;
  if (altered) reasons.push(`${who}: ${altered}`);
  if (check.valid) {
    if (!trust.trusted) reasons.push(`${who}: ${trust.reason}`);
    else if (trust.note) reasons.push(`${who}: ${trust.note}`);
    if (role !== 'device-attributes') for (const p of policyProblems) reasons.push(`${who}: ${p}`);
  }
  return { check, report, role, acceptable: check.valid && trust.trusted && report.policyOk, badTimestamp, alteredCertificate: !!altered, reasons };
}

/**
 * The certified time of a signature's RFC 3161 token when it checks out against the trust
 * set (the TSA's certificate, or its issuer, must be in it); null when the token does not hold.
 */
function certifiedTimeOf(check: SignatureCheck, trustSet: CertInfo[], out: SignatureReport, who: string, reasons: string[]): Date | null {
  const ts = check.certifiedTimestamp!;
  if (ts.type !== 'CMS_TSP') {
    reasons.push(`${who}: certified timestamp of type "${ts.type}" (radseal checks CMS_TSP, RFC 3161)`);
    return null;
  }
  if (!check.signature) return null; // already reported as a signature problem
  const r = timestamps().verifyTimestamp(ts.token, check.signature, trustSet.map((c) => c.x509));
  if (!r.valid || !r.time) {
    reasons.push(`${who}: certified timestamp not valid: ${r.problems.join('; ')}`);
    return null;
  }
  out.certifiedTime = r.time.toISOString();
  out.certifiedBy = r.tsa;
  if (check.time && Math.abs(check.time.getTime() - r.time.getTime()) > CLOCK_SKEW_NOTE_MS) {
    reasons.push(`${who}: the signer's clock (${check.time.toISOString()}) differs from the certified time (${out.certifiedTime}) by ${Math.round(Math.abs(check.time.getTime() - r.time.getTime()) / 1000)} s`);
  }
  return r.time;
}

/** Trust in the signer in its role, at the time the evidence supports: chain, validity, profile, revocation. */
function trustOf(check: SignatureCheck, trustSet: CertInfo[], role: SignatureRole, certifiedTime: Date | undefined, now: Date): TrustDecision {
  if (!check.certificate) return { trusted: false, reason: 'no usable certificate' };
  const when = certifiedTime ?? check.time ?? now;
  return decideTrust(check.certificate, trustSet, when, { role, signedAt: check.time ?? null, certifiedTime, now });
}

function policyProblemsOf(check: SignatureCheck, policy: VerifyPolicy, role: SignatureRole, blocks: AttestationBlock[]): string[] {
  const problems: string[] = [];
  if (!policy.acceptedMacAlgorithms.includes(check.macAlgorithm ?? '')) {
    problems.push(`MAC algorithm ${check.macAlgorithm} is not accepted by policy (${policy.acceptedMacAlgorithms.join(', ')})`);
  }
  const signed = new Set<Tag>(check.signedTags);
  const required = role === 'technologist' ? [...policy.requiredSignedTags, ...policy.technologistSignedTags] : policy.requiredSignedTags;
  // The attestation's required elements at the block it covers whole (the first candidate's missing ones are named).
  const uncovered = blocks.map((b) => requiredTagsAt(required, b).filter((req) => !signed.has(req.tag)));
  for (const req of uncovered.find((u) => u.length === 0) ?? uncovered[0]!) {
    problems.push(`does not cover ${req.name} ${formatTag(req.tag)}, required by policy`);
  }
  return problems;
}
