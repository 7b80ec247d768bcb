// PACS-side verification of one object: parse, check every signature, decide
// trust, cross-check the capture attestation, and give one verdict with the
// reasons behind it. Never "authentic" unless every check passed.
import { readPart10, DicomFormatError } from '../dicom/reader.js';
import { UID } from '../dicom/uids.js';
import { TAGS } from '../dicom/mac.js';
import { findElement, formatTag, tag } from '../dicom/model.js';
import { checkSignatures, type SignatureCheck } from '../dicom/signatures.js';
import { readAttestation } from '../dicom/attestation.js';
import { decideTrust, type CertInfo } from '../keys/certs.js';
import { sha256 } from '../core/hash.js';
import { DEFAULT_POLICY, type VerifyPolicy } from './policy.js';
import { timingSafeEqual } from 'node:crypto';

export type Verdict = 'authentic' | 'tampered' | 'unsigned' | 'untrusted' | 'invalid';

export interface SignatureReport {
  algorithm: string;
  purpose: string;
  signer: string;
  valid: boolean;
  trusted: boolean;
  time: string | null;
}

export interface VerifyReport {
  file: string;
  verdict: Verdict;
  reasons: string[];
  signatures: SignatureReport[];
  capture: { deviceId: string; rawSha256: string } | null;
}

const TS_NAMES: Record<string, string> = {
  [UID.implicitVrLittleEndian]: 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian (retired)',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);

export function verifyBytes(file: string, bytes: Uint8Array, trustSet: CertInfo[], policy: VerifyPolicy = DEFAULT_POLICY): VerifyReport {
  const report: VerifyReport = { file, verdict: 'invalid', reasons: [], signatures: [], capture: null };
  let parsed;
  try {
    parsed = readPart10(bytes);
  } catch (err) {
    if (!(err instanceof DicomFormatError)) throw err;
    report.reasons.push(err.message);
    return report;
  }
  const { dataSet } = parsed;
  const signed = (findElement(dataSet, TAGS.digitalSignaturesSequence)?.items?.length ?? 0) > 0;
  if (parsed.transferSyntaxUid !== UID.explicitVrLittleEndian) {
    const name = TS_NAMES[parsed.transferSyntaxUid] ?? 'unknown';
    if (!signed) {
      report.verdict = 'unsigned';
      report.reasons.push(`no Digital Signatures Sequence (transfer syntax ${parsed.transferSyntaxUid}, ${name})`);
      return report;
    }
    report.reasons.push(parsed.explicitVr
      ? `unsupported transfer syntax ${parsed.transferSyntaxUid} (${name}); radseal verifies Explicit VR Little Endian objects`
      : `the object was re-encoded as ${name} after signing: private attributes became UN, which the DICOM MAC rules exclude, so the signature cannot be checked; retrieve the original Explicit VR Little Endian file`);
    return report;
  }
  const attestation = readAttestation(dataSet);
  if (attestation) report.capture = { deviceId: attestation.deviceId, rawSha256: hex(attestation.rawFrameSha256) };
  if (!signed) {
    report.verdict = 'unsigned';
    report.reasons.push('no Digital Signatures Sequence (FFFA,FFFA): the object carries no signature');
    return report;
  }

  const checks = checkSignatures(dataSet);
  let anyInvalid = false;
  let vouching = 0;
  for (const check of checks) {
    const trust = trustOf(check, trustSet);
    const policyProblems = policyProblemsOf(check, policy);
    report.signatures.push({
      algorithm: check.algorithm,
      purpose: check.purpose ?? (check.purposeCode ? `code ${check.purposeCode}` : 'unspecified'),
      signer: check.certificate?.commonName ?? 'unknown',
      valid: check.valid,
      trusted: trust.trusted,
      time: check.time ? check.time.toISOString() : null,
    });
    const who = `signature ${check.macId} (${check.certificate?.commonName ?? 'unknown signer'})`;
    for (const p of check.problems) report.reasons.push(`${who}: ${p}`);
    if (!check.valid) {
      anyInvalid = true;
      continue;
    }
    if (!trust.trusted) report.reasons.push(`${who}: ${trust.reason}`);
    for (const p of policyProblems) report.reasons.push(`${who}: ${p}`);
    if (trust.trusted && policyProblems.length === 0) vouching++;
  }

  // The attestation's own hash of Pixel Data names the pixels as the changed part.
  const pixels = findElement(dataSet, tag(0x7fe0, 0x0010))?.value;
  if (attestation && pixels && !equalBytes(sha256(pixels), attestation.pixelDataSha256)) {
    anyInvalid = true;
    report.reasons.push('Pixel Data does not match the pixel hash in the capture attestation: the image was changed');
  }
  if (attestation) {
    for (const check of checks) {
      const cn = check.certificate?.commonName;
      if (check.valid && check.purposeCode === '14' && cn && cn !== attestation.deviceId) {
        vouching = 0;
        report.reasons.push(`source signature by "${cn}" but the capture attestation names device "${attestation.deviceId}"`);
      }
    }
  } else {
    report.reasons.push('no radseal capture attestation in the object');
  }

  if (anyInvalid) report.verdict = 'tampered';
  else if (vouching > 0 && attestation) report.verdict = 'authentic';
  else report.verdict = 'untrusted';
  return report;
}

function trustOf(check: SignatureCheck, trustSet: CertInfo[]): { trusted: boolean; reason: string } {
  if (!check.certificate) return { trusted: false, reason: 'no usable certificate' };
  return decideTrust(check.certificate, trustSet, check.time ?? new Date());
}

function policyProblemsOf(check: SignatureCheck, policy: VerifyPolicy): string[] {
  const problems: string[] = [];
  if (!policy.acceptedMacAlgorithms.includes(check.macAlgorithm ?? '')) {
    problems.push(`MAC algorithm ${check.macAlgorithm} is not accepted by policy (${policy.acceptedMacAlgorithms.join(', ')})`);
  }
  const signed = new Set(check.signedTags);
  for (const req of policy.requiredSignedTags) {
    if (!signed.has(req.tag)) problems.push(`does not cover ${req.name} ${formatTag(req.tag)}, required by policy`);
  }
  return problems;
}
