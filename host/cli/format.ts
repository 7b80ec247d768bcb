// How verification results look to people.
import type { VerifyReport } from '../ingest/verify.js';
import { printable } from '../ingest/verify-report.js';

const MARK: Record<string, string> = { authentic: 'AUTHENTIC', tampered: 'TAMPERED', unsigned: 'UNSIGNED', untrusted: 'UNTRUSTED', invalid: 'INVALID' };

export function formatReport(r: VerifyReport): string {
  const lines = [`${r.file}: ${MARK[r.verdict]}`];
  r.signatures.forEach((s) => {
    const scope = s.role === 'device-attributes' ? ' (attributes only, not Pixel Data)' : '';
    lines.push(`  signature: ${s.algorithm} ${s.purpose}${scope} by ${s.signer}${s.time ? ' at ' + s.time : ''} — ${s.valid ? 'valid' : 'INVALID'}, ${s.trusted ? 'trusted' : 'not trusted'}${s.certifiedTime ? `; certified time ${s.certifiedTime} by ${s.certifiedBy}` : ''}`);
  });
  if (r.capture) lines.push(`  capture: device ${r.capture.deviceId}, raw frame SHA-256 ${r.capture.rawSha256}`);
  if (r.pixelCheck) {
    lines.push(r.pixelCheck.by === 'device-signature'
      ? `  pixels: as captured, proven by the device signature (MAC ${r.pixelCheck.macId}) over Pixel Data and its recorded hash; not rehashed (--full-pixel-check rehashes)`
      : `  pixels: rehashed — ${r.pixelsIntact === true ? 'they match the hash recorded at capture' : r.pixelsIntact === false ? 'they do NOT match the hash recorded at capture' : 'no recorded hash to compare'}`);
  }
  if (r.capture?.received) lines.push(`  received: ${r.capture.received.source}, from ${r.capture.received.callingAeTitle} at ${r.capture.received.peerAddress}; the seal covers ${r.capture.received.pixels}`);
  if (r.technologist) {
    const t = r.technologist;
    lines.push(`  technologist: ${t.operatorsName ?? '(no name)'} (operator id ${t.operatorId ?? 'none'}), co-signed by ${t.signer ?? 'nobody'} — ${t.accepted ? 'accepted' : 'NOT accepted'}`);
  }
  if (r.tamperedTiles) {
    const t = r.tamperedTiles;
    lines.push(`  changed tiles (${t.size}x${t.size} px, grid ${t.rows}x${t.cols}${t.tableAuthenticated ? '' : ', table not independently authenticated'}): ${t.tiles.map(([y, x]) => `[${y},${x}]`).join(' ')}`);
  }
  if (r.watermark) {
    const w = r.watermark;
    const payload = w.decoded ? `device ${w.decoded.device ?? 'tag ' + w.decoded.deviceTagHex}, frame ${w.decoded.frameSerial}` : 'payload unreadable';
    lines.push(`  watermark: ${w.present ? `present (z ${w.score.toFixed(1)}, FPP ≤ ${w.falsePositiveProbability.toExponential(1)}), ${payload}` : 'ABSENT'}` +
      `${w.payloadMatchesAttestation === null ? '' : w.payloadMatchesAttestation ? ', matches the attestation' : ', does NOT match the attestation'}` +
      `${w.payloadSource === 'fragile' ? ' (read by the fragile layer: the robust mark has no room in this frame, so the mark will not survive an export)' : ''}` +
      `${w.blocks.tampered.length ? `; ${w.blocks.tampered.length} suspect blocks (${w.blocks.size} px)` : ''}`);
  }
  for (const reason of r.reasons) lines.push(`  - ${reason}`);
  // Every line printable, the file name too: a folder anyone can write to may hold a name with
  // terminal control codes that would rewrite the verdict printed beside it.
  return lines.map(printable).join('\n');
}
