// One DICOM association as the requestor (PS3.8 upper layer): connect (TCP or
// TLS), A-ASSOCIATE-RQ/AC/RJ, DIMSE messages framed in P-DATA-TF, A-RELEASE,
// A-ABORT. Every SCU in radseal (C-STORE, C-ECHO, C-FIND, N-CREATE/N-SET) runs
// over this class; each knows only its own command sets.
//
// Data sets go out exactly as given (a sealed object's bytes are signed) and
// come back exactly as received; encoding them is the caller's business.
import net from 'node:net';
import tls from 'node:tls';
import { clientTlsOptions, type DicomTls } from './tls.js';
import { aeTitleProblem, APP_CONTEXT, ascii, associateHead, cat, commandElement, commandSet, commandUs, item, maxFragment, parseCommand, pdataHeader, pdataPdus, pdu, trimText, userInformation, usValue } from './pdu.js';

export class DicomNetError extends Error {
  override name = 'DicomNetError';
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

/** A peer to associate with: AE@HOST:PORT, optionally over TLS. */
export interface AssociationTarget {
  calledAe: string;
  host: string;
  port: number;
  callingAe?: string;
  timeoutMs?: number;
  maxPduBytes?: number;
  /** DICOM over TLS (host/net/tls.ts): the SCP's certificate must chain to tls.ca and name host. */
  tls?: DicomTls;
}

/** Parses AE@HOST:PORT; `what` names the option in the error. */
/** The one AE title rule (pdu.ts), here beside the target parser that applies it. */
export { aeTitleProblem };

export function parseTarget(s: string, what = 'forward target'): AssociationTarget {
  const m = /^([^@]*)@(.+):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`${what} must be AE@HOST:PORT (AE up to 16 chars), got "${s}"`);
  const problem = aeTitleProblem(m[1]!);
  if (problem) throw new Error(`${what} "${s}": ${problem}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`${what} "${s}": port ${port} is outside 1-65535`);
  return { calledAe: m[1]!, host: m[2]!, port };
}

/** How a peer is named in messages. */
export const describePeer = (t: AssociationTarget): string => `${t.calledAe}@${t.host}:${t.port}${t.tls ? ' (TLS)' : ''}`;

/** What we propose: one abstract syntax (SOP class) with the transfer syntaxes we can use for it. */
export interface ProposedContext {
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/** A presentation context the peer accepted. */
export interface AcceptedContext {
  id: number;
  abstractSyntax: string;
  transferSyntax: string;
}

/** One DIMSE message received: its command set and, when one followed, its data set bytes. */
export interface DimseMessage {
  contextId: number;
  command: Map<number, Uint8Array>;
  dataSet?: Uint8Array;
}

export const DIMSE = {
  affectedSopClass: 0x00000002,
  requestedSopClass: 0x00000003,
  commandField: 0x00000100,
  messageId: 0x00000110,
  messageIdBeingRespondedTo: 0x00000120,
  priority: 0x00000700,
  dataSetType: 0x00000800,
  status: 0x00000900,
  errorComment: 0x00000902,
  affectedSopInstance: 0x00001000,
  requestedSopInstance: 0x00001001,
} as const;
/** Command Data Set Type (0000,0800): no data set follows. */
export const NO_DATA_SET = 0x0101;

const REJECT_REASONS: Record<number, string> = { 1: 'no reason given', 2: 'application context not supported', 3: 'calling AE not recognized', 7: 'called AE not recognized' };

/** Reads whole PDUs from a socket. */
class PduReader {
  private buf: Uint8Array = new Uint8Array(0);
  private waiters: Array<(p: { type: number; body: Uint8Array } | Error) => void> = [];
  private queue: Array<{ type: number; body: Uint8Array }> = [];
  private error: Error | null = null;
  constructor(sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = cat(this.buf, d);
      for (;;) {
        if (this.buf.length < 6) break;
        const len = new DataView(this.buf.buffer, this.buf.byteOffset).getUint32(2, false);
        if (this.buf.length < 6 + len) break;
        this.deliver({ type: this.buf[0]!, body: this.buf.slice(6, 6 + len) });
        this.buf = this.buf.slice(6 + len);
      }
    });
    const fail = (e: Error) => {
      this.error ??= e;
      for (const w of this.waiters.splice(0)) w(e);
    };
    sock.on('error', (e) => fail(new DicomNetError(`connection error: ${e.message}`, true)));
    sock.on('close', () => fail(new DicomNetError('connection closed by peer', true)));
  }
  private deliver(p: { type: number; body: Uint8Array }): void {
    const w = this.waiters.shift();
    if (w) w(p);
    else this.queue.push(p);
  }
  next(timeoutMs: number): Promise<{ type: number; body: Uint8Array }> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.error) return Promise.reject(this.error);
    return new Promise((res, rej) => {
      const waiter = (p: { type: number; body: Uint8Array } | Error) => {
        clearTimeout(timer);
        if (p instanceof Error) rej(p);
        else res(p);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        rej(new DicomTimeoutError(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/** The peer did not answer in time; the association is still open (a C-FIND may be cancelled). */
export class DicomTimeoutError extends DicomNetError {
  override name = 'DicomTimeoutError';
  constructor(message: string) {
    super(message, true);
  }
}

function connect(t: AssociationTarget, timeout: number): Promise<net.Socket> {
  return new Promise<net.Socket>((res, rej) => {
    const s = t.tls ? tls.connect({ host: t.host, port: t.port, ...clientTlsOptions(t.tls, t.host) }) : net.connect({ host: t.host, port: t.port });
    const timer = setTimeout(() => {
      s.destroy();
      rej(new DicomNetError(`connect to ${t.host}:${t.port} timed out`, true));
    }, timeout);
    s.once(t.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      res(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      // Retryable even for a certificate problem: the caller's work stays queued while someone fixes it.
      rej(new DicomNetError(`cannot connect to ${describePeer(t)}: ${e.message}`, true));
    });
  });
}

function associateRq(t: AssociationTarget, contexts: ProposedContext[], maxPdu: number): Uint8Array {
  const pcs = contexts.map((c, i) => item(0x20, cat(Uint8Array.of(2 * i + 1, 0, 0, 0), item(0x30, ascii(c.abstractSyntax)), ...c.transferSyntaxes.map((ts) => item(0x40, ascii(ts))))));
  return pdu(0x01, cat(associateHead(t.calledAe, t.callingAe ?? 'RADSEAL'), item(0x10, ascii(APP_CONTEXT)), ...pcs, userInformation(maxPdu)));
}

/** One presentation data value of a P-DATA-TF PDU. */
interface Pdv {
  contextId: number;
  /** Message control header: bit 0 command, bit 1 last fragment. */
  control: number;
  fragment: Uint8Array;
}

export class Association {
  private nextMessageId = 1;
  private released = false;
  /** PDVs read but not yet consumed. */
  private readonly pending: Pdv[] = [];

  private constructor(
    readonly target: AssociationTarget,
    private readonly sock: net.Socket,
    private readonly reader: PduReader,
    readonly accepted: AcceptedContext[],
    /** Presentation context id → result (0 acceptance, 1 user rejection, 3 abstract syntax, 4 transfer syntaxes not supported). */
    private readonly results: Map<number, number>,
    private readonly sendMaxPdu: number,
    readonly timeoutMs: number,
  ) {}

  /**
   * Connects and negotiates. Throws DicomNetError when the peer rejects the association
   * (retryable only for a transient rejection) or accepts none of the contexts proposed.
   */
  static async open(t: AssociationTarget, contexts: ProposedContext[]): Promise<Association> {
    const timeout = t.timeoutMs ?? 30000;
    const maxPdu = t.maxPduBytes ?? 65536;
    const sock = await connect(t, timeout);
    const reader = new PduReader(sock);
    try {
      await write(sock, associateRq(t, contexts, maxPdu));
      const ac = await reader.next(timeout);
      if (ac.type === 0x03) {
        const reason = ac.body[3]!;
        throw new DicomNetError(`association rejected by ${t.calledAe} (result ${ac.body[1]}, source ${ac.body[2]}, reason ${reason}: ${REJECT_REASONS[reason] ?? 'unknown'})`, ac.body[1] === 2);
      }
      if (ac.type === 0x07) throw new DicomNetError(`association aborted by ${t.calledAe} during negotiation`, true);
      if (ac.type !== 0x02) throw new DicomNetError(`expected A-ASSOCIATE-AC, got PDU type 0x${ac.type.toString(16)}`, true);
      let peerMax = 0;
      const accepted: AcceptedContext[] = [];
      const results = new Map<number, number>();
      const dv = new DataView(ac.body.buffer, ac.body.byteOffset, ac.body.byteLength);
      for (let o = 68; o + 4 <= ac.body.length; ) {
        const type = ac.body[o]!;
        const len = dv.getUint16(o + 2, false);
        const b = ac.body.subarray(o + 4, o + 4 + len);
        if (type === 0x21) results.set(b[0]!, b[2]!);
        if (type === 0x21 && b[2] === 0) {
          const proposed = contexts[(b[0]! - 1) / 2];
          const tsItem = b.subarray(4);
          const ts = tsItem.length >= 4 && tsItem[0] === 0x40 ? trimText(tsItem.subarray(4, 4 + ((tsItem[2]! << 8) | tsItem[3]!))) : '';
          if (proposed && proposed.transferSyntaxes.includes(ts)) accepted.push({ id: b[0]!, abstractSyntax: proposed.abstractSyntax, transferSyntax: ts });
        }
        if (type === 0x50) {
          for (let u = 0; u + 4 <= b.length; ) {
            const ulen = new DataView(b.buffer, b.byteOffset + u).getUint16(2, false);
            if (b[u] === 0x51 && ulen >= 4) peerMax = new DataView(b.buffer, b.byteOffset + u + 4).getUint32(0, false);
            u += 4 + ulen;
          }
        }
        o += 4 + len;
      }
      const sendMax = peerMax > 0 ? Math.min(peerMax, 1 << 22) : 1 << 20;
      return new Association(t, sock, reader, accepted, results, sendMax, timeout);
    } catch (err) {
      sock.destroy();
      throw err;
    }
  }

  /** The accepted context for a SOP class, if any. */
  contextFor(abstractSyntax: string): AcceptedContext | undefined {
    return this.accepted.find((c) => c.abstractSyntax === abstractSyntax);
  }

  /** Why the peer refused the i-th proposed context: its result code, or -1 when it did not answer for it. */
  contextResult(index: number): number {
    return this.results.get(2 * index + 1) ?? -1;
  }

  /** The accepted context for a SOP class, or a DicomNetError (not retryable) naming it. */
  requireContext(abstractSyntax: string, what: string): AcceptedContext {
    const c = this.contextFor(abstractSyntax);
    if (!c) {
      this.abort();
      throw new DicomNetError(`${this.target.calledAe} does not accept ${what} (SOP class ${abstractSyntax})`, false);
    }
    return c;
  }

  newMessageId(): number {
    const id = this.nextMessageId;
    this.nextMessageId = (this.nextMessageId % 0xffff) + 1;
    return id;
  }

  /** Sends a command set (elements without the group length) and, if given, its data set. */
  async send(contextId: number, command: Uint8Array[], dataSet?: Uint8Array): Promise<void> {
    const fields = [...command, commandElement(DIMSE.dataSetType, usValue(dataSet ? 0x0000 : NO_DATA_SET))];
    fields.sort((a, b) => tagOf(a) - tagOf(b));
    for (const p of pdataPdus(contextId, commandSet(fields), true, this.sendMaxPdu)) await write(this.sock, p);
    if (dataSet) await writeDataSet(this.sock, contextId, dataSet, this.sendMaxPdu);
  }

  /**
   * The next DIMSE message: its command and the data set that goes with it. Throws
   * DicomTimeoutError when nothing came within `timeoutMs` (the association stays usable),
   * DicomNetError on A-ABORT or a broken connection.
   */
  async receive(timeoutMs = this.timeoutMs): Promise<DimseMessage> {
    const commandParts: Uint8Array[] = [];
    const dataParts: Uint8Array[] = [];
    let command: Map<number, Uint8Array> | null = null;
    for (;;) {
      const pdv = this.pending.shift() ?? (await this.nextPdvs(timeoutMs));
      if (!pdv) continue;
      const { contextId, control, fragment } = pdv;
      if (control & 1) {
        commandParts.push(fragment);
        if (control & 2) {
          command = parseCommand(cat(...commandParts));
          if (commandUs(command, DIMSE.dataSetType) === NO_DATA_SET) return { contextId, command };
        }
      } else {
        if (!command) throw new DicomNetError(`${this.target.calledAe} sent a data set before its command`, true);
        dataParts.push(fragment);
        if (control & 2) return { contextId, command, dataSet: cat(...dataParts) };
      }
    }
  }

  /** Reads one P-DATA-TF PDU into the queue of PDVs (one PDU may end one message and start the next); returns the first. */
  private async nextPdvs(timeoutMs: number): Promise<Pdv | undefined> {
    const r = await this.reader.next(timeoutMs);
    if (r.type === 0x07) throw new DicomNetError(`association aborted by ${this.target.calledAe} (source ${r.body[2]}, reason ${r.body[3]})`, true);
    if (r.type !== 0x04) throw new DicomNetError(`expected P-DATA-TF, got PDU type 0x${r.type.toString(16)}`, true);
    const dv = new DataView(r.body.buffer, r.body.byteOffset, r.body.byteLength);
    for (let o = 0; o + 6 <= r.body.length; ) {
      const len = dv.getUint32(o, false);
      if (len < 2 || o + 4 + len > r.body.length) throw new DicomNetError(`${this.target.calledAe} sent a malformed P-DATA-TF`, false);
      this.pending.push({ contextId: r.body[o + 4]!, control: r.body[o + 5]!, fragment: r.body.subarray(o + 6, o + 4 + len) });
      o += 4 + len;
    }
    return this.pending.shift();
  }

  /** A-RELEASE: asks the peer to end the association; a missing reply changes nothing done on it. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await write(this.sock, pdu(0x05, new Uint8Array(4)));
      const rp = await this.reader.next(Math.min(this.timeoutMs, 5000));
      if (rp.type !== 0x06) throw new Error('no A-RELEASE-RP');
    } catch {
      // Done either way.
    } finally {
      this.sock.destroy();
    }
  }

  /** A-ABORT and close: for a peer that stopped answering. */
  abort(): void {
    if (this.released) return;
    this.released = true;
    if (!this.sock.destroyed) this.sock.write(pdu(0x07, Uint8Array.of(0, 0, 0, 0)));
    this.sock.destroy();
  }

  /** Closes the connection without a word (after an error). */
  close(): void {
    this.released = true;
    this.sock.destroy();
  }
}

const tagOf = (element: Uint8Array): number => (((element[0]! | (element[1]! << 8)) << 16) | (element[2]! | (element[3]! << 8))) >>> 0;

function write(sock: net.Socket, b: Uint8Array): Promise<void> {
  return new Promise<void>((res, rej) => sock.write(b, (e) => (e ? rej(new DicomNetError(e.message, true)) : res())));
}

/**
 * A data set as P-DATA-TF PDUs without copying it: each PDU's 12-byte header, then a view of the
 * value (a 19 MB object was copied twice into PDUs before). Waits only when the socket's buffer is
 * full, and for the last piece to be handed to the system.
 */
async function writeDataSet(sock: net.Socket, pcid: number, data: Uint8Array, maxPdu: number): Promise<void> {
  const maxFrag = maxFragment(maxPdu);
  for (let o = 0; ;) {
    const n = Math.min(maxFrag, data.length - o);
    const last = o + n >= data.length;
    sock.write(pdataHeader(pcid, n, false, last));
    if (last) return write(sock, data.subarray(o, o + n));
    if (!sock.write(data.subarray(o, o + n))) await drained(sock);
    o += n;
  }
}

function drained(sock: net.Socket): Promise<void> {
  return new Promise<void>((res, rej) => {
    const settle = (err?: Error) => {
      sock.off('drain', onDrain);
      sock.off('close', onClose);
      sock.off('error', settle);
      if (err) rej(new DicomNetError(err.message, true));
      else res();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Error('the connection closed while the data set was being sent'));
    sock.on('drain', onDrain);
    sock.on('close', onClose);
    sock.on('error', settle);
  });
}

/** Status (0000,0900) of a response; a response without one is the peer's error. */
export function responseStatus(m: DimseMessage, what: string): number {
  const status = commandUs(m.command, DIMSE.status);
  if (status === undefined) throw new DicomNetError(`${what} response without a Status (0000,0900)`, true);
  return status;
}

/** Error Comment (0000,0902) of a response, or ''. */
export const errorComment = (m: DimseMessage): string => trimText(m.command.get(DIMSE.errorComment) ?? new Uint8Array());

/** Opens an association, runs `work` on it, releases it (or aborts it when `work` failed). */
export async function withAssociation<T>(t: AssociationTarget, contexts: ProposedContext[], work: (a: Association) => Promise<T>): Promise<T> {
  const a = await Association.open(t, contexts);
  let result: T;
  try {
    result = await work(a);
  } catch (err) {
    a.abort();
    throw err;
  }
  await a.release();
  return result;
}
