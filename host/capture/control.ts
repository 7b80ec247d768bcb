// The capture service's local control endpoint for `radseal worklist`: a Unix
// domain socket OUTBOX/worklist/control.sock, mode 0660 in a 0750 folder: the
// service's user and group may connect, nobody else.
//
// Why a Unix socket and not loopback HTTP: it has no port, so no other machine
// and no other network namespace can reach it, and who may connect is decided
// by file permissions the administrator already manages (the service's user
// and group, i.e. the workstation's technologists), with no token file to
// provision, protect and rotate. A loopback port is reachable by every local
// user and every process, browsers included.
//
// Protocol: one JSON request line per connection, one JSON answer line.
import net from 'node:net';
import { chmodSync, existsSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcedureDesk, Procedure } from './procedure.js';
import type { WorklistEntry } from '../net/worklist.js';
import type { Positioning } from './selection-state.js';
import { parseOrientation, parseViewPosition } from '../seal/meta.js';
import { makeDirs } from '../io/dirs.js';

export const CONTROL_FOLDER = 'worklist';
export const CONTROL_SOCKET = 'control.sock';
/** Owner and group may connect (connecting to a Unix socket needs write permission on it). */
export const CONTROL_SOCKET_MODE = 0o660;
const MAX_REQUEST_BYTES = 64 * 1024;
/** sun_path holds 108 bytes on Linux, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;

export const controlSocketPath = (outboxDir: string): string => join(outboxDir, CONTROL_FOLDER, CONTROL_SOCKET);

export type ControlRequest =
  | { op: 'status' }
  | { op: 'list' }
  | { op: 'select'; accession: string; step?: string; orientation?: string; view?: string }
  | { op: 'position'; orientation: string; view?: string }
  | { op: 'clear'; discontinued?: boolean }
  | { op: 'unassigned' }
  | { op: 'assign'; accession: string; step?: string; names: string[] | 'all'; user: string; orientation?: string; view?: string };

/** A selected procedure as the control endpoint shows it. */
export interface ProcedureSummary {
  accession: string;
  stepId: string;
  patientName: string;
  patientId: string;
  description: string;
  images: number;
  /** Patient Orientation (row\\column) and View Position of the following exposures, when said. */
  orientation?: string;
  view?: string;
}

export type ControlAnswer = { ok: true; [k: string]: unknown } | { ok: false; error: string };

export const summarize = (p: Procedure | null, positioning?: Positioning | null): ProcedureSummary | null => p && {
  accession: p.entry.accessionNumber, stepId: p.entry.scheduledStepId, patientName: p.entry.patientName, patientId: p.entry.patientId,
  description: p.entry.scheduledStepDescription || p.entry.requestedProcedureDescription, images: p.instances.length,
  ...(positioning ? { orientation: positioning.patientOrientation.join('\\'), ...(positioning.viewPosition ? { view: positioning.viewPosition } : {}) } : {}),
};

/** Orientation and view as sent by `radseal worklist`, checked here: the socket is where they come in. */
function positioningOf(orientation: unknown, view: unknown): Positioning | undefined {
  if (orientation === undefined) {
    if (view !== undefined) throw new Error('a view position goes with an orientation');
    return undefined;
  }
  if (typeof orientation !== 'string' || (view !== undefined && typeof view !== 'string')) throw new Error('orientation and view must be strings');
  return { patientOrientation: parseOrientation(orientation, 'orientation'), ...(view !== undefined ? { viewPosition: parseViewPosition(view, 'view') } : {}) };
}

async function answer(desk: ProcedureDesk, rq: ControlRequest): Promise<ControlAnswer> {
  const text = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || !v || v.length > 64) throw new Error(`${name} must be a non-empty string`);
    return v;
  };
  switch (rq.op) {
    case 'status':
      return { ok: true, selected: summarize(desk.current, desk.currentPositioning), held: desk.heldCount() };
    case 'list': {
      const entries: WorklistEntry[] = await desk.list();
      return { ok: true, entries, selected: desk.current?.entry.accessionNumber ?? null };
    }
    case 'select': {
      const positioning = positioningOf(rq.orientation, rq.view);
      return { ok: true, selected: summarize(await desk.select(text(rq.accession, 'accession'), rq.step === undefined ? undefined : text(rq.step, 'step'), positioning), positioning) };
    }
    case 'position': {
      const positioning = positioningOf(rq.orientation, rq.view);
      if (!positioning) throw new Error('position needs an orientation');
      desk.position(positioning);
      return { ok: true, selected: summarize(desk.current, positioning) };
    }
    case 'clear':
      return { ok: true, cleared: summarize(desk.clear(rq.discontinued ? 'DISCONTINUED' : 'COMPLETED')) };
    case 'unassigned':
      return { ok: true, held: desk.held() };
    case 'assign': {
      const names = rq.names === 'all' ? 'all' : Array.isArray(rq.names) ? rq.names.map((n) => text(n, 'name')) : undefined;
      if (!names) throw new Error('names must be a list of held exposures or "all"');
      return { ok: true, assigned: await desk.assign(text(rq.accession, 'accession'), names, text(rq.user, 'user'), rq.step === undefined ? undefined : text(rq.step, 'step'), positioningOf(rq.orientation, rq.view)) };
    }
    default:
      throw new Error(`unknown op ${JSON.stringify((rq as { op?: unknown }).op)}`);
  }
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

/** Whether something answers on a socket path (a running service), or it is a stale leftover. */
function answers(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect(path, () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });
}

/**
 * Listens on OUTBOX/worklist/control.sock. The socket is bound under a temporary name, given its mode,
 * then renamed into place, so it is never reachable with looser permissions than 0660.
 */
export async function startControlServer(outboxDir: string, desk: ProcedureDesk, log: (m: string) => void = () => {}): Promise<ControlServer> {
  const path = controlSocketPath(outboxDir);
  const tmp = `${path}.${process.pid}`;
  if (Buffer.byteLength(tmp) > MAX_SOCKET_PATH) throw new Error(`control socket path ${path} is too long for a Unix socket (at most ${MAX_SOCKET_PATH - 8} bytes): use a shorter outbox path`);
  const folder = join(outboxDir, CONTROL_FOLDER);
  makeDirs(folder, 0o750);
  chmodSync(folder, 0o750);
  if (existsSync(path)) {
    if (await answers(path)) throw new Error(`another capture service is running on ${outboxDir} (it answers on ${path})`);
    unlinkSync(path); // left by a service that did not stop cleanly
  }
  if (existsSync(tmp)) unlinkSync(tmp);
  let chain: Promise<unknown> = Promise.resolve();
  const server = net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(120000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REQUEST_BYTES) return void sock.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      sock.pause();
      // One request at a time: a selection never changes under an assignment being sealed.
      const work = chain.then(async (): Promise<ControlAnswer> => {
        let rq: ControlRequest;
        try {
          rq = JSON.parse(line) as ControlRequest;
        } catch {
          return { ok: false, error: 'request is not JSON' };
        }
        try {
          return await answer(desk, rq);
        } catch (err) {
          log(`worklist control: ${rq.op} failed: ${(err as Error).message}`);
          return { ok: false, error: (err as Error).message };
        }
      });
      chain = work;
      void work.then((a) => sock.end(JSON.stringify(a) + '\n'));
    });
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(tmp, () => res());
  });
  chmodSync(tmp, CONTROL_SOCKET_MODE);
  renameSync(tmp, path);
  return {
    path,
    close: () => new Promise<void>((res) => {
      server.close(() => res());
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }),
  };
}

/** Sends one request to a running capture service and returns its answer (throws on { ok: false }). */
export function controlRequest(path: string, rq: ControlRequest, timeoutMs = 60000): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    const sock = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      rej(new Error(`the capture service did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(rq) + '\n'));
    sock.on('data', (d: string) => (buf += d));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'no capture service with --worklist is running on that outbox'
        : e.code === 'EACCES' ? 'permission denied: you are not in the capture service\'s group' : e.message;
      rej(new Error(`cannot reach ${path}: ${why}`));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        const a = JSON.parse(buf) as ControlAnswer;
        if (!a.ok) rej(new Error(a.error));
        else res(a);
      } catch {
        rej(new Error('the capture service sent an unreadable answer'));
      }
    });
  });
}
