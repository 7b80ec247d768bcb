// Shared pieces of radseal's web pages (viewer front end, quarantine desk): the verdict badge, the
// page frame with a Content-Security-Policy, and HTTP answers. Pages are server-rendered HTML
// without scripts; values always go through esc().
import type http from 'node:http';
import { esc, VERDICT_STYLE } from '../ingest/report.js';
import type { Verdict } from '../ingest/verify-report.js';

export { esc };

/** A verdict badge: the verdict as text on its colour, the reason on hover. */
export function badge(verdict: string, reason = ''): string {
  const style = VERDICT_STYLE[verdict as Verdict] ?? VERDICT_STYLE.invalid;
  return `<span class="badge" data-verdict="${esc(verdict)}" style="background:${style.colour}" title="${esc(reason)}">${esc(verdict)}</span>`;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f2;color:#1d1d1d}
header{background:#20303f;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center}header h1{font-size:18px;margin:0;flex:1}
main{padding:16px 20px}table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 8px;border-top:1px solid #ddd;text-align:left;vertical-align:top}
.badge{color:#fff;padding:2px 8px;border-radius:4px;font-weight:bold;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap}
.thumb svg{width:160px;height:auto;background:#000;display:block}rect.tile{fill:rgba(230,30,30,.25);stroke:#ff2a2a}rect.wm{fill:none;stroke:#ffb000}
form.act{display:flex;gap:4px;margin:2px 0}form.act input[type=text]{flex:1;min-width:160px}.msg{background:#fff;border-left:4px solid #1b7a3a;padding:8px 12px;margin-bottom:12px}
.err{border-left-color:#b3261e}.muted{color:#777}button{cursor:pointer}`;

/** A whole page: no scripts, nothing loaded from anywhere (the CSP forbids it), forms post to this origin only. */
export function page(title: string, body: string, headerExtra = ''): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1>${headerExtra}</header><main>${body}</main></body></html>
`;
}

export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function send(res: http.ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(buf.length), ...headers });
  res.end(buf);
}

export const sendHtml = (res: http.ServerResponse, status: number, html: string, headers: Record<string, string> = {}) =>
  send(res, status, 'text/html; charset=utf-8', html, headers);

