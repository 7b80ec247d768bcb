// PACS-side verification of one object, in one pass and one decision: parse
// exactly as DCMTK would, check every signature, decide trust, check that every
// element is covered by a vouching signature, cross-check the capture
// attestation (and the site watermark), and give one verdict with the reasons.
// Never "authentic" unless every check passed; never an exception: whatever the
// bytes, the caller gets a report.
import { readPart10, DicomFormatError, DEFAULT_READ_LIMITS, type ParsedFile, type ReadLimits } from '../dicom/reader.js';
import { UID } from '../dicom/uids.js';
import { TAGS, holdsUN } from '../dicom/mac.js';
import { type DataSet, type Element, type Tag, findElement, formatTag, tag, PIXEL_DATA } from '../dicom/model.js';
import { checkSignatures, envelopeProblems } from '../dicom/signatures.js';
import { attestationTags, locateAttestation, readAttestation, type AttestationBlock, type CaptureAttestation } from '../dicom/attestation.js';
import { decodeString } from '../dicom/values.js';
import type { CertInfo } from '../keys/certs.js';
import { DEFAULT_POLICY, OPERATOR_IDENTIFICATION_SEQUENCE, OPERATORS_NAME, type VerifyPolicy } from './policy.js';
import { evaluateSignature, type SignatureEvaluation } from './signers.js';
import { metaProblems, uncoveredElements, uncoveredReason } from './coverage.js';
import { captureSummary, checkPixels } from './pixels.js';
import { ENCAPSULATED_SYNTAXES, EXPLICIT_VR_BIG_ENDIAN, isExplicitLittleEndianDataSet, transferSyntaxName } from '../dicom/transfer-syntax.js';
import { loadOnUse } from '../io/load-on-use.js';
import { asCaptured, type AsCaptured } from './as-captured.js';
import { HISTORY } from './reconcilable.js';
import type { DecodedCopy } from './compressed-copy.js';
import { addReasons, boundedReasons, makePrintable, type ReconciliationReport, type VerifyReport } from './verify-report.js';

// The watermark detector (and its image and search modules) loads only when a site key asks for it.
const watermarkCheck = loadOnUse<typeof import('./watermark-check.js')>(import.meta.url, './watermark-check.js');
// The decoders for compressed copies load only when one is met.
const compressedCopy = loadOnUse<typeof import('./compressed-copy.js')>(import.meta.url, './compressed-copy.js');

export type { Verdict, VerifyReport, SignatureReport, SignatureRole, TechnologistReport, TamperedTiles } from './verify-report.js';

export interface VerifyOptions {
  policy?: VerifyPolicy;
  /** The site watermark key: when given, the site mark is required for "authentic". */
  watermarkKey?: Uint8Array;
  /** "Now" for future-dated signatures and CRL freshness (default: the clock). */
  now?: Date;
  limits?: ReadLimits;
  /**
   * Recompute the capture attestation's pixel hash (and with it the tile table) even when a valid,
   * trusted device signature already proves the pixels. Without it the hash is recomputed only
   * when some signature fails or cannot prove them, which is also when the tamper map is needed.
   */
  fullPixelCheck?: boolean;
}


export { transferSyntaxName };

/**
 * Each signature costs a full pass over the object (its MAC stream includes Pixel Data) while an
 * attacker adds one for a few hundred bytes; a sealed object holds 2-4. Beyond this, refuse unread.
 */
export const MAX_SIGNATURES = 16;

/** Why the object's signatures are refused unread (more signatures or MAC Parameters items than MAX_SIGNATURES), or null. */
export function signatureFlood(ds: DataSet): string | null {
  const count = (t: Tag) => findElement(ds, t)?.items?.length ?? 0;
  const signatures = count(TAGS.digitalSignaturesSequence), macItems = count(TAGS.macParametersSequence);
  if (signatures <= MAX_SIGNATURES && macItems <= MAX_SIGNATURES) return null;
  return `the object holds ${signatures} signatures and ${macItems} MAC Parameters items, more than the ${MAX_SIGNATURES} radseal checks (limit: each signature costs a full pass over the object)`;
}

/** Operator identifier from Operator Identification Sequence > Person Identification Code Sequence > Code Value. */
export function operatorIdOf(ds: DataSet): string | undefined {
  const item = findElement(ds, OPERATOR_IDENTIFICATION_SEQUENCE)?.items?.[0];
  const code = item ? findElement(item, tag(0x0040, 0x1101))?.items?.[0] : undefined;
  const v = code ? decodeString(findElement(code, tag(0x0008, 0x0100))?.value) : '';
  return v || undefined;
}

/** Verifies one object. Never throws: an input it cannot handle comes back `invalid` with the reason. */
export function verifyObject(file: string, bytes: Uint8Array, trustSet: CertInfo[], opts: VerifyOptions = {}): VerifyReport {
  const report: VerifyReport = { file, verdict: 'invalid', reasons: [], signatures: [], capture: null, technologist: null, sopClassUid: null, sopInstanceUid: null };
  try {
    verifyInto(report, bytes, trustSet, opts);
  } catch (err) {
    // A bug or an input nobody foresaw: say so, and never let it pass as anything but invalid.
    report.verdict = 'invalid';
    report.reasons.push(`internal error while verifying: ${err instanceof Error ? err.message : String(err)}`);
  }
  report.reasons = boundedReasons(report.reasons);
  // Everything but `file`, which is the caller's own name for the input (the key it files the report under).
  const { file: asGiven, ...fromObject } = report;
  return { file: asGiven, ...makePrintable(fromObject) };
}

/** Everything one decision needs, gathered in one pass. */
interface Findings {
  anomalies: boolean;
  pixelsChanged: boolean;
  /** A signature that cannot be checked at all (unknown MAC algorithm, unreadable certificate…). */
  uncheckable: boolean;
  reencoded: boolean;
  anyInvalid: boolean;
  uncovered: boolean;
  correctionRefused: boolean;
  deviceVouches: boolean;
  attestation: boolean;
  technologistMissing: boolean;
  badTimestamp: boolean;
  watermarkRefused: boolean;
}

function verifyInto(report: VerifyReport, bytes: Uint8Array, trustSet: CertInfo[], opts: VerifyOptions): void {
  const policy = opts.policy ?? DEFAULT_POLICY;
  let parsed: ParsedFile;
  try {
    parsed = readPart10(bytes, opts.limits ?? DEFAULT_READ_LIMITS);
  } catch (err) {
    if (!(err instanceof DicomFormatError)) throw err;
    report.reasons.push(err.message, 'the data set cannot be read: no signature in it can be checked');
    return;
  }
  let { dataSet } = parsed;
  report.transferSyntax = parsed.transferSyntaxUid;
  report.sopClassUid = decodeString(findElement(dataSet, tag(0x0008, 0x0016))?.value) || null;
  report.sopInstanceUid = decodeString(findElement(dataSet, tag(0x0008, 0x0018))?.value) || null;
  const flood = signatureFlood(dataSet);
  if (flood) {
    // Refused before the envelope is walked: a flood of items is cheap to write and each would be a problem to name.
    addReasons(report.reasons, parsed.anomalies);
    report.reasons.push(flood);
    return;
  }
  const signatureCount = findElement(dataSet, TAGS.digitalSignaturesSequence)?.items?.length ?? 0;
  // The envelope's values are read little endian: a Big Endian copy is never checked (notVerifiable), nor judged on them.
  const ambiguities = [...parsed.anomalies, ...(parsed.transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN ? [] : envelopeProblems(dataSet))];
  addReasons(report.reasons, ambiguities);
  const anomalies = ambiguities.length > 0;
  const signed = signatureCount > 0;

  if (!isExplicitLittleEndianDataSet(parsed.transferSyntaxUid) || !signed) {
    const attestation = readAttestation(dataSet);
    // Why it cannot be checked is said even when its structure is invalid too (an unsigned file says so).
    const unverifiable = notVerifiable(report, parsed, signed, attestation);
    report.verdict = anomalies ? 'invalid' : unverifiable;
    // Where the signature is gone, the mark is the evidence left of where the pixels came from.
    if (opts.watermarkKey) {
      const wm = watermarkCheck().checkWatermark(parsed, attestation, trustSet, opts.watermarkKey, false);
      report.watermark = wm.report;
      addReasons(report.reasons, wm.reasons);
    }
    return;
  }

  const metaCarries = metaProblems(parsed.meta);
  addReasons(report.reasons, metaCarries);
  // After a recorded correction, capture signatures hold over the data set as captured.
  const history = hasHistory(dataSet) ? asCaptured(dataSet) : null;
  let captured = history?.dataSet ?? dataSet;
  // Where the attestation lies (and anything ambiguous about it: two blocks, a block where radseal never writes).
  const located = locateAttestation(captured);
  addReasons(report.reasons, located.problems);
  const attestation = readAttestation(captured, located);
  if (attestation) report.capture = captureSummary(attestation);
  // The file whose data set is checked below: for a compressed copy, the same with its pixels decoded, native.
  let checked = parsed;
  let compressed: DecodedCopy | undefined;
  if (ENCAPSULATED_SYNTAXES.has(parsed.transferSyntaxUid) && attestation && attestation.received?.pixelEncoding !== 'ENCAPSULATED') {
    // The device sealed native pixels: a compressed copy was re-encoded after signing. It is never
    // authentic (not the object sealed), but decoded, its pixels are checked against the seal.
    report.reencoded = true;
    const { decodeCompressedCopy, withPixelData } = compressedCopy();
    const decoded = decodeCompressedCopy(dataSet, parsed.transferSyntaxUid, (opts.limits ?? DEFAULT_READ_LIMITS).maxInflatedBytes);
    const compressedTo = `re-encoded: Pixel Data was compressed to ${transferSyntaxName(parsed.transferSyntaxUid)} (${parsed.transferSyntaxUid}) after signing, and the device sealed it native`;
    if ('problem' in decoded) {
      report.reasons.push(`${compressedTo}, so the signature cannot be checked; retrieve the original file`, `its pixels were not compared with the sealed ones: ${decoded.problem}`);
      report.verdict = 'invalid';
      return;
    }
    report.reasons.push(`${compressedTo}: this file is not the object sealed, and its signatures are checked over the decoded pixels only; retrieve the original file`);
    compressed = decoded;
    dataSet = withPixelData(dataSet, decoded.pixelData);
    captured = withPixelData(captured, decoded.pixelData);
    checked = { ...parsed, dataSet, transferSyntaxUid: UID.explicitVrLittleEndian };
  }
  const sealedSyntax = attestation?.received?.pixelEncoding === 'ENCAPSULATED' ? attestation.received.transferSyntaxUid : undefined;
  if (sealedSyntax !== undefined && sealedSyntax !== parsed.transferSyntaxUid) {
    // The meta header is outside every signature, and its transfer syntax says which decoder reads the fragments.
    report.reasons.push(`the meta header's Transfer Syntax UID ${parsed.transferSyntaxUid} (${transferSyntaxName(parsed.transferSyntaxUid)}) is not the ${sealedSyntax} (${transferSyntaxName(sealedSyntax)}) the compressed pixels were sealed in: relabelled after signing, a viewer would decode them as something else`);
    report.verdict = 'invalid';
    return;
  }
  const now = opts.now ?? new Date();
  const evaluations = checkSignatures(captured).map((c) => evaluateSignature(c, trustSet, policy, now, located.block));
  if (history) {
    const captureIds = new Set(evaluations.map((e) => e.check.macId));
    for (const c of checkSignatures(dataSet)) if (!captureIds.has(c.macId)) evaluations.push(evaluateSignature(c, trustSet, policy, now, located.block));
  }
  for (const e of evaluations) {
    report.signatures.push(e.report);
    addReasons(report.reasons, e.reasons);
  }

  const f: Findings = {
    anomalies: anomalies || located.problems.length > 0 || metaCarries.length > 0, pixelsChanged: false, uncheckable: evaluations.some((e) => !e.check.checked),
    reencoded: false, anyInvalid: evaluations.some((e) => (e.check.checked && !e.check.valid) || e.alteredCertificate), uncovered: false,
    correctionRefused: false, deviceVouches: false, attestation: !!attestation, technologistMissing: false,
    badTimestamp: evaluations.some((e) => e.badTimestamp), watermarkRefused: false,
  };
  const device = vouchingDevice(evaluations, attestation, report.reasons);
  f.deviceVouches = device.length > 0;
  f.technologistMissing = !technologist(report, captured, evaluations, policy);
  f.reencoded = reencodedElements(report, dataSet, evaluations, f.anyInvalid) || compressed !== undefined;

  const proof = attestation && !opts.fullPixelCheck && !f.anyInvalid && !f.uncheckable ? pixelsProvenBy(device, dataSet, captured, located.block) : undefined;
  if (proof) {
    // Every signature holds and a trusted device signature covers these very pixels and the hash it
    // recorded of them: recomputing the hash would only re-check the device's own arithmetic.
    report.pixelsIntact = true;
    report.pixelCheck = { by: 'device-signature', macId: proof.check.macId };
  } else if (attestation) {
    const pixels = checkPixels(dataSet, attestation);
    report.pixelCheck = { by: 'pixel-hash' };
    report.pixelsIntact = pixels.intact;
    addReasons(report.reasons, pixels.reasons);
    // A lossy compression changes values by itself: its differences are no evidence of an edit.
    f.pixelsChanged = pixels.intact === false && (compressed?.lossless ?? true);
    if (pixels.tiles && (compressed?.lossless ?? true)) {
      const tableAuthenticated = evaluations.some((e) => e.role === 'device-attributes' && e.check.valid && e.report.trusted && e.report.signer === attestation.deviceId);
      report.tamperedTiles = { ...pixels.tiles, tableAuthenticated };
    }
    if (pixels.intact && f.anyInvalid) report.reasons.push('pixels intact: Pixel Data still matches the pixel hash in the capture attestation; signed attributes were changed after signing');
  } else {
    report.reasons.push('no radseal capture attestation in the object');
  }
  if (compressed) report.reasons.push(compressedCopyFinding(compressed, report));

  const pacs = evaluations.filter((e) => e.role === 'pacs' && e.acceptable && e.check.signedTags.includes(HISTORY.originalAttributesSequence));
  if (history) f.correctionRefused = !acceptCorrections(report, history, pacs);
  if (f.deviceVouches) {
    const covered = new Set<Tag>([...device.flatMap((e) => e.check.signedTags), ...(history && !f.correctionRefused ? correctedTags(history, pacs) : [])]);
    const uncovered = uncoveredElements(dataSet, covered);
    if (uncovered.length) {
      f.uncovered = true;
      report.reasons.push(uncoveredReason(uncovered));
    }
  }

  if (opts.watermarkKey) {
    const wm = watermarkCheck().checkWatermark(checked, attestation, trustSet, opts.watermarkKey, authenticSoFar(f));
    report.watermark = wm.report;
    addReasons(report.reasons, wm.reasons);
    f.watermarkRefused = !wm.ok;
  }
  report.verdict = decide(f, report, evaluations);
}

/**
 * The device signature that proves Pixel Data as it stands is what the device sealed, when there is
 * one: acceptable (valid, trusted, within policy), by the device the attestation names, listing
 * Pixel Data and the attestation's pixel hash, over the very Pixel Data element the object holds
 * (not one a recorded correction put back).
 */
function pixelsProvenBy(device: SignatureEvaluation[], dataSet: DataSet, captured: DataSet, block: AttestationBlock | undefined): SignatureEvaluation | undefined {
  const pixels = findElement(dataSet, PIXEL_DATA);
  if (!pixels || !block || findElement(captured, PIXEL_DATA) !== pixels) return undefined;
  // The MAC stream of encapsulated Pixel Data carries each fragment's item tag but not its length
  // (PS3.15 A.1.1, as DCMTK writes it), so a signature cannot tell fragments merged or split at
  // FFFE,E000 bytes (a frame dropped or garbled for a viewer) from the ones signed: only the
  // attestation's hash, over the items with their lengths, proves the fragment structure.
  if (pixels.fragments) return undefined;
  const pixelHash = attestationTags(block).pixelDataSha256;
  return device.find((e) => e.acceptable && e.check.valid && e.check.signedTags.includes(PIXEL_DATA) && e.check.signedTags.includes(pixelHash));
}

/** What the decoded pixels of a compressed copy show against the seal. */
function compressedCopyFinding(c: DecodedCopy, report: VerifyReport): string {
  const intact = report.pixelsIntact;
  if (intact === true && report.pixelCheck?.by === 'device-signature') return `decoded from ${c.described}, the pixels are bit for bit the ones the device sealed (its signature holds over them): the image is the one captured, though this file is not the object sealed`;
  if (intact === true) return `decoded from ${c.described}, the pixels match the pixel hash in the capture attestation, but a signature does not hold: see the other reasons`;
  if (intact === false && c.lossless) return `decoded from ${c.described}, the pixels differ from the ones the device sealed: a lossless compression keeps every value, so they were changed`;
  if (intact === false) return `decoded from ${c.described}, the pixels differ from the ones the device sealed, as a lossy compression makes them: this copy cannot show that its image is the one captured`;
  return `decoded from ${c.described}; the pixels could not be compared with the seal`;
}

/** The one place the verdict is decided, from the findings, in order of what matters most. */
function decide(f: Findings, report: VerifyReport, evaluations: SignatureEvaluation[]): VerifyReport['verdict'] {
  if (f.anomalies) return 'invalid';
  if (f.pixelsChanged) return 'tampered';
  if (f.reencoded || f.uncheckable) return 'invalid';
  if (f.anyInvalid || f.uncovered || f.correctionRefused) return 'tampered';
  if (!f.attestation || !f.deviceVouches) {
    if (f.attestation && !evaluations.some((e) => e.role === 'device')) report.reasons.push('no device Source signature (purpose code 14)');
    return 'untrusted';
  }
  if (f.technologistMissing) return 'untrusted';
  // The image checks out, but evidence attached to it does not: never "authentic" with a bad part.
  if (f.badTimestamp) return 'invalid';
  if (f.watermarkRefused) return 'untrusted';
  return 'authentic';
}

function authenticSoFar(f: Findings): boolean {
  return !f.anomalies && !f.pixelsChanged && !f.uncheckable && !f.reencoded && !f.anyInvalid && !f.uncovered && !f.correctionRefused
    && f.attestation && f.deviceVouches && !f.technologistMissing && !f.badTimestamp;
}

/** Verdict for an object radseal cannot check as it stands: unsigned, or re-encoded after signing. */
function notVerifiable(report: VerifyReport, parsed: ParsedFile, signed: boolean, attestation: CaptureAttestation | undefined): VerifyReport['verdict'] {
  const ts = parsed.transferSyntaxUid;
  const name = transferSyntaxName(ts);
  if (attestation) report.capture = captureSummary(attestation);
  if (!signed) {
    report.reasons.push(ts === UID.explicitVrLittleEndian
      ? 'no Digital Signatures Sequence (FFFA,FFFA): the object carries no signature'
      : `no Digital Signatures Sequence (transfer syntax ${ts}, ${name})`);
    return 'unsigned';
  }
  if (parsed.explicitVr) {
    report.reasons.push(`unsupported transfer syntax ${ts} (${name}): the object was re-encoded after signing; radseal verifies Explicit VR Little Endian objects with native pixel data, as sealed`);
  } else {
    report.reencoded = true;
    report.reasons.push(`re-encoded: the object was converted to ${name} (${ts}) after signing: private attributes became UN, which the DICOM MAC rules exclude, so the signature cannot be checked; retrieve the original Explicit VR Little Endian file`);
  }
  return 'invalid';
}

/** Device Source signatures that may vouch for the image: acceptable and by the device the attestation names. */
function vouchingDevice(evaluations: SignatureEvaluation[], attestation: CaptureAttestation | undefined, reasons: string[]): SignatureEvaluation[] {
  const out: SignatureEvaluation[] = [];
  for (const e of evaluations) {
    if (e.role !== 'device' || !e.acceptable) continue;
    if (attestation && e.report.signer !== attestation.deviceId) {
      reasons.push(`signature ${e.check.macId} (${e.check.algorithm}, ${e.report.signer}): source signature by "${e.report.signer}" but the capture attestation names device "${attestation.deviceId}"`);
    } else out.push(e);
  }
  return out;
}

/** Fills report.technologist; false when policy requires a co-signature and none is accepted. */
function technologist(report: VerifyReport, captured: DataSet, evaluations: SignatureEvaluation[], policy: VerifyPolicy): boolean {
  const operatorId = operatorIdOf(captured);
  let signer: string | null = null;
  let accepted = false;
  for (const e of evaluations.filter((x) => x.role === 'technologist')) {
    signer ??= e.report.signer;
    if (!e.acceptable) continue;
    if (e.report.signer !== operatorId) {
      report.reasons.push(`signature ${e.check.macId} (${e.check.algorithm}, ${e.report.signer}): technologist certificate "${e.report.signer}" does not match the operator identifier "${operatorId ?? '(none)'}" in Operator Identification Sequence`);
    } else {
      accepted = true;
      signer = e.report.signer;
    }
  }
  const operatorsName = decodeString(findElement(captured, OPERATORS_NAME)?.value) || null;
  if (signer || operatorId) report.technologist = { operatorId: operatorId ?? null, operatorsName, signer, accepted };
  if (policy.requireTechnologistSignature && !accepted) {
    report.reasons.push(signer ? 'the technologist co-signature is not accepted (see above); policy requires one' : 'no technologist co-signature (purpose code 1, Author); policy requires one');
    return false;
  }
  return true;
}

/** Signed elements turned UN by a round trip through Implicit VR: said plainly, since the MAC rules exclude UN. */
function reencodedElements(report: VerifyReport, ds: DataSet, evaluations: SignatureEvaluation[], anyInvalid: boolean): boolean {
  const signedTags = new Set(evaluations.flatMap((e) => e.check.signedTags));
  const turnedUn = ds.filter((e) => signedTags.has(e.tag) && holdsUN(e)).map((e) => formatTag(e.tag));
  if (!turnedUn.length || !anyInvalid) return false;
  report.reencoded = true;
  report.reasons.unshift(`re-encoded: signed elements ${turnedUn.slice(0, 8).join(', ')}${turnedUn.length > 8 ? ', ...' : ''} are now UN (the object went through Implicit VR and lost their VRs), which the DICOM MAC rules exclude, so the signature cannot be checked; retrieve the original file`);
  return true;
}

function hasHistory(ds: DataSet): boolean {
  return !!findElement(ds, HISTORY.originalAttributesSequence);
}

/**
 * What a PACS signature vouches for beyond the device's: the corrections it records and the record
 * itself, when it signs them. Nothing else: the PACS signs every element present when it corrects,
 * so an element added after capture and never recorded (an overlay, a Pixel Spacing) would
 * otherwise come out authentic under the correction of a Patient ID.
 */
function correctedTags(history: AsCaptured, pacs: SignatureEvaluation[]): Tag[] {
  const signed = new Set(pacs.flatMap((e) => e.check.signedTags));
  const recorded = [HISTORY.originalAttributesSequence, ...history.corrections.flatMap((c) => c.changes.map((x) => x.tag))];
  return recorded.filter((t) => signed.has(t));
}

/** A recorded correction counts only when its history is usable and a trusted PACS signer vouches for it. */
function acceptCorrections(report: VerifyReport, history: AsCaptured, pacs: SignatureEvaluation[]): boolean {
  for (const p of history.problems) report.reasons.push(`correction record: ${p}`);
  if (!pacs.length) {
    report.reasons.push('signed attributes were changed after capture and the change (Original Attributes Sequence) is not signed by a trusted PACS signer (purpose 5 Verification or 13 Review, PACS certificate profile)');
    return false;
  }
  if (history.problems.length) return false;
  const signer = pacs[pacs.length - 1]!.report.signer;
  const reconciled: ReconciliationReport[] = history.corrections.map((c) => ({
    time: c.time ? c.time.toISOString() : null,
    modifyingSystem: c.modifyingSystem,
    reason: c.reason,
    changes: c.changes.map((x) => ({ tag: formatTag(x.tag), before: x.before ?? '', after: x.after ?? '' })),
  }));
  report.reconciled = reconciled;
  for (const c of reconciled) {
    const what = c.changes.map((x) => `${x.tag} "${x.before}" → "${x.after}"`).join(', ');
    report.reasons.push(`reconciled: ${what} by ${c.modifyingSystem}${c.time ? ` at ${c.time}` : ''}, reason ${c.reason} (signed by ${signer})`);
  }
  return true;
}
