// PACS-side verification of one object: parse, check every signature, decide
// trust, cross-check the capture attestation, and give one verdict with the
// reasons behind it. Never "authentic" unless every check passed.
import { readPart10, DicomFormatError } from '../dicom/reader.js';
import { UID } from '../dicom/uids.js';
import { TAGS } from '../dicom/mac.js';
import { type DataSet, type Element, type Tag, findElement, formatTag, tag } from '../dicom/model.js';
import { checkSignatures, keyDescription, type SignatureCheck } from '../dicom/signatures.js';
import { ATTESTATION_TAGS, readAttestation, type CaptureAttestation } from '../dicom/attestation.js';
import { decodeString, decodeUS } from '../dicom/values.js';
import { decideTrust, type CertInfo, type TrustDecision } from '../keys/certs.js';
import { changedTiles, tileGrid, tileHashes } from '../core/tiles.js';
import { DEFAULT_POLICY, OPERATOR_IDENTIFICATION_SEQUENCE, OPERATORS_NAME, type VerifyPolicy } from './policy.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { verifyTimestamp } from '../keys/timestamp.js';

export type Verdict = 'authentic' | 'tampered' | 'unsigned' | 'untrusted' | 'invalid';

/** Who a signature speaks for, from its purpose code (CID 7007): 14 Source = device, 1 Author = technologist. */
export type SignatureRole = 'device' | 'device-attributes' | 'technologist' | 'other';

export interface SignatureReport {
  algorithm: string;
  purpose: string;
  signer: string;
  valid: boolean;
  trusted: boolean;
  /** Digital Signature DateTime: when the signer's own clock says it signed. */
  time: string | null;
  /** Certified Timestamp (RFC 3161) checked and valid: when a trusted TSA saw the signature. */
  certifiedTime?: string;
  /** Subject of the TSA certificate. */
  certifiedBy?: string;
}

/** Issue 4's detail for each entry of `signatures` (same order; that array keeps issue 2's shape). */
export interface SignatureDetail {
  macId: number;
  role: SignatureRole;
  /** Key size or curve: "Ed25519", "ECDSA-P256", "RSA-2048". */
  key: string;
  macAlgorithm: string | null;
  signedElements: number;
  /** Meets the verify policy (minimum signed set, MAC algorithm). */
  policyOk: boolean;
  /** Why the certificate is (or is not) trusted, in a sentence. */
  trustReason?: string;
  /** Revocation status from the trust bundle's CRL: not-revoked, revoked, not-checked (no CRL applies), unavailable (missing or stale CRL). */
  revocation?: string;
}

export interface TechnologistReport {
  operatorId: string | null;
  operatorsName: string | null;
  /** CN of the co-signing certificate, or null when nobody co-signed. */
  signer: string | null;
  /** Valid, trusted, meets policy and names the operator the object names. */
  accepted: boolean;
}

export interface TamperedTiles {
  /** Tile edge in pixels. */
  size: number;
  /** Tile grid: number of tile rows and columns. */
  rows: number;
  cols: number;
  /** Changed tiles as [tileRow, tileCol]; pixel rows r*size.. and columns c*size.. */
  tiles: [number, number][];
  /**
   * Whether the tile table itself is covered by a valid signature. When the
   * pixels changed, the signatures over the whole object fail, so the table
   * is authenticated only by a valid signature that leaves Pixel Data out.
   */
  tableAuthenticated: boolean;
}

export interface VerifyReport {
  file: string;
  verdict: Verdict;
  reasons: string[];
  signatures: SignatureReport[];
  capture: { deviceId: string; rawSha256: string } | null;
  // Added by issue 4:
  signatureDetails: SignatureDetail[];
  technologist: TechnologistReport | null;
  /** On the lossless path, the tiles whose pixels no longer match the signed tile table. */
  tamperedTiles?: TamperedTiles;
  /** The object was re-encoded after signing (Implicit VR, or private elements turned UN). */
  reencoded?: boolean;
  transferSyntax?: string;
}

const TS_NAMES: Record<string, string> = {
  [UID.explicitVrLittleEndian]: 'Explicit VR Little Endian',
  [UID.implicitVrLittleEndian]: 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian (retired)',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Lossy (Near-Lossless)',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Image Compression (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000 Image Compression',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export function transferSyntaxName(uid: string): string {
  return TS_NAMES[uid] ?? 'unknown transfer syntax';
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);
const PIXEL_DATA = tag(0x7fe0, 0x0010);

const TILE_TABLE = ATTESTATION_TAGS.tileSha256Table;

/**
 * A device Source signature that covers the tile table but not Pixel Data
 * authenticates the attributes alone: it stays valid when only pixels were
 * edited, so the changed tiles it names can be trusted. It never vouches for an image.
 */
function roleOf(check: SignatureCheck): SignatureRole {
  if (check.purposeCode === '14' && !check.signedTags.includes(PIXEL_DATA) && check.signedTags.includes(TILE_TABLE)) return 'device-attributes';
  if (check.purposeCode === '14') return 'device';
  if (check.purposeCode === '1') return 'technologist';
  return 'other';
}

/** Operator identifier from Operator Identification Sequence > Person Identification Code Sequence > Code Value. */
export function operatorIdOf(ds: DataSet): string | undefined {
  const item = findElement(ds, OPERATOR_IDENTIFICATION_SEQUENCE)?.items?.[0];
  const code = item ? findElement(item, tag(0x0040, 0x1101))?.items?.[0] : undefined;
  const v = code ? decodeString(findElement(code, tag(0x0008, 0x0100))?.value) : '';
  return v || undefined;
}

function holdsUN(el: Element): boolean {
  return el.vr === 'UN' || (el.items ?? []).some((item) => item.some(holdsUN));
}

export function verifyBytes(file: string, bytes: Uint8Array, trustSet: CertInfo[], policy: VerifyPolicy = DEFAULT_POLICY): VerifyReport {
  const report: VerifyReport = { file, verdict: 'invalid', reasons: [], signatures: [], capture: null, signatureDetails: [], technologist: null };
  let parsed;
  try {
    parsed = readPart10(bytes);
  } catch (err) {
    if (!(err instanceof DicomFormatError)) throw err;
    report.reasons.push(err.message);
    return report;
  }
  const { dataSet } = parsed;
  report.transferSyntax = parsed.transferSyntaxUid;
  const signed = (findElement(dataSet, TAGS.digitalSignaturesSequence)?.items?.length ?? 0) > 0;
  const attestation = readAttestation(dataSet);
  if (attestation) report.capture = { deviceId: attestation.deviceId, rawSha256: hex(attestation.rawFrameSha256) };
  if (parsed.transferSyntaxUid !== UID.explicitVrLittleEndian) {
    const name = transferSyntaxName(parsed.transferSyntaxUid);
    if (!signed) {
      report.verdict = 'unsigned';
      report.reasons.push(`no Digital Signatures Sequence (transfer syntax ${parsed.transferSyntaxUid}, ${name})`);
      return report;
    }
    if (parsed.explicitVr) {
      report.reasons.push(`unsupported transfer syntax ${parsed.transferSyntaxUid} (${name}): the object was re-encoded after signing; radseal verifies Explicit VR Little Endian objects with native pixel data, as sealed`);
    } else {
      report.reencoded = true;
      report.reasons.push(`re-encoded: the object was converted to ${name} (${parsed.transferSyntaxUid}) after signing: private attributes became UN, which the DICOM MAC rules exclude, so the signature cannot be checked; retrieve the original Explicit VR Little Endian file`);
    }
    return report;
  }
  if (!signed) {
    report.verdict = 'unsigned';
    report.reasons.push('no Digital Signatures Sequence (FFFA,FFFA): the object carries no signature');
    return report;
  }

  const checks = checkSignatures(dataSet);
  const operatorId = operatorIdOf(dataSet);
  let anyInvalid = false;
  let badTimestamp = false;
  let deviceVouches = false;
  let techAccepted = false;
  let techSigner: string | null = null;
  for (const check of checks) {
    const role = roleOf(check);
    const trust = trustOf(check, trustSet, role);
    const policyProblems = policyProblemsOf(check, policy, role);
    const cn = check.certificate?.commonName;
    report.signatures.push({
      algorithm: check.algorithm,
      purpose: check.purpose ?? (check.purposeCode ? `code ${check.purposeCode}` : 'unspecified'),
      signer: cn ?? 'unknown',
      valid: check.valid,
      trusted: trust.trusted,
      time: check.time ? check.time.toISOString() : null,
    });
    report.signatureDetails.push({
      macId: check.macId,
      role,
      key: check.certificate ? keyDescription(check.certificate) : 'unknown',
      macAlgorithm: check.macAlgorithm ?? null,
      signedElements: check.signedTags.length,
      policyOk: policyProblems.length === 0,
      trustReason: trust.reason,
      ...(trust.revocation ? { revocation: trust.revocation } : {}),
    });
    const who = `signature ${check.macId} (${check.algorithm}, ${cn ?? 'unknown signer'})`;
    for (const p of check.problems) report.reasons.push(`${who}: ${p}`);
    if (check.certifiedTimestamp && !timestampAccepted(check, trustSet, report.signatures[report.signatures.length - 1]!, who, report.reasons)) badTimestamp = true;
    if (role === 'technologist') techSigner ??= cn ?? 'unknown';
    if (!check.valid) {
      anyInvalid = true;
      continue;
    }
    if (!trust.trusted) report.reasons.push(`${who}: ${trust.reason}`);
    else if (trust.note) report.reasons.push(`${who}: ${trust.note}`);
    if (role !== 'device-attributes') for (const p of policyProblems) report.reasons.push(`${who}: ${p}`);
    const acceptable = trust.trusted && policyProblems.length === 0;
    if (role === 'device' && acceptable) {
      if (attestation && cn !== attestation.deviceId) {
        report.reasons.push(`${who}: source signature by "${cn}" but the capture attestation names device "${attestation.deviceId}"`);
      } else {
        deviceVouches = true;
      }
    }
    if (role === 'technologist' && acceptable) {
      if (cn !== operatorId) {
        report.reasons.push(`${who}: technologist certificate "${cn}" does not match the operator identifier "${operatorId ?? '(none)'}" in Operator Identification Sequence`);
      } else {
        techAccepted = true;
        techSigner = cn ?? null;
      }
    }
  }
  const operatorsName = decodeString(findElement(dataSet, OPERATORS_NAME)?.value) || null;
  if (techSigner || operatorId) report.technologist = { operatorId: operatorId ?? null, operatorsName, signer: techSigner, accepted: techAccepted };

  // Private attributes turned UN by a round trip through Implicit VR: say so plainly.
  const unSigned = new Set(checks.flatMap((c) => c.signedTags));
  const turnedUn = dataSet.filter((e) => unSigned.has(e.tag) && holdsUN(e)).map((e) => formatTag(e.tag));
  if (turnedUn.length && anyInvalid) {
    report.reencoded = true;
    report.reasons.unshift(`re-encoded: signed elements ${turnedUn.slice(0, 8).join(', ')}${turnedUn.length > 8 ? ', ...' : ''} are now UN (the object went through Implicit VR and lost their VRs), which the DICOM MAC rules exclude, so the signature cannot be checked; retrieve the original file`);
  }

  // The attestation's own hash of Pixel Data names the pixels as the changed part.
  const pixelsChanged = attestation ? checkPixels(dataSet, attestation, checks, trustSet, report) : false;
  if (!attestation) report.reasons.push('no radseal capture attestation in the object');

  if (pixelsChanged) report.verdict = 'tampered';
  else if (report.reencoded) report.verdict = 'invalid';
  else if (anyInvalid) report.verdict = 'tampered';
  else if (!attestation || !deviceVouches) {
    report.verdict = 'untrusted';
    if (attestation && !checks.some((c) => roleOf(c) === 'device')) report.reasons.push('no device Source signature (purpose code 14)');
  } else if (policy.requireTechnologistSignature && !techAccepted) {
    report.verdict = 'untrusted';
    report.reasons.push(techSigner ? 'the technologist co-signature is not accepted (see above); policy requires one' : 'no technologist co-signature (purpose code 1, Author); policy requires one');
  } else if (badTimestamp) {
    // The image checks out, but evidence attached to it does not: never "authentic" with a bad part.
    report.verdict = 'invalid';
  } else report.verdict = 'authentic';
  return report;
}

/** Beyond this, a signer's clock and the certified time disagree enough to say so. */
const CLOCK_SKEW_NOTE_MS = 5 * 60 * 1000;

/**
 * Checks a signature's Certified Timestamp against the trust set (the TSA's certificate, or its
 * issuer, must be in it). Valid: the certified time goes into the report. Not valid: the reason.
 */
function timestampAccepted(check: SignatureCheck, trustSet: CertInfo[], out: SignatureReport, who: string, reasons: string[]): boolean {
  const ts = check.certifiedTimestamp!;
  if (ts.type !== 'CMS_TSP') {
    reasons.push(`${who}: certified timestamp of type "${ts.type}" (radseal checks CMS_TSP, RFC 3161)`);
    return false;
  }
  if (!check.signature) return false; // already reported as a signature problem
  const r = verifyTimestamp(ts.token, check.signature, trustSet.map((c) => c.x509));
  if (!r.valid) {
    reasons.push(`${who}: certified timestamp not valid: ${r.problems.join('; ')}`);
    return false;
  }
  out.certifiedTime = r.time!.toISOString();
  out.certifiedBy = r.tsa;
  if (check.time && Math.abs(check.time.getTime() - r.time!.getTime()) > CLOCK_SKEW_NOTE_MS) {
    reasons.push(`${who}: the signer's clock (${check.time.toISOString()}) differs from the certified time (${out.certifiedTime}) by ${Math.round(Math.abs(check.time.getTime() - r.time!.getTime()) / 1000)} s`);
  }
  return true;
}

/** Compares Pixel Data with the attestation's hash and, when it differs, names the changed tiles. */
function checkPixels(ds: DataSet, attestation: CaptureAttestation, checks: SignatureCheck[], trustSet: CertInfo[], report: VerifyReport): boolean {
  const pixels = findElement(ds, PIXEL_DATA)?.value;
  // node:crypto (OpenSSL, SHA-NI where the CPU has it) rather than the core: verification runs on
  // PACS servers, not on the capture device, and a second implementation checks the core's hash.
  if (!pixels || equalBytes(new Uint8Array(createHash('sha256').update(pixels).digest()), attestation.pixelDataSha256)) return false;
  report.reasons.push('Pixel Data does not match the pixel hash in the capture attestation: the image was changed');
  const t = attestation.tiles;
  const rows = decodeUS(findElement(ds, tag(0x0028, 0x0010))?.value) ?? 0;
  const cols = decodeUS(findElement(ds, tag(0x0028, 0x0011))?.value) ?? 0;
  const bits = decodeUS(findElement(ds, tag(0x0028, 0x0100))?.value) ?? 0;
  if (!t) return true;
  const grid = tileGrid(rows, cols, t.size);
  if (bits !== 16 || pixels.length !== rows * cols * 2 || t.hashes.length < grid.rows * grid.cols * 32) {
    report.reasons.push('the tile hash table does not fit the image geometry any more; changed tiles cannot be named');
    return true;
  }
  const tiles = changedTiles(t.hashes, tileHashes(pixels, rows, cols, t.size), grid);
  const tableAuthenticated = checks.some((c) => c.valid && roleOf(c) === 'device-attributes' && trustOf(c, trustSet, 'device-attributes').trusted
    && c.certificate?.commonName === attestation.deviceId);
  report.tamperedTiles = { size: t.size, rows: grid.rows, cols: grid.cols, tiles, tableAuthenticated };
  const list = tiles.slice(0, 12).map(([r, c]) => `[${r},${c}]`).join(' ');
  report.reasons.push(`${tiles.length} of ${grid.rows * grid.cols} tiles (${t.size}x${t.size} px) changed: ${list}${tiles.length > 12 ? ' ...' : ''}`);
  return true;
}

/** Trust in the signer at the signature's date: chain, validity, certificate profile vs the role signed in, revocation (trust bundle CRLs). */
function trustOf(check: SignatureCheck, trustSet: CertInfo[], role: SignatureRole): TrustDecision {
  if (!check.certificate) return { trusted: false, reason: 'no usable certificate' };
  return decideTrust(check.certificate, trustSet, check.time ?? new Date(), { role, signedAt: check.time ?? null });
}

function policyProblemsOf(check: SignatureCheck, policy: VerifyPolicy, role: SignatureRole): string[] {
  const problems: string[] = [];
  if (!policy.acceptedMacAlgorithms.includes(check.macAlgorithm ?? '')) {
    problems.push(`MAC algorithm ${check.macAlgorithm} is not accepted by policy (${policy.acceptedMacAlgorithms.join(', ')})`);
  }
  const signed = new Set<Tag>(check.signedTags);
  const required = role === 'technologist' ? [...policy.requiredSignedTags, ...policy.technologistSignedTags] : policy.requiredSignedTags;
  for (const req of required) {
    if (!signed.has(req.tag)) problems.push(`does not cover ${req.name} ${formatTag(req.tag)}, required by policy`);
  }
  return problems;
}
