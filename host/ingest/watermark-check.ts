// The watermark side of verification. The signature says whether the bytes
// are exactly what a device sealed; the watermark says whether the pixels
// carry the site's mark — the evidence that survives when the signature is
// gone (stripped, re-encoded, exported) and that a stolen device key alone
// cannot forge. With a site watermark key, verify requires both.
import { readPart10 } from '../dicom/reader.js';
import { grayFromParsed } from '../image/dicom.js';
import { readAttestation } from '../dicom/attestation.js';
import { detectWatermark } from '../watermark/index.js';
import { watermarkKeyId } from '../keys/watermark-key.js';
import { capturePayload, deviceTag, WATERMARK_SCHEME } from '../seal/watermark.js';
import type { CertInfo } from '../keys/certs.js';
import { verifyBytes, type VerifyReport } from './verify.js';
import { DEFAULT_POLICY, type VerifyPolicy } from './policy.js';

export interface WatermarkReport {
  present: boolean;
  score: number;
  falsePositiveProbability: number;
  payloadHex: string | null;
  bitErrors: number | null;
  /** Device and frame serial read from the payload; device named when a trusted certificate's CN matches its tag. */
  decoded: { deviceTagHex: string; frameSerial: number; device: string | null } | null;
  /** Whether the payload equals what the signed attestation says was embedded (null: nothing attested). */
  payloadMatchesAttestation: boolean | null;
  /** Whether the mark's content tag fits these pixels (false: mark transplanted from another image, or cropped). */
  contentTagMatches: boolean | null;
  blocks: { size: number; rows: number; cols: number; tampered: Array<[number, number]> };
}

export interface VerifyOptions {
  policy?: VerifyPolicy;
  /** The site watermark key: when given, the site mark is required for "authentic". */
  watermarkKey?: Uint8Array;
}

export type VerifyReportWithWatermark = VerifyReport & { watermark?: WatermarkReport | null };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** verifyBytes plus, with a watermark key, detection of the site mark and its agreement with the attestation. */
export function verifyObject(file: string, bytes: Uint8Array, trustSet: CertInfo[], opts: VerifyOptions = {}): VerifyReportWithWatermark {
  const report: VerifyReportWithWatermark = verifyBytes(file, bytes, trustSet, opts.policy ?? DEFAULT_POLICY);
  if (!opts.watermarkKey) return report;
  let parsed;
  try {
    parsed = readPart10(bytes);
  } catch {
    return report; // already 'invalid' with its reason
  }
  const ds = parsed.dataSet;
  let image;
  try {
    image = grayFromParsed(parsed);
  } catch (err) {
    report.watermark = null;
    report.reasons.push(`watermark not checked: ${(err as Error).message.replace(/^DICOM: /, '')}`);
    demote(report);
    return report;
  }
  const attestation = readAttestation(ds);
  const attested = attestation?.watermark;
  // The attested payload lets the fragile layer confirm the mark where the robust decoder alone
  // cannot read it (small frames); it is only a hypothesis to test, the tags must verify.
  const det = detectWatermark(image, opts.watermarkKey,
    attested?.payload.length === 8 ? { expectedPayload: attested.payload } : {});
  const payload = det.payloadHex ? Buffer.from(det.payloadHex, 'hex') : undefined;
  const decoded = payload ? {
    deviceTagHex: hex(payload.subarray(0, 4)),
    frameSerial: payload.readUInt32BE(4),
    device: trustSet.map((c) => c.commonName).find((cn) => hex(deviceTag(cn)) === hex(payload.subarray(0, 4))) ?? null,
  } : null;
  const wm: WatermarkReport = {
    present: det.present,
    score: det.score,
    falsePositiveProbability: det.falsePositiveProbability,
    payloadHex: det.payloadHex,
    bitErrors: det.bitErrors,
    decoded,
    payloadMatchesAttestation: attested && det.payloadHex ? hex(attested.payload) === det.payloadHex : attested ? false : null,
    contentTagMatches: det.contentTag ? det.contentTag.match : null,
    blocks: { size: det.blocks.size, rows: det.blocks.rows, cols: det.blocks.cols, tampered: det.blocks.tampered },
  };
  report.watermark = wm;

  const keyId = watermarkKeyId(opts.watermarkKey);
  if (!det.present) {
    report.reasons.push('the site watermark is absent from the pixels');
  } else {
    // Evidence for a reader of a failed object: whose frame the pixels still say they are.
    const who = decoded ? `device ${decoded.device ?? 'tag ' + decoded.deviceTagHex}, frame serial ${decoded.frameSerial}` : 'payload unreadable';
    if (report.verdict !== 'authentic') report.reasons.push(`the pixels carry the site watermark (score ${det.score.toFixed(1)}, false-positive probability ≤ ${det.falsePositiveProbability.toExponential(1)}): ${who}`);
    if (wm.contentTagMatches === false) report.reasons.push('the watermark does not fit these pixels (content tag mismatch): transplanted from another image, or the image was cropped or edited');
    if (det.blocks.tampered.length) report.reasons.push(`watermark missing or inconsistent in ${det.blocks.tampered.length} of ${det.blocks.rows * det.blocks.cols} blocks (${det.blocks.size} px)`);
  }
  if (!attested) {
    if (attestation) report.reasons.push('the capture attestation records no watermark: the sealing device did not embed the site mark');
  } else if (attested.scheme !== WATERMARK_SCHEME) {
    report.reasons.push(`the attestation records watermark scheme "${attested.scheme}", which this verifier does not know`);
  } else if (attested.keyId !== keyId) {
    report.reasons.push(`the attestation's watermark key (${attested.keyId}) is not the site key given (${keyId})`);
  } else if (attestation && wm.payloadMatchesAttestation === false) {
    const expected = hex(capturePayload(attestation.deviceId, attestation.frameSerial));
    report.reasons.push(`watermark payload ${det.payloadHex ?? '(none)'} disagrees with the attested one ${hex(attested.payload)} (device ${attestation.deviceId}, serial ${attestation.frameSerial} → ${expected})`);
  }
  const markOk = det.present && wm.contentTagMatches !== false && !!attested && attested.keyId === keyId && wm.payloadMatchesAttestation === true
    && !!attestation && hex(attested.payload) === hex(capturePayload(attestation.deviceId, attestation.frameSerial));
  if (!markOk) demote(report);
  return report;
}

/** An object whose site mark is missing or wrong is at best untrusted: never authentic. */
function demote(report: VerifyReport): void {
  if (report.verdict === 'authentic') report.verdict = 'untrusted';
}
