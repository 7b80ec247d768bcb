// Technologist sessions for a running capture service (docs/SESSIONS.md): a
// Unix socket, 0600 in a 0700 folder of the outbox, over which `radseal tech`
// logs a technologist in (operator id and PIN), out, asks who is logged in,
// and confirms held exposures. The service unlocks the technologist's key
// itself (a PIN-encrypted key file, or a session on their PKCS#11 token) and
// keeps it in memory only: no key, unlocked or not, crosses the socket or is
// written anywhere. Every login, logout, timeout and refused PIN goes to the
// capture log and to the append-only session log; a PIN never does.
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir } from '../io/atomic.js';
import { operatorIdProblem } from '../keys/ids.js';
import { loadTechnologist, loadTokenTechnologist } from '../seal/device.js';
import { parsePkcs11Uri } from '../keys/pkcs11.js';
import { TechnologistSession, type SessionEvent, type SessionState, type Technologist, type TechnologistProvider, type WithoutTechnologist } from '../seal/session.js';

export interface SessionEndpointOptions {
  /** The capture service's outbox: the socket and the session log live there. */
  outboxDir: string;
  /**
   * Enrolled technologists: <id>.crt (CN = id) with <id>.key (PIN-encrypted PKCS#8) or
   * <id>.p11 (a PKCS#11 URI naming their key on a token, without a PIN).
   */
  technologistsDir: string;
  idleTimeoutMs: number;
  withoutTechnologist: WithoutTechnologist;
  /** Seals the held exposures with this technologist's co-signature; returns how many. */
  confirm?: (technologist: Technologist) => Promise<number>;
  /** How many exposures wait for a technologist's confirmation. */
  heldCount?: () => number;
  log?: (m: string) => void;
  now?: () => number;
  /** Pause after a refused PIN, so PINs cannot be tried at machine speed (default 1 s). */
  refusalDelayMs?: number;
  /** The token holding the device key, when it is on one: no technologist key may share it. */
  deviceToken?: { module: string; token: string };
}

export type SessionRequest =
  | { op: 'login'; operatorId: string; pin: string }
  | { op: 'logout' }
  | { op: 'status' }
  | { op: 'confirm' };

export interface SessionStatus {
  session: (SessionState & { idleTimeoutMs: number }) | null;
  withoutTechnologist: WithoutTechnologist;
  held: number;
}

export type SessionReply = ({ ok: true } & Partial<SessionStatus> & { confirmed?: number; operatorId?: string }) | { ok: false; error: string };

export const sessionSocketPath = (outboxDir: string): string => join(outboxDir, 'session', 'control.sock');
export const sessionLogPath = (outboxDir: string): string => join(outboxDir, 'session.log');

const MAX_REQUEST_BYTES = 4096;
const CONNECTION_TIMEOUT_MS = 10_000;

/** A refusal worth telling the technologist as "wrong PIN", from the key file's or the token's error. */
const isPinRefusal = (message: string): boolean => /wrong PIN|CKR_PIN_INCORRECT|CKR_PIN_LEN_RANGE|CKR_PIN_LOCKED/.test(message);

export class SessionEndpoint {
  readonly session: TechnologistSession;
  /** Told of every refused login (the audit trail's Security Alert); never of the PIN. */
  onLoginRefused: ((operatorId: string, reason: string) => void) | null = null;
  readonly socketPath: string;
  readonly logPath: string;
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly log: (m: string) => void;
  /** The token the logged-in technologist's key is on, if it is on one. */
  private sessionToken: string | undefined;

  constructor(private readonly o: SessionEndpointOptions) {
    this.session = new TechnologistSession(o.idleTimeoutMs);
    this.socketPath = sessionSocketPath(o.outboxDir);
    this.logPath = sessionLogPath(o.outboxDir);
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => {});
  }

  /**
   * The provider the sealing paths call for each object: the logged-in technologist, or undefined.
   * Sealing an object for them counts as activity and pushes the idle timeout out.
   */
  readonly technologist: TechnologistProvider = () => {
    const now = this.now();
    this.apply(this.session.expire(now));
    const who = this.session.current(now);
    if (who) this.session.touch(now);
    return who;
  };

  async start(): Promise<void> {
    // Unix socket paths are limited to 107 bytes on Linux.
    if (Buffer.byteLength(this.socketPath) > 107) throw new Error(`the session socket path ${this.socketPath} is too long for a Unix socket: use a shorter outbox path`);
    privateDir(join(this.o.outboxDir, 'session'));
    // A socket left by a service that was killed: nothing listens on it any more.
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
    this.server = server;
    const tick = Math.max(50, Math.min(1000, Math.floor(this.o.idleTimeoutMs / 4)));
    this.timer = setInterval(() => this.apply(this.session.expire(this.now())), tick);
    this.timer.unref();
    this.log(`session: technologists log in with radseal tech login (socket ${this.socketPath}); idle timeout ${formatMinutes(this.o.idleTimeoutMs)}; with nobody logged in: ${this.o.withoutTechnologist === 'hold' ? 'hold exposures until a technologist confirms' : 'seal device-only'}`);
  }

  /** Ends the session (its token session is closed) and removes the socket. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.busy;
    this.endSession('the capture service stopped');
  }

  status(): SessionStatus {
    const now = this.now();
    this.apply(this.session.expire(now));
    const state = this.session.state(now);
    return { session: state ? { ...state, idleTimeoutMs: this.o.idleTimeoutMs } : null, withoutTechnologist: this.o.withoutTechnologist, held: this.o.heldCount?.() ?? 0 };
  }

  /** One request per connection, answered in arrival order (a login's key unlock is not interleaved). */
  private serve(sock: Socket): void {
    sock.setTimeout(CONNECTION_TIMEOUT_MS, () => sock.destroy());
    let buffered = '';
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      if (buffered.length > MAX_REQUEST_BYTES) return void sock.destroy();
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      sock.removeAllListeners('data');
      const line = buffered.slice(0, nl);
      buffered = ''; // the PIN is not kept around longer than the request
      const reply = (this.busy = this.busy.then(() => this.answer(line)).catch((err: unknown) => ({ ok: false, error: (err as Error).message })));
      void (reply as Promise<SessionReply>).then((r) => sock.end(JSON.stringify(r) + '\n'));
    });
  }

  private async answer(line: string): Promise<SessionReply> {
    let req: SessionRequest;
    try {
      req = JSON.parse(line) as SessionRequest;
    } catch {
      return { ok: false, error: 'not a JSON request' };
    }
    switch (req?.op) {
      case 'login':
        return this.login(req.operatorId, req.pin);
      case 'logout': {
        const events = this.session.logout(this.now());
        this.apply(events);
        const ended = events.find((e) => e.kind === 'end');
        return ended ? { ok: true, operatorId: ended.operatorId } : { ok: false, error: 'nobody is logged in' };
      }
      case 'status':
        return { ok: true, ...this.status() };
      case 'confirm':
        return this.confirm();
      default:
        return { ok: false, error: 'unknown request' };
    }
  }

  private async login(operatorId: unknown, pin: unknown): Promise<SessionReply> {
    if (typeof operatorId !== 'string') return { ok: false, error: 'no operator id given' };
    // The id names files in the technologists folder: the site's rule, and never a leading dot.
    const problem = operatorIdProblem(operatorId) ?? (operatorId.startsWith('.') ? `operator id "${operatorId}" must not start with "."` : null);
    if (problem) return { ok: false, error: problem };
    if (typeof pin !== 'string' || !pin) return { ok: false, error: 'no PIN given' };
    let tech: Technologist;
    let token: string | undefined;
    try {
      token = this.tokenOf(operatorId);
      const d = this.o.deviceToken;
      if (token && d && token === tokenKey(d.module, d.token)) throw new Error(`${operatorId}'s key is on the device's token, where the device's login would accept any PIN; enrol them on a token of their own`);
      // While a session of this process is logged in to a token, the token answers any PIN with
      // CKR_USER_ALREADY_LOGGED_IN: end that session first, so the PIN is really checked.
      if (token && token === this.sessionToken) this.endSession('a new login on the same token');
      tech = this.unlock(operatorId, pin);
    } catch (err) {
      const message = (err as Error).message;
      const reason = isPinRefusal(message) ? 'PIN refused' : message;
      this.record('refused', operatorId, { reason });
      this.log(`session: login of ${operatorId} refused: ${reason}`);
      this.onLoginRefused?.(operatorId, reason);
      await new Promise((r) => setTimeout(r, this.o.refusalDelayMs ?? 1000));
      return { ok: false, error: reason === 'PIN refused' ? `login of ${operatorId} refused: wrong PIN` : `login of ${operatorId} refused: ${reason}` };
    }
    this.apply(this.session.login(tech, this.now()));
    this.sessionToken = token;
    return { ok: true, operatorId: tech.operatorId, ...this.status() };
  }

  /** The token (module and label) a technologist's key is on; undefined for a key file. */
  private tokenOf(operatorId: string): string | undefined {
    const base = join(this.o.technologistsDir, operatorId);
    if (existsSync(`${base}.key`) || !existsSync(`${base}.p11`)) return undefined;
    const ref = parsePkcs11Uri(readFileSync(`${base}.p11`, 'utf8').trim());
    return tokenKey(ref.module, ref.token);
  }

  private endSession(reason: string): void {
    for (const e of this.session.logout(this.now())) {
      if (e.kind !== 'end') continue;
      e.ended.close?.();
      this.sessionToken = undefined;
      this.record('logout', e.operatorId, { reason });
      this.log(`session: ${e.operatorId} logged out: ${reason}`);
    }
  }

  /** The technologist's key, unlocked in this process's memory only. */
  private unlock(operatorId: string, pin: string): Technologist {
    const base = join(this.o.technologistsDir, operatorId);
    if (!existsSync(`${base}.crt`)) throw new Error(`no technologist "${operatorId}" is enrolled at this station`);
    const tech = existsSync(`${base}.key`) ? loadTechnologist(`${base}.key`, `${base}.crt`, pin)
      : existsSync(`${base}.p11`) ? loadTokenTechnologist(readFileSync(`${base}.p11`, 'utf8').trim(), `${base}.crt`, pin)
      : undefined;
    if (!tech) throw new Error(`technologist "${operatorId}" has a certificate but neither ${operatorId}.key nor ${operatorId}.p11`);
    if (tech.operatorId !== operatorId) {
      tech.close?.();
      throw new Error(`${operatorId}.crt names "${tech.operatorId}", not "${operatorId}"`);
    }
    return tech;
  }

  private async confirm(): Promise<SessionReply> {
    const who = this.technologist();
    if (!who) return { ok: false, error: 'nobody is logged in: log in first, then confirm the held exposures' };
    if (!this.o.confirm) return { ok: true, confirmed: 0, ...this.status() };
    const confirmed = await this.o.confirm(who as Technologist);
    this.record('confirm', who.operatorId, { confirmed });
    this.log(`session: ${who.operatorId} confirmed ${confirmed} held exposure(s); they are sealed with their co-signature and queued for PACS`);
    return { ok: true, confirmed, ...this.status() };
  }

  /** Logs the session's changes and closes the token session of whoever left. */
  private apply(events: SessionEvent[]): void {
    for (const e of events) {
      if (e.kind === 'login') {
        this.record('login', e.operatorId, { operatorsName: e.operatorsName });
        this.log(`session: ${e.operatorId}${e.operatorsName ? ` (${e.operatorsName})` : ''} logged in; objects are co-signed by them until logout or ${formatMinutes(this.o.idleTimeoutMs)} without activity`);
      } else {
        e.ended.close?.();
        this.sessionToken = undefined;
        this.record(e.reason === 'timeout' ? 'timeout' : 'logout', e.operatorId, { reason: e.reason === 'replaced' ? 'another technologist logged in' : e.reason, since: new Date(e.since).toISOString() });
        this.log(`session: ${e.operatorId} ${e.reason === 'timeout' ? `logged out after ${formatMinutes(this.o.idleTimeoutMs)} without activity` : e.reason === 'replaced' ? 'logged out: another technologist logged in' : 'logged out'}`);
      }
    }
  }

  /** One JSON line appended to the session log and fsynced: never a PIN, never key material. */
  private record(event: 'login' | 'logout' | 'timeout' | 'refused' | 'confirm', operatorId: string, fields: Record<string, unknown>): void {
    const line = JSON.stringify({ time: new Date(this.now()).toISOString(), event, operatorId, ...fields }) + '\n';
    const fd = openSync(this.logPath, 'a', 0o640);
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

const tokenKey = (module: string, token: string): string => `${module}\u0000${token}`;

function formatMinutes(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${(ms / 1000).toFixed(1)} s`;
}

/** Sends one request to a capture service's session socket (what `radseal tech` runs). */
export function sessionRequest(socketPath: string, req: SessionRequest, timeoutMs = 30_000): Promise<SessionReply> {
  return new Promise((resolve, reject) => {
    if (!existsSync(socketPath)) return reject(new Error(`no capture service with technologist sessions is running here (${socketPath} does not exist)`));
    const sock = createConnection(socketPath);
    let answer = '';
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error('the capture service did not answer')));
    sock.on('data', (d: Buffer) => (answer += d.toString('utf8')));
    sock.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EACCES' ? new Error(`cannot reach the capture service: ${socketPath} belongs to its user (run radseal tech as that user)`)
      : err.code === 'ECONNREFUSED' ? new Error('the capture service is not running (stale socket)') : err));
    sock.on('end', () => {
      try {
        resolve(JSON.parse(answer) as SessionReply);
      } catch {
        reject(new Error('the capture service sent an unreadable answer'));
      }
    });
    sock.write(JSON.stringify(req) + '\n'); // not end(): the service answers on the same connection
  });
}
