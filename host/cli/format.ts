// How verification results look to people.
import type { VerifyReport } from '../ingest/verify.js';

const MARK: Record<string, string> = { authentic: 'AUTHENTIC', tampered: 'TAMPERED', unsigned: 'UNSIGNED', untrusted: 'UNTRUSTED', invalid: 'INVALID' };

export function formatReport(r: VerifyReport): string {
  const lines = [`${r.file}: ${MARK[r.verdict]}`];
  for (const s of r.signatures) {
    lines.push(`  signature: ${s.algorithm} ${s.purpose} by ${s.signer}${s.time ? ' at ' + s.time : ''} — ${s.valid ? 'valid' : 'INVALID'}, ${s.trusted ? 'trusted' : 'not trusted'}`);
  }
  if (r.capture) lines.push(`  capture: device ${r.capture.deviceId}, raw frame SHA-256 ${r.capture.rawSha256}`);
  if (r.technologist) {
    const t = r.technologist;
    lines.push(`  technologist: ${t.operatorsName ?? '(no name)'} (operator id ${t.operatorId ?? 'none'}), co-signed by ${t.signer ?? 'nobody'} — ${t.accepted ? 'accepted' : 'NOT accepted'}`);
  }
  if (r.tamperedTiles) {
    const t = r.tamperedTiles;
    lines.push(`  changed tiles (${t.size}x${t.size} px, grid ${t.rows}x${t.cols}${t.tableAuthenticated ? '' : ', table not independently authenticated'}): ${t.tiles.map(([y, x]) => `[${y},${x}]`).join(' ')}`);
  }
  for (const reason of r.reasons) lines.push(`  - ${reason}`);
  return lines.join('\n');
}
