// The verification report: one self-contained HTML page (no scripts, no
// external resources, a Content-Security-Policy that forbids any; prints on A4)
// for radiologists, legal and insurance reviewers — the
// verdict in plain words, who captured the image, what was checked, and a
// tamper map drawn over a downscaled copy of the image (PNG data URI, SVG
// outlines: changed tiles from the signed tile table, suspect watermark blocks).
//
// PHI: the page identifies the object by SOP/Study Instance UID and file hash.
// Patient name and ID appear only when the caller asks (includePatient).
import { createHash } from 'node:crypto';
import { encode as encodePng } from 'fast-png';
import { readPart10 } from '../dicom/reader.js';
import { findElement, tag, type DataSet } from '../dicom/model.js';
import { decodeString, decodeUS } from '../dicom/values.js';
import { readAttestation } from '../dicom/attestation.js';
import type { VerifyReport } from './verify.js';

export interface ReportOptions {
  /** When the report was made (default: now). */
  generatedAt?: Date;
  /** Show Patient's Name and Patient ID (PHI); off by default. */
  includePatient?: boolean;
  /** Longest side of the preview image in pixels (default 640). */
  previewSize?: number;
  /** Names of the trust anchors used (certificate CNs). */
  trustAnchors?: string[];
  /** Whether a site watermark key was given. */
  watermarkChecked?: boolean;
}

export interface Preview {
  png: Uint8Array;
  width: number;
  height: number;
  rows: number;
  cols: number;
}

/** HTML-escapes text for an element or a quoted attribute. */
export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A downscaled 8-bit preview of native 16-bit (or 8-bit) grayscale pixels, windowed at the 0.5–99.5 percentiles. */
export function renderPreview(ds: DataSet, maxSide = 640): Preview | null {
  const rows = decodeUS(findElement(ds, tag(0x0028, 0x0010))?.value) ?? 0;
  const cols = decodeUS(findElement(ds, tag(0x0028, 0x0011))?.value) ?? 0;
  const bits = decodeUS(findElement(ds, tag(0x0028, 0x0100))?.value) ?? 0;
  const spp = decodeUS(findElement(ds, tag(0x0028, 0x0002))?.value) ?? 1;
  const photometric = decodeString(findElement(ds, tag(0x0028, 0x0004))?.value);
  const data = findElement(ds, tag(0x7fe0, 0x0010))?.value;
  if (!data || !rows || !cols || spp !== 1 || (bits !== 16 && bits !== 8) || data.length < rows * cols * (bits / 8)) return null;
  const at = bits === 16 ? (i: number) => data[2 * i]! | (data[2 * i + 1]! << 8) : (i: number) => data[i]!;
  const scale = Math.max(1, Math.ceil(Math.max(rows, cols) / maxSide));
  const h = Math.ceil(rows / scale);
  const w = Math.ceil(cols / scale);
  const avg = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      for (let yy = y * scale; yy < Math.min(rows, (y + 1) * scale); yy++) {
        for (let xx = x * scale; xx < Math.min(cols, (x + 1) * scale); xx++) {
          s += at(yy * cols + xx);
          n++;
        }
      }
      avg[y * w + x] = s / n;
    }
  }
  const sorted = Float64Array.from(avg).sort();
  const lo = sorted[Math.floor(sorted.length * 0.005)]!;
  const hi = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.995))]!;
  const span = hi - lo || 1;
  const out = new Uint8Array(w * h);
  const invert = photometric === 'MONOCHROME1';
  for (let i = 0; i < out.length; i++) {
    const v = Math.max(0, Math.min(255, Math.round(((avg[i]! - lo) / span) * 255)));
    out[i] = invert ? 255 - v : v;
  }
  return { png: encodePng({ width: w, height: h, data: out, channels: 1, depth: 8 }), width: w, height: h, rows, cols };
}

/** How each verdict is named and coloured wherever a person sees it (report, Orthanc Explorer, viewer, desk). */
export const VERDICT_STYLE: Record<VerifyReport['verdict'], { title: string; colour: string }> = {
  authentic: { title: 'Authentic', colour: '#1b7a3a' },
  tampered: { title: 'Changed after capture', colour: '#b3261e' },
  unsigned: { title: 'No provenance', colour: '#8a5300' },
  untrusted: { title: 'Not from a trusted device', colour: '#8a5300' },
  invalid: { title: 'Could not be checked', colour: '#5f5f5f' },
};

function verdictSentence(r: VerifyReport, capturedAt: string | null): string {
  const device = r.capture?.deviceId;
  const when = capturedAt ? ` at ${capturedAt}` : '';
  switch (r.verdict) {
    case 'authentic': {
      const revoked = r.signatures.some((s) => s.revocation === 'revoked');
      const reconciled = r.reconciled?.length
        ? ` Its patient or study identification was since corrected at PACS (${r.reconciled.map((c) => `${c.changes.map((x) => x.tag).join(', ')} by ${c.modifyingSystem}, ${c.reason}`).join('; ')}), recorded and signed by a trusted PACS signer; the pixels are as captured.`
        : '';
      const warning = revoked ? ' NOTE: a signing certificate has since been REVOKED; the signature is accepted only because the evidence shows it was made before the revocation (see the signatures below).' : '';
      // Anyone can add a valid signature under a certificate of their own: it vouches for nothing, and the sentence must not say it does.
      const strangers = r.signatures.filter((x) => !x.trusted);
      const signatures = strangers.length
        ? `Its device signature is valid and made by a device this site trusts; ${strangers.length} other signature${strangers.length === 1 ? ' is' : 's are'} NOT from a signer this site trusts (${[...new Set(strangers.map((x) => x.signer))].join(', ')}) and vouch${strangers.length === 1 ? 'es' : ''} for nothing (see the signatures below)`
        : 'Every signature is valid and made by a device this site trusts';
      return `This image is exactly what X-ray device ${device} captured${when}. ${signatures}, and the pixels match the hash the device recorded at capture${r.watermark ? '; the site watermark is present and names the same device and frame' : ''}.${reconciled}${warning}`;
    }
    case 'tampered': {
      const n = r.tamperedTiles?.tiles.length;
      const what = n ? `${n} region${n === 1 ? '' : 's'} of the image no longer match what the device recorded (outlined in red below).`
        : r.pixelsIntact ? 'The pixels are intact (they match the hash the device recorded), but signed attributes were changed or added after signing: see the reasons below.'
        : 'Its signed content no longer matches its signature.';
      return `This image was CHANGED after ${device ? `device ${device} captured it${when}` : 'it was signed'}. ${what} Do not rely on it as an original acquisition.`;
    }
    case 'unsigned':
      return 'This image carries no radseal signature, so where it came from cannot be established. It may be genuine, edited or generated: treat it as of unknown origin.';
    case 'untrusted':
      return `This image is signed, but not in a way this site accepts: ${r.reasons[0] ?? 'see the reasons below'}. Its origin is not established.`;
    default:
      return `This object could not be checked: ${r.reasons[0] ?? 'see the reasons below'}.`;
  }
}

function check(ok: boolean | null, what: string, detail = ''): string {
  const mark = ok === null ? '<span class="na">–</span>' : ok ? '<span class="ok">✔</span>' : '<span class="bad">✘</span>';
  return `<tr><td>${mark}</td><td>${esc(what)}</td><td>${esc(detail)}</td></tr>`;
}

function formatDt(dt: string | undefined): string | null {
  if (!dt) return null;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$/.exec(dt);
  if (!m) return dt;
  return `${m[1]}-${m[2]}-${m[3]}${m[4] ? ` ${m[4]}:${m[5] ?? '00'}:${m[6] ?? '00'}` : ''}${m[7] ? ` UTC${m[7].slice(0, 3)}:${m[7].slice(3)}` : ''}`;
}

/**
 * The image (downscaled, as a PNG data URI) with the changed tiles (red) and suspect watermark
 * blocks (amber, dashed) outlined, as one inline SVG, and its legend lines (HTML); null when the
 * object has no pixels radseal can draw. Styles: rect.tile, rect.wm (the page supplies them).
 */
export function tamperMap(r: VerifyReport, ds: DataSet, maxSide = 640): { svg: string; legend: string[]; preview: Preview } | null {
  const preview = renderPreview(ds, maxSide);
  if (!preview) return null;
  const uri = `data:image/png;base64,${Buffer.from(preview.png).toString('base64')}`;
  const rects: string[] = [];
  const stroke = Math.max(2, Math.round(Math.max(preview.rows, preview.cols) / 300));
  const t = r.tamperedTiles;
  if (t) {
    for (const [ty, tx] of t.tiles) {
      rects.push(`<rect class="tile" x="${tx * t.size}" y="${ty * t.size}" width="${Math.min(t.size, preview.cols - tx * t.size)}" height="${Math.min(t.size, preview.rows - ty * t.size)}" stroke-width="${stroke}"/>`);
    }
  }
  const wm = r.watermark?.blocks;
  if (wm) {
    for (const [by, bx] of wm.tampered) {
      rects.push(`<rect class="wm" x="${bx * wm.size + 2 * stroke}" y="${by * wm.size + 2 * stroke}" width="${Math.max(1, Math.min(wm.size, preview.cols - bx * wm.size) - 4 * stroke)}" height="${Math.max(1, Math.min(wm.size, preview.rows - by * wm.size) - 4 * stroke)}" stroke-width="${stroke}"/>`);
    }
  }
  const legend: string[] = [];
  if (t) legend.push(`<span class="key tile"></span> ${t.tiles.length} changed tile${t.tiles.length === 1 ? '' : 's'} of ${t.size}×${t.size} px (from the ${t.tableAuthenticated ? 'signed, still-authenticated' : 'signed'} tile hash table${t.tableAuthenticated ? '' : '; the table itself is not independently authenticated'})`);
  if (wm) legend.push(`<span class="key wm"></span> ${wm.tampered.length} watermark block${wm.tampered.length === 1 ? '' : 's'} of ${wm.size}×${wm.size} px where the site mark is missing or inconsistent`);
  if (!t && !wm) legend.push(r.verdict === 'authentic' ? 'Nothing changed: no regions to outline.' : 'No localisation available for this object.');
  else if (!rects.length) legend.push('No changed regions.');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${preview.cols} ${preview.rows}" width="${preview.width}" height="${preview.height}" role="img" aria-label="tamper map">` +
    `<image href="${uri}" x="0" y="0" width="${preview.cols}" height="${preview.rows}" preserveAspectRatio="none"/>${rects.join('')}</svg>`;
  return { svg, legend, preview };
}

/** What a badge shows: the verdict, its first reason, and who captured the image when. */
export interface VerdictSummary {
  verdict: VerifyReport['verdict'];
  title: string;
  colour: string;
  /** The first reason (empty for an authentic image). */
  reason: string;
  device: string | null;
  technologist: string | null;
  capturedAt: string | null;
  sopInstanceUid: string | null;
}

/**
 * The badge facts of a verified object. Device and technologist are those the verification
 * established (signed); the capture time is the attestation's, so it is signed too when the
 * verdict is authentic and only claimed otherwise.
 */
export function verdictSummary(r: VerifyReport, bytes: Uint8Array): VerdictSummary {
  let att: ReturnType<typeof readAttestation>;
  try {
    att = readAttestation(readPart10(bytes).dataSet);
  } catch {
    att = undefined;
  }
  const style = VERDICT_STYLE[r.verdict] ?? VERDICT_STYLE.invalid!;
  const tech = r.technologist;
  return {
    verdict: r.verdict, title: style.title, colour: style.colour, reason: r.reasons[0] ?? '',
    device: r.capture?.deviceId ?? null,
    technologist: tech ? `${tech.operatorsName ?? tech.operatorId ?? '(no name)'}${tech.accepted ? '' : ' (co-signature not accepted)'}` : null,
    capturedAt: formatDt(att?.captureDateTime),
    sopInstanceUid: r.sopInstanceUid,
  };
}

/** Builds the report page. `bytes` are the object's bytes (for the image, hash and identifiers). */
export function renderReportHtml(r: VerifyReport, bytes: Uint8Array, o: ReportOptions = {}): string {
  let ds: DataSet | null = null;
  try {
    ds = readPart10(bytes).dataSet;
  } catch {
    ds = null;
  }
  const str = (g: number, e: number) => (ds ? decodeString(findElement(ds, tag(g, e))?.value) || null : null);
  const att = ds ? readAttestation(ds) : undefined;
  const capturedAt = formatDt(att?.captureDateTime);
  const plain = VERDICT_STYLE[r.verdict] ?? VERDICT_STYLE.invalid!;
  const fileSha = createHash('sha256').update(bytes).digest('hex');

  // Tamper map.
  const map = ds ? tamperMap(r, ds, o.previewSize ?? 640) : null;
  const figure = map ? `<figure>${map.svg}<figcaption>${map.legend.join('<br>')}<br><span class="muted">Preview ${map.preview.width}×${map.preview.height} of ${map.preview.cols}×${map.preview.rows} px, contrast stretched for display.</span></figcaption></figure>`
    : '<p class="muted">No image preview: the object has no native grayscale pixel data radseal can draw.</p>';

  // What was checked.
  const rows: string[] = [];
  r.signatures.forEach((s, i) => {
    const d = s;
    const role = d?.role === 'device' ? 'device (Source)' : d?.role === 'device-attributes' ? 'device, attributes only (not Pixel Data)' : d?.role === 'technologist' ? 'technologist (Author)' : s.purpose;
    rows.push(check(s.valid && s.trusted && (d?.role === 'device-attributes' || (d?.policyOk ?? true)), `Signature ${d?.macId ?? i + 1}: ${role}`, `${s.algorithm} by ${s.signer}${s.time ? `, signed ${s.time}` : ''} — ${s.valid ? 'valid' : 'INVALID'}, ${s.trusted ? 'trusted' : 'not trusted'}${d && !d.policyOk && d.role !== 'device-attributes' ? ', does not meet policy' : ''}`));
  });
  if (!r.signatures.length) rows.push(check(false, 'Digital signatures', 'none present'));
  const pixelsOk = r.capture ? !r.reasons.some((x) => x.startsWith('Pixel Data does not match')) : null;
  rows.push(check(r.capture ? true : false, 'Capture attestation', r.capture ? `device ${r.capture.deviceId}, raw frame SHA-256 ${r.capture.rawSha256.slice(0, 16)}…` : 'absent'));
  const proof = r.pixelCheck?.by === 'device-signature' ? ` (proven by device signature ${r.pixelCheck.macId}, which covers Pixel Data and that hash; not rehashed)` : r.pixelCheck ? ' (rehashed)' : '';
  if (r.capture) rows.push(check(pixelsOk, 'Pixels match the hash recorded at capture', `${pixelsOk ? 'identical' : 'different'}${proof}`));
  if (r.tamperedTiles) rows.push(check(r.tamperedTiles.tiles.length === 0, 'Per-tile hashes', `${r.tamperedTiles.tiles.length} of ${r.tamperedTiles.rows * r.tamperedTiles.cols} tiles differ`));
  if (r.technologist) rows.push(check(r.technologist.accepted, 'Technologist co-signature', `${r.technologist.operatorsName ?? ''} (operator ${r.technologist.operatorId ?? 'none'}), signed by ${r.technologist.signer ?? 'nobody'}`));
  if (r.watermark) {
    const w = r.watermark;
    rows.push(check(w.present, 'Site watermark in the pixels', w.present ? `score ${w.score.toFixed(1)}, false-positive probability ${w.falsePositiveProbability > 0 ? '≤ ' + w.falsePositiveProbability.toExponential(1) : 'below 1e-300'}` : 'absent'));
    rows.push(check(w.payloadMatchesAttestation, 'Watermark names the attested device and frame', w.decoded ? `device ${w.decoded.device ?? 'tag ' + w.decoded.deviceTagHex}, frame ${w.decoded.frameSerial}` : 'payload unreadable'));
    rows.push(check(w.contentTagMatches, 'Watermark fits these pixels (not transplanted)', ''));
  } else if (o.watermarkChecked === false || r.watermark === undefined) {
    rows.push(check(null, 'Site watermark', 'not checked (no site watermark key given)'));
  }
  if (r.reencoded) rows.push(check(false, 'Encoding as sealed', `re-encoded (${r.transferSyntax ?? ''})`));

  const ident: Array<[string, string | null]> = [
    ['SOP Instance UID', str(0x0008, 0x0018)],
    ['Study Instance UID', str(0x0020, 0x000d)],
    ['Modality / body part / view', [str(0x0008, 0x0060), str(0x0018, 0x0015), str(0x0018, 0x5101)].filter(Boolean).join(' / ') || null],
    ['Institution / station', [str(0x0008, 0x0080), str(0x0008, 0x1010)].filter(Boolean).join(' / ') || null],
    ['File SHA-256', fileSha],
    ['Transfer syntax', r.transferSyntax ?? null],
  ];
  if (o.includePatient) ident.unshift(["Patient's Name", str(0x0010, 0x0010)], ['Patient ID', str(0x0010, 0x0020)]);

  const who: Array<[string, string | null]> = [
    ['Device', r.capture?.deviceId ?? null],
    ['Capture board', att?.boardId ?? null],
    ['Frame serial', att ? String(att.frameSerial) : null],
    ['Captured at', capturedAt],
    ['Technologist', r.technologist ? `${r.technologist.operatorsName ?? '(no name)'} — operator ${r.technologist.operatorId ?? 'none'}, co-signature ${r.technologist.accepted ? 'accepted' : 'NOT accepted'}` : str(0x0008, 0x1070)],
  ];
  const dl = (pairs: Array<[string, string | null]>) => `<dl>${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v ? esc(v) : '<span class="muted">not recorded</span>'}</dd>`).join('')}</dl>`;
  const generated = (o.generatedAt ?? new Date()).toISOString();

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>radseal verification report — ${esc(plain.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="radseal-summary" content="${esc(JSON.stringify(verdictSummary(r, bytes)))}">
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f4f2;color:#1d1d1d}
main{max-width:980px;margin:0 auto;padding:24px}
.banner{background:${plain.colour};color:#fff;padding:18px 22px;border-radius:8px}
.banner h1{margin:0 0 6px;font-size:26px}.banner p{margin:0;font-size:16px}
section{background:#fff;border-radius:8px;padding:16px 22px;margin-top:16px}
h2{font-size:17px;margin:0 0 10px}
dl{display:grid;grid-template-columns:220px 1fr;gap:4px 14px;margin:0}dt{color:#555}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%}td{padding:4px 8px;border-top:1px solid #eee;vertical-align:top}
.ok{color:#1b7a3a;font-weight:bold}.bad{color:#b3261e;font-weight:bold}.na{color:#888}.muted{color:#777}
figure{margin:0}svg{max-width:100%;height:auto;background:#000;display:block}
rect.tile{fill:rgba(230,30,30,.18);stroke:#ff2a2a}rect.wm{fill:none;stroke:#ffb000;stroke-dasharray:6 4}
.key{display:inline-block;width:14px;height:14px;vertical-align:-2px;border:2px solid}.key.tile{border-color:#ff2a2a;background:rgba(230,30,30,.18)}.key.wm{border-color:#ffb000;border-style:dashed}
figcaption{margin-top:8px}
ul{margin:0;padding-left:20px}pre{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:8px}
@page{size:A4;margin:14mm 12mm}
@media print{
body{background:#fff;font-size:10.5pt}main{max-width:none;padding:0}
.banner,.key,rect,svg{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section{padding:6px 0;margin-top:8px;border-top:1px solid #ccc;border-radius:0;break-inside:avoid}
figure{break-inside:avoid}svg{max-height:150mm;width:auto;margin:0 auto}
dl{grid-template-columns:48mm 1fr}details{display:none}
}
</style></head>
<body><main>
<div class="banner"><h1>${esc(plain.title)} <span style="font-weight:normal;font-size:16px">(verdict: ${esc(r.verdict)})</span></h1><p>${esc(verdictSentence(r, capturedAt))}</p></div>
<section><h2>Who captured it</h2>${dl(who)}</section>
<section><h2>Tamper map</h2>${figure}</section>
<section><h2>What was checked</h2><table>${rows.join('')}</table></section>
<section><h2>Reasons</h2>${r.reasons.length ? `<ul>${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '<p class="muted">None: every check passed.</p>'}</section>
<section><h2>Object</h2>${dl(ident)}</section>
<section><h2>About this report</h2>${dl([
    ['Generated', generated],
    ['Verifier', 'radseal 0.1.0 (radseal report)'],
    ['Trust anchors', o.trustAnchors?.length ? o.trustAnchors.join(', ') : null],
    ['Site watermark key', o.watermarkChecked ? 'given: the site mark was required' : 'not given'],
  ])}
<details><summary>Full verification result (JSON)</summary><pre>${esc(JSON.stringify(r, null, 2))}</pre></details></section>
</main></body></html>
`;
}
