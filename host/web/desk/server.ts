// The quarantine desk: a web page for the PACS administrator listing what the ingest kept out of
// PACS (verdict, reasons, source AE, time, tamper-map thumbnail), with the full report, and two
// decisions, release to PACS or delete, each with a mandatory reason, each an audit record
// (kind "admin", with the operator's name) in the hash-chained audit log.
//
// Never open: the desk starts only with a credential configured, either TLS with client
// certificates from the site CA (the certificate's CN is the operator) or admin tokens (a login
// form; a session cookie, HttpOnly, SameSite=Strict, Secure under TLS). Tokens cross the network
// only under TLS: without it the desk listens on loopback only. Forms carry a token bound to the
// session (or certificate) so another site cannot post a decision. URLs name objects by their
// SHA-256 only, and the log lines carry no UID or patient value.
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readPart10 } from '../../dicom/reader.js';
import { renderReportHtml, tamperMap } from '../../ingest/report.js';
import { isLoopback } from '../../ingest/service.js';
import type { AdminAction, AuditLog } from '../../ingest/audit.js';
import { describeTarget, sendTo, type PacsTarget } from '../../net/destination.js';
import { badge, esc, page, sendHtml } from '../page.js';
import { BodyTooLarge, destroyBodyAfterReply, readBody } from '../../io/http-body.js';
import { deleteQuarantined, findQuarantined, listQuarantine, markReleased, readQuarantined, type QuarantinedObject } from './quarantine.js';

/** Forms are small: a larger body is refused. */
const FORM_MAX_BYTES = 64 * 1024;

export interface DeskTls {
  key: Buffer;
  cert: Buffer;
  /** CA that issues administrators' client certificates; without it, TLS only protects the token login. */
  clientCa?: Buffer;
}

export interface DeskOptions {
  host: string;
  port: number;
  quarantineDir: string;
  audit: AuditLog;
  /** Where a released object goes (C-STORE or STOW-RS); without it, release is unavailable. */
  forward?: PacsTarget;
  /** Admin tokens, by operator name. */
  tokens?: Array<{ name: string; token: string }>;
  tls?: DeskTls;
  sessionHours?: number;
  log?: (m: string) => void;
}

export interface Desk {
  port: number;
  url: string;
  close(): Promise<void>;
}

const COOKIE = 'radseal_desk';
const MIN_REASON = 4;
const FAILED_SIGN_IN_DELAY_MS = 1000;
const hash = (s: string) => createHash('sha256').update(s).digest();

/** The one rule for "may this desk start": a credential, and tokens never in clear over a network. */
export function deskStartProblem(o: Pick<DeskOptions, 'host' | 'tokens' | 'tls'>): string | null {
  if (!o.tokens?.length && !o.tls?.clientCa) return 'the desk never runs open: give admin tokens (--token-file) or TLS with a client CA (--tls-key, --tls-cert, --client-ca)';
  if (o.tokens?.length && !o.tls && !isLoopback(o.host)) return `admin tokens would cross the network in clear: listen on loopback (127.0.0.1) or give --tls-key/--tls-cert (asked to listen on ${o.host})`;
  return null;
}

export function startDesk(o: DeskOptions): Promise<Desk> {
  const problem = deskStartProblem(o);
  if (problem) return Promise.reject(new Error(problem));
  const log = o.log ?? (() => {});
  const secret = randomBytes(32);
  const sessions = new Map<string, { operator: string; expires: number }>();
  const ttl = (o.sessionHours ?? 8) * 3600_000;
  const tokens = (o.tokens ?? []).map((t) => ({ name: t.name, digest: hash(t.token) }));
  const secure = !!o.tls;

  const who = (req: http.IncomingMessage): { operator: string; key: string } | null => {
    const sock = req.socket as TLSSocket;
    if (o.tls?.clientCa && sock.authorized) {
      const cert = sock.getPeerCertificate();
      const cn = Array.isArray(cert.subject?.CN) ? cert.subject.CN[0] : cert.subject?.CN;
      if (cn) return { operator: `cert:${cn}`, key: `cert:${cert.fingerprint256}` };
    }
    const sid = /(?:^|;\s*)radseal_desk=([0-9a-f]{64})/.exec(req.headers.cookie ?? '')?.[1];
    const s = sid ? sessions.get(sid) : undefined;
    if (s && s.expires > Date.now()) return { operator: s.operator, key: `session:${sid}` };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const named = bearer ? tokenName(bearer) : null;
    return named ? { operator: `token:${named}`, key: `token:${named}` } : null;
  };
  const tokenName = (given: string): string | null => {
    const d = hash(given);
    let found: string | null = null;
    for (const t of tokens) if (timingSafeEqual(d, t.digest)) found = t.name; // every token compared: no early exit
    return found;
  };
  const csrf = (key: string) => createHmac('sha256', secret).update(key).digest('hex');

  const loginPage = (status: number, res: http.ServerResponse, note = '') => sendHtml(res, status, page('radseal quarantine desk — sign in', `${note ? `<div class="msg err">${esc(note)}</div>` : ''}
${tokens.length ? `<form method="post" action="/login" class="act"><label>Admin token <input type="password" name="token" autocomplete="off" required></label><button>Sign in</button></form>` : ''}
${o.tls?.clientCa ? '<p class="muted">Or present a client certificate issued by the site CA.</p>' : ''}`));

  const list = (res: http.ServerResponse, me: { operator: string; key: string }, note: { text: string; error: boolean } | null) => {
    const objs = listQuarantine(o.quarantineDir);
    const token = csrf(me.key);
    const rows = objs.map((q) => row(q, token, !!o.forward)).join('');
    const body = `${note ? `<div class="msg${note.error ? ' err' : ''}">${esc(note.text)}</div>` : ''}
<p>${objs.length} object${objs.length === 1 ? '' : 's'} in quarantine. Release sends the original bytes to ${o.forward ? esc(describeTarget(o.forward)) : '<b>no PACS (start the desk with --forward to release)</b>'}. Every decision needs a reason and is written to the audit log.</p>
<table><thead><tr><th>Tamper map</th><th>Verdict</th><th>Reasons</th><th>Source</th><th>Received</th><th>Decision</th></tr></thead><tbody>${rows || '<tr><td colspan="6" class="muted">Nothing in quarantine.</td></tr>'}</tbody></table>`;
    sendHtml(res, 200, page('radseal quarantine desk', body, `<span>${esc(me.operator)}</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="${token}"><button>Sign out</button></form>`));
  };

  const decide = async (req: http.IncomingMessage, res: http.ServerResponse, me: { operator: string; key: string }, id: string, action: AdminAction) => {
    const form = new URLSearchParams((await readBody(req, FORM_MAX_BYTES)).toString('utf8'));
    if (form.get('csrf') !== csrf(me.key)) return sendHtml(res, 403, page('Refused', '<p>This form did not come from the desk (stale or forged). Reload the desk and try again.</p>'));
    const reason = (form.get('reason') ?? '').trim();
    const q = findQuarantined(o.quarantineDir, id);
    if (!q) return list(res, me, { text: 'That object is no longer in quarantine.', error: true });
    if (reason.length < MIN_REASON) return list(res, me, { text: `A reason is required to ${action === 'quarantine-release' ? 'release' : 'delete'} an object (at least ${MIN_REASON} characters). Nothing was done.`, error: true });
    const record = (outcome: 'success' | 'failure', detail = '') => o.audit.append({
      kind: 'admin', action, source: { via: 'desk', ae: null, host: req.socket.remoteAddress ?? null },
      sopInstanceUid: q.sopInstanceUid, fileSha256: q.id, location: `quarantine/${q.name}`,
      reason: detail ? `${reason} (${detail})` : reason, outcome, operator: me.operator,
    });
    const short = q.id.slice(0, 12);
    if (action === 'quarantine-delete') {
      deleteQuarantined(q);
      const rec = record('success');
      log(`desk: ${me.operator} deleted ${short} (audit #${rec.seq})`);
      return list(res, me, { text: `Deleted (audit record #${rec.seq}).`, error: false });
    }
    if (!o.forward) return list(res, me, { text: 'No PACS is configured for release (start the desk with --forward).', error: true });
    try {
      await sendTo(o.forward, readQuarantined(q));
    } catch (err) {
      const why = (err as Error).message.split('\n')[0]!.slice(0, 200);
      const rec = record('failure', why);
      log(`desk: ${me.operator} could not release ${short}: ${why} (audit #${rec.seq})`);
      return list(res, me, { text: `Not released: ${why} (audit record #${rec.seq}). The object stays in quarantine.`, error: true });
    }
    markReleased(o.quarantineDir, q);
    const rec = record('success');
    log(`desk: ${me.operator} released ${short} to ${describeTarget(o.forward)} (audit #${rec.seq})`);
    return list(res, me, { text: `Released to PACS (audit record #${rec.seq}).`, error: false });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://desk');
    const path = url.pathname;
    if (path === '/login' && req.method === 'POST') {
      const given = new URLSearchParams((await readBody(req, FORM_MAX_BYTES)).toString('utf8')).get('token') ?? '';
      const name = given ? tokenName(given) : null;
      if (!name) {
        log(`desk: refused a sign-in from ${req.socket.remoteAddress ?? '?'} (wrong token)`);
        await new Promise((r) => setTimeout(r, FAILED_SIGN_IN_DELAY_MS)); // slows guessing down
        return loginPage(401, res, 'That token is not valid.');
      }
      const sid = randomBytes(32).toString('hex');
      sessions.set(sid, { operator: `token:${name}`, expires: Date.now() + ttl });
      log(`desk: token:${name} signed in from ${req.socket.remoteAddress ?? '?'}`);
      res.writeHead(303, { location: '/', 'set-cookie': `${COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`, 'cache-control': 'no-store' });
      return res.end();
    }
    const me = who(req);
    if (!me) return path === '/' || path === '/login' ? loginPage(401, res) : sendHtml(res, 401, page('Sign in required', '<p><a href="/">Sign in</a> first.</p>'));
    if (path === '/logout' && req.method === 'POST') {
      const sid = me.key.startsWith('session:') ? me.key.slice(8) : null;
      const form = new URLSearchParams((await readBody(req, FORM_MAX_BYTES)).toString('utf8'));
      if (sid && form.get('csrf') === csrf(me.key)) sessions.delete(sid);
      res.writeHead(303, { location: '/', 'set-cookie': `${COOKIE}=; Max-Age=0; Path=/`, 'cache-control': 'no-store' });
      return res.end();
    }
    if (path === '/' && req.method === 'GET') return list(res, me, null);
    const m = /^\/object\/([0-9a-f]{64})\/(report|release|delete)$/.exec(path);
    if (m && m[2] === 'report' && req.method === 'GET') {
      const q = findQuarantined(o.quarantineDir, m[1]!);
      if (!q) return sendHtml(res, 404, page('Not found', '<p>That object is no longer in quarantine.</p>'));
      return sendHtml(res, 200, renderReportHtml(q.report, readQuarantined(q)));
    }
    if (m && req.method === 'POST') return decide(req, res, me, m[1]!, m[2] === 'release' ? 'quarantine-release' : 'quarantine-delete');
    return sendHtml(res, 404, page('Not found', '<p>No such page.</p>'));
  };

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err: Error) => {
      if (err instanceof BodyTooLarge) {
        sendHtml(res, 413, page('Too large', `<p>${esc(err.message)}</p>`));
        return destroyBodyAfterReply(req, res);
      }
      log(`desk: ${req.method} ${new URL(req.url ?? '/', 'http://desk').pathname.replace(/[0-9a-f]{64}/, '<id>')} failed: ${err.message.split('\n')[0]}`);
      if (!res.headersSent) sendHtml(res, 500, page('Error', `<p>${esc(err.message.split('\n')[0])}</p>`));
    });
  };
  const server = o.tls
    ? https.createServer({ key: o.tls.key, cert: o.tls.cert, ca: o.tls.clientCa, requestCert: !!o.tls.clientCa, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, listener)
    : http.createServer(listener);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        url: `${o.tls ? 'https' : 'http'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/`,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}

function row(q: QuarantinedObject, csrfToken: string, canRelease: boolean): string {
  let thumb = '<span class="muted">no image</span>';
  try {
    const map = tamperMap(q.report, readPart10(readQuarantined(q)).dataSet, 160);
    if (map) thumb = map.svg;
  } catch {
    thumb = '<span class="muted">unreadable</span>';
  }
  const src = q.source ? `${q.source.ae ? `AE ${q.source.ae}` : 'AE unknown'} via ${q.source.via}${q.source.host ? ` from ${q.source.host}` : ''}` : 'unknown';
  const form = (what: 'release' | 'delete', label: string, disabled: boolean) =>
    `<form class="act" method="post" action="/object/${q.id}/${what}"><input type="hidden" name="csrf" value="${csrfToken}"><input type="text" name="reason" placeholder="reason (required)" required minlength="${MIN_REASON}" aria-label="reason to ${what}"><button name="do" value="${what}"${disabled ? ' disabled' : ''}>${label}</button></form>`;
  return `<tr data-id="${q.id}"><td class="thumb">${thumb}</td><td>${badge(q.report.verdict, q.report.reasons[0])}</td>
<td><ul>${q.report.reasons.map((r) => `<li>${esc(r)}</li>`).join('') || '<li class="muted">none</li>'}</ul></td>
<td class="source">${esc(src)}</td><td>${esc(q.receivedAt ?? '')}</td>
<td><a class="report" href="/object/${q.id}/report" target="_blank" rel="noopener">Full report</a>${form('release', 'Release to PACS', !canRelease)}${form('delete', 'Delete', false)}</td></tr>`;
}
