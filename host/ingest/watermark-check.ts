// The watermark side of verification. The signature says whether the bytes
// are exactly what a device sealed; the watermark says whether the pixels
// carry the site's mark — the evidence that survives when the signature is
// gone (stripped, re-encoded, exported) and that a stolen device key alone
// cannot forge. With a site watermark key, verify requires both; verify.ts
// decides the verdict, this file only gathers the mark's evidence.
import type { ParsedFile } from '../dicom/reader.js';
import { grayFromParsed } from '../image/dicom.js';
import type { CaptureAttestation } from '../dicom/attestation.js';
import { DEFAULT_SEARCH_BUDGET_MS, detectWatermark, type SearchStage, type StageReport } from '../watermark/index.js';
import { watermarkKeyId } from '../keys/watermark-key.js';
import { capturePayload, deviceTag, WATERMARK_SCHEME } from '../seal/watermark.js';
import type { CertInfo } from '../keys/certs.js';

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
  /**
   * Who read the payload: the robust mark alone ('robust', it survives exports), or the fragile layer
   * confirming the attested payload where the robust mark had no room ('fragile': tiny, flat, noisy or
   * saturated frames; that confirmation holds only for the pixels as stored). Null: unread.
   */
  payloadSource: 'robust' | 'fragile' | null;
  /** Whether the mark's content tag fits these pixels (false: mark transplanted from another image, or cropped). */
  contentTagMatches: boolean | null;
  blocks: { size: number; rows: number; cols: number; tampered: Array<[number, number]> };
  /**
   * Which search found the mark (null: none did): the frame as given ('aligned'), mirrored ('flip'),
   * cropped or rescaled ('crop-scale'), or turned ('rotation', by rotationDeg). The searches run only
   * when the aligned test fails, within SEARCH_BUDGET_MS; the false-positive bound covers all of them.
   */
  search: { foundBy: SearchStage | null; rotationDeg: number; stages: StageReport[]; budgetExhausted: boolean };
}

/** Time budget for the watermark searches of one object (verify and the ingest gateway). */
export const SEARCH_BUDGET_MS = DEFAULT_SEARCH_BUDGET_MS;

export interface WatermarkCheck {
  /** null when the pixels could not be read. */
  report: WatermarkReport | null;
  /** The site mark is present, fits these pixels and carries exactly the attested payload. */
  ok: boolean;
  reasons: string[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Detects the site mark in an already-parsed object and checks it against the capture
 * attestation. `authenticSoFar` only chooses which evidence is worth a sentence.
 */
export function checkWatermark(parsed: ParsedFile, attestation: CaptureAttestation | undefined, trustSet: CertInfo[], key: Uint8Array, authenticSoFar: boolean): WatermarkCheck {
  const reasons: string[] = [];
  let image;
  try {
    image = grayFromParsed(parsed);
  } catch (err) {
    return { report: null, ok: false, reasons: [`watermark not checked: ${(err as Error).message.replace(/^DICOM: /, '')}`] };
  }
  const attested = attestation?.watermark;
  // The attested payload lets the fragile layer confirm the mark where the robust decoder alone
  // cannot read it (small frames); it is only a hypothesis to test, the tags must verify.
  let det;
  try {
    det = detectWatermark(image, key, {
      rotation: true, timeBudgetMs: SEARCH_BUDGET_MS,
      ...(attested?.payload.length === 8 ? { expectedPayload: attested.payload } : {}),
    });
  } catch (err) {
    return { report: null, ok: false, reasons: [`watermark not checked: ${(err as Error).message}`] };
  }
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
    payloadSource: det.payloadSource,
    contentTagMatches: det.contentTag ? det.contentTag.match : null,
    blocks: { size: det.blocks.size, rows: det.blocks.rows, cols: det.blocks.cols, tampered: det.blocks.tampered },
    search: { foundBy: det.search.foundBy, rotationDeg: det.geometry.rotationDeg, stages: det.search.stages, budgetExhausted: det.search.budgetExhausted },
  };

  const keyId = watermarkKeyId(key);
  if (!det.present) {
    const searched = det.search.stages.map((x) => `${x.stage} ${Math.round(x.ms)} ms`).join(', ');
    reasons.push(`the site watermark is absent from the pixels (searched: ${searched}${det.search.budgetExhausted ? `; the ${SEARCH_BUDGET_MS} ms search budget ran out` : ''})`);
  } else {
    const how = det.search.foundBy === 'rotation' ? `the rotation search (the frame turned by ${det.geometry.rotationDeg}°)`
      : det.search.foundBy === 'flip' ? `the flip search (the frame mirrored or turned: ${det.geometry.flip})`
        : det.search.foundBy === 'crop-scale' ? `the crop/scale search (chip ${det.geometry.chip} px, offset ${det.geometry.offsetY},${det.geometry.offsetX})` : null;
    if (how) reasons.push(`the site watermark was found by ${how}: the pixels are not the frame as sealed`);
    // Evidence for a reader of a failed object: whose frame the pixels still say they are.
    const who = decoded ? `device ${decoded.device ?? 'tag ' + decoded.deviceTagHex}, frame serial ${decoded.frameSerial}` : 'payload unreadable';
    if (!authenticSoFar) reasons.push(`the pixels carry the site watermark (score ${det.score.toFixed(1)}, false-positive probability ≤ ${det.falsePositiveProbability.toExponential(1)}): ${who}`);
    if (wm.contentTagMatches === false) reasons.push('the watermark does not fit these pixels (content tag mismatch): transplanted from another image, or the image was cropped or edited');
    if (!authenticSoFar && det.contentTag && det.contentTag.match === null) reasons.push(`the content tag cannot bind the watermark to these pixels: only ${det.contentTag.reliableBits} of its 32 bits are reliable here (flat or symmetric coarse content), so a mark transplanted from another image is not excluded`);
    if (det.blocks.tampered.length) reasons.push(`watermark missing or inconsistent in ${det.blocks.tampered.length} of ${det.blocks.rows * det.blocks.cols} blocks (${det.blocks.size} px)`);
  }
  if (!attested) {
    if (attestation) reasons.push('the capture attestation records no watermark: the sealing device did not embed the site mark');
  } else if (attested.scheme !== WATERMARK_SCHEME) {
    reasons.push(`the attestation records watermark scheme "${attested.scheme}", which this verifier does not know`);
  } else if (attested.keyId !== keyId) {
    reasons.push(`the attestation's watermark key (${attested.keyId}) is not the site key given (${keyId})`);
  } else if (attestation && wm.payloadMatchesAttestation === false) {
    const expected = hex(capturePayload(attestation.deviceId, attestation.frameSerial));
    reasons.push(`watermark payload ${det.payloadHex ?? '(none)'} disagrees with the attested one ${hex(attested.payload)} (device ${attestation.deviceId}, serial ${attestation.frameSerial} → ${expected})`);
  }
  const ok = det.present && wm.contentTagMatches !== false && !!attested && attested.keyId === keyId && wm.payloadMatchesAttestation === true
    && !!attestation && hex(attested.payload) === hex(capturePayload(attestation.deviceId, attestation.frameSerial));
  return { report: wm, ok, reasons };
}
