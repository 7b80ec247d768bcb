// radseal viewer: one origin serving the prebuilt OHIF Viewer, its app-config.js, a read-only
// DICOMweb proxy to the PACS, and radseal's verdicts. OHIF talks only to this origin (no CORS, no
// PACS credentials in the browser). Each instance's verdict is made here, on the bytes the PACS
// serves (fetched whole, as stored: transfer-syntax=*), and written into the instance metadata
// OHIF fetches, where the overlay configured in app-config.js shows it.
//
//   /app-config.js                     generated (host/web/viewer/app-config.ts)
//   /dicom-web/...                     GET/HEAD proxied to --pacs; .../metadata answers carry verdicts
//   /radseal/report/STUDY/SERIES/SOP   the full HTML report of one instance
//   anything else                      OHIF's files; unknown routes get index.html (OHIF routes itself)
import http from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { CertInfo } from '../../keys/certs.js';
import type { VerifyOptions, VerifyReport } from '../../ingest/verify.js';
import { verifyObject } from '../../ingest/verify.js';
import { renderReportHtml } from '../../ingest/report.js';
import { appConfigJs, VERDICT_CREATOR, VERDICT_TAGS } from './app-config.js';
import { sendHtml, send, page, esc } from '../page.js';

export interface ViewerOptions {
  host: string;
  port: number;
  /** DICOMweb root of the PACS, e.g. http://127.0.0.1:8042/dicom-web */
  pacs: string;
  /** The unpacked OHIF dist/ folder. */
  ohifDir: string;
  trust: CertInfo[];
  verify?: VerifyOptions;
  /** How long a verdict is reused before the instance is fetched and verified again (default 60 s). */
  verdictTtlMs?: number;
  log?: (m: string) => void;
}

export interface Viewer {
  port: number;
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.woff': 'font/woff',
  '.map': 'application/json', '.txt': 'text/plain; charset=utf-8', '.xml': 'application/xml', '.webmanifest': 'application/manifest+json',
};
const UID = /^[0-9.]{1,64}$/;
/** The reason as up to REASON_LINES lines (LO values) the overlay shows one per line: OHIF cuts long overlay lines. */
const REASON_LINE = 60;
const REASON_LINES = 4;

export function wrapLines(text: string, width: number, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : word.slice(0, width);
  }
  if (line) lines.push(line);
  if (lines.length > max) lines.splice(max - 1, lines.length, `${lines[max - 1]!.slice(0, width - 1)}…`);
  return lines.length ? lines : [''];
}
const CACHE_MAX = 10000;

/** The one part of a multipart/related answer (WADO-RS retrieve of one instance). */
export function firstPart(body: Buffer, contentType: string): Buffer {
  const b = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!b) return body; // a single-part answer
  const delim = Buffer.from(`--${b}`);
  const start = body.indexOf(delim);
  if (start < 0) throw new Error('multipart answer without its boundary');
  const headersEnd = body.indexOf('\r\n\r\n', start);
  const next = body.indexOf(Buffer.from(`\r\n--${b}`), headersEnd);
  if (headersEnd < 0 || next < 0) throw new Error('multipart answer cut short');
  return body.subarray(headersEnd + 4, next);
}

export function startViewer(o: ViewerOptions): Promise<Viewer> {
  const log = o.log ?? (() => {});
  const pacs = o.pacs.replace(/\/+$/, '');
  const ttl = o.verdictTtlMs ?? 60_000;
  const verdicts = new Map<string, { at: number; report: VerifyReport; bytes: Uint8Array | null }>();

  /** The instance's verification, made on the bytes the PACS serves now (cached for ttl). */
  const verdictOf = async (study: string, series: string, sop: string): Promise<{ report: VerifyReport; bytes: Uint8Array | null }> => {
    const hit = verdicts.get(sop);
    if (hit && Date.now() - hit.at < ttl) return hit;
    let made: { report: VerifyReport; bytes: Uint8Array | null };
    try {
      const r = await fetch(`${pacs}/studies/${study}/series/${series}/instances/${sop}`, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
      if (!r.ok) throw new Error(`the PACS answered ${r.status} for the instance`);
      const bytes = new Uint8Array(firstPart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type') ?? ''));
      made = { report: verifyObject(`${sop}.dcm`, bytes, o.trust, o.verify ?? {}), bytes };
      // The metadata names this instance; the bytes must be that instance, or the verdict is for another.
      if (made.report.sopInstanceUid !== sop && made.report.verdict === 'authentic') {
        made.report.verdict = 'invalid';
        made.report.reasons.unshift(`the PACS served SOP Instance ${made.report.sopInstanceUid ?? '(none)'} for ${sop}`);
      }
    } catch (err) {
      made = { report: { file: `${sop}.dcm`, verdict: 'invalid', reasons: [`could not be fetched from the PACS for checking: ${(err as Error).message}`], signatures: [], capture: null, technologist: null, sopClassUid: null, sopInstanceUid: null }, bytes: null };
    }
    verdicts.set(sop, { at: Date.now(), ...made });
    if (verdicts.size > CACHE_MAX) verdicts.delete(verdicts.keys().next().value!);
    return made;
  };

  /** Writes the verdicts into a DICOM JSON metadata answer (and drops any look-alikes the PACS held). */
  const withVerdicts = async (instances: Array<Record<string, { vr: string; Value?: unknown[] }>>): Promise<void> => {
    const val = (ds: Record<string, { Value?: unknown[] }>, tag: string) => (ds[tag]?.Value?.[0] as string | undefined) ?? '';
    await Promise.all(instances.map(async (ds) => {
      for (const k of Object.keys(ds)) if (k.toUpperCase().startsWith('0009')) delete ds[k];
      const [study, series, sop] = [val(ds, '0020000D'), val(ds, '0020000E'), val(ds, '00080018')];
      const r = UID.test(study) && UID.test(series) && UID.test(sop)
        ? (await verdictOf(study, series, sop)).report
        : { verdict: 'invalid', reasons: ['the metadata names no valid Study, Series and SOP Instance UID'] };
      ds[VERDICT_TAGS.creator] = { vr: 'LO', Value: [VERDICT_CREATOR] };
      ds[VERDICT_TAGS.verdict] = { vr: 'LO', Value: [r.verdict] };
      ds[VERDICT_TAGS.reason] = { vr: 'LO', Value: wrapLines(r.reasons[0] ?? '', REASON_LINE, REASON_LINES) };
      ds[VERDICT_TAGS.report] = { vr: 'UT', Value: [`/radseal/report/${study}/${series}/${sop}`] };
    }));
  };

  const proxy = async (req: http.IncomingMessage, res: http.ServerResponse, path: string, search: string) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'the viewer is read-only: GET and HEAD only', { allow: 'GET, HEAD' });
    const headers: Record<string, string> = {};
    for (const h of ['accept', 'range', 'if-none-match', 'if-modified-since']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
    const upstream = await fetch(`${pacs}${path.slice('/dicom-web'.length)}${search}`, { method: req.method, headers });
    const type = upstream.headers.get('content-type') ?? 'application/octet-stream';
    if (!upstream.ok) log(`viewer: the PACS answered ${upstream.status} to ${req.method} ${process.env.RADSEAL_DEBUG ? path + search : path.replace(/[0-9.]{8,}/g, '<uid>')}`);
    if (/\/metadata$/.test(path) && upstream.ok && /json/i.test(type)) {
      const body = JSON.parse(await upstream.text()) as unknown;
      if (Array.isArray(body)) await withVerdicts(body as Array<Record<string, { vr: string; Value?: unknown[] }>>);
      // Bulk data addresses the PACS gave in its own name point through this origin instead.
      const text = JSON.stringify(body).split(`${pacs}/`).join(`${`http://${req.headers.host}`}/dicom-web/`);
      return send(res, 200, 'application/dicom+json', text);
    }
    const out: Record<string, string> = { 'content-type': type, 'cache-control': 'no-store' };
    // Not content-length: fetch has already undone any content-encoding, so the PACS's length may not be this body's.
    for (const h of ['content-range', 'etag', 'last-modified']) { const v = upstream.headers.get(h); if (v) out[h] = v; }
    res.writeHead(upstream.status, out);
    if (!upstream.body || req.method === 'HEAD') return res.end();
    Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream).pipe(res);
  };

  const report = async (res: http.ServerResponse, study: string, series: string, sop: string) => {
    const { report: r, bytes } = await verdictOf(study, series, sop);
    if (!bytes) return sendHtml(res, 502, page('radseal report', `<p>${esc(r.reasons[0] ?? 'not available')}</p>`));
    sendHtml(res, 200, renderReportHtml(r, bytes, { trustAnchors: o.trust.map((c) => c.commonName), watermarkChecked: !!o.verify?.watermarkKey }));
  };

  const file = (req: http.IncomingMessage, res: http.ServerResponse, path: string) => {
    const rel = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
    let f = join(o.ohifDir, rel);
    if (!f.startsWith(o.ohifDir + sep) && f !== o.ohifDir) return send(res, 404, 'text/plain', 'not found');
    if (!existsSync(f) || !statSync(f).isFile()) {
      if (extname(rel)) return send(res, 404, 'text/plain', 'not found');
      f = join(o.ohifDir, 'index.html'); // an OHIF route (/viewer, /), handled by its router
    }
    res.writeHead(200, { 'content-type': TYPES[extname(f)] ?? 'application/octet-stream', 'content-length': String(statSync(f).size), 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(f).pipe(res);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://viewer');
    const path = url.pathname;
    const work = async () => {
      if (path === '/app-config.js') return send(res, 200, 'text/javascript; charset=utf-8', appConfigJs());
      if (path === '/dicom-web' || path.startsWith('/dicom-web/')) return proxy(req, res, path, url.search);
      const m = /^\/radseal\/report\/([0-9.]{1,64})\/([0-9.]{1,64})\/([0-9.]{1,64})$/.exec(path);
      if (m) return report(res, m[1]!, m[2]!, m[3]!);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only');
      return file(req, res, path);
    };
    work().catch((err: Error) => {
      log(`viewer: ${req.method} ${path.split('/').slice(0, 3).join('/')} failed: ${err.message.split('\n')[0]}`);
      if (!res.headersSent) send(res, 502, 'text/plain', `radseal viewer: ${err.message.split('\n')[0]}`);
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port, url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/`,
        close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}
