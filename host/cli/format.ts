// How verification results look to people.
import type { VerifyReport } from '../ingest/verify.js';

const MARK: Record<string, string> = { authentic: 'AUTHENTIC', tampered: 'TAMPERED', unsigned: 'UNSIGNED', untrusted: 'UNTRUSTED', invalid: 'INVALID' };

export function formatReport(r: VerifyReport): string {
  const lines = [`${r.file}: ${MARK[r.verdict]}`];
  for (const s of r.signatures) {
    lines.push(`  signature: ${s.algorithm} ${s.purpose} by ${s.signer}${s.time ? ' at ' + s.time : ''} — ${s.valid ? 'valid' : 'INVALID'}, ${s.trusted ? 'trusted' : 'not trusted'}`);
  }
  if (r.capture) lines.push(`  capture: device ${r.capture.deviceId}, raw frame SHA-256 ${r.capture.rawSha256}`);
  for (const reason of r.reasons) lines.push(`  - ${reason}`);
  return lines.join('\n');
}
