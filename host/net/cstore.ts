// A minimal DICOM C-STORE SCU (PS3.8 upper layer + PS3.7 DIMSE), written by hand.
//
// Why not a library: a sealed object's signatures cover its exact data set
// bytes. dcmjs re-encodes data sets (DESIGN §3: it rewrote Specific Character
// Set and DS values), and dcmjs-dimse sends through dcmjs, so a signed object
// would arrive at PACS with broken signatures. This SCU sends the file's own
// bytes: the Part 10 meta header (group 0002) is stripped, as the standard
// requires on the wire, and everything after it goes out untouched in P-DATA
// fragments, in the transfer syntax the file was written in. The protocol
// surface needed for one C-STORE is small: A-ASSOCIATE-RQ/AC/RJ, P-DATA-TF,
// A-RELEASE-RQ/RP, A-ABORT.
import net from 'node:net';
import tls from 'node:tls';
import { clientTlsOptions, type DicomTls } from './tls.js';
import { readPart10Meta } from '../dicom/reader.js';
import {
  APP_CONTEXT, ascii, associateHead, cat, commandElement, commandSet, commandUs, item, parseCommand, pdataPdus, pdu,
  trimText, uidValue, userInformation, usValue,
} from './pdu.js';

export interface Part10 {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Offset of the first data set byte (after the meta header). */
  dataSetOffset: number;
}

export class DicomNetError extends Error {
  override name = 'DicomNetError';
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

/**
 * What the SCU needs from a Part 10 file: its meta header's UIDs and where the data set starts,
 * read by the one Part 10 reader (host/dicom/reader.ts). Not Part 10: DicomNetError, not retryable.
 */
export function parsePart10(bytes: Uint8Array): Part10 {
  let m;
  try {
    m = readPart10Meta(bytes);
  } catch (err) {
    throw new DicomNetError((err as Error).message, false);
  }
  if (!m.mediaStorageSopClassUid || !m.mediaStorageSopInstanceUid) throw new DicomNetError('Part 10 meta header lacks (0002,0002) or (0002,0003)', false);
  return { sopClassUid: m.mediaStorageSopClassUid, sopInstanceUid: m.mediaStorageSopInstanceUid, transferSyntaxUid: m.transferSyntaxUid, dataSetOffset: m.dataSetOffset };
}

export interface CStoreTarget {
  calledAe: string;
  host: string;
  port: number;
  callingAe?: string;
  timeoutMs?: number;
  maxPduBytes?: number;
  /** DICOM over TLS (host/net/tls.ts): the SCP's certificate must chain to tls.ca and name host. */
  tls?: DicomTls;
}

/** Parses AE@HOST:PORT. */
export function parseTarget(s: string): CStoreTarget {
  const m = /^([^@]{1,16})@(.+):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`forward target must be AE@HOST:PORT (AE up to 16 chars), got "${s}"`);
  return { calledAe: m[1], host: m[2], port: Number(m[3]) };
}

function associateRq(t: CStoreTarget, p: Part10, maxPdu: number): Uint8Array {
  const pcBody = cat(Uint8Array.of(1, 0, 0, 0), item(0x30, ascii(p.sopClassUid)), item(0x40, ascii(p.transferSyntaxUid)));
  return pdu(0x01, cat(associateHead(t.calledAe, t.callingAe ?? 'RADSEAL'), item(0x10, ascii(APP_CONTEXT)), item(0x20, pcBody), userInformation(maxPdu)));
}

function cStoreRq(p: Part10, messageId: number): Uint8Array {
  return commandSet([
    commandElement(0x00000002, uidValue(p.sopClassUid)),
    commandElement(0x00000100, usValue(0x0001)), // C-STORE-RQ
    commandElement(0x00000110, usValue(messageId)),
    commandElement(0x00000700, usValue(0)), // MEDIUM priority
    commandElement(0x00000800, usValue(0x0000)), // a data set follows
    commandElement(0x00001000, uidValue(p.sopInstanceUid)),
  ]);
}

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
        this.deliver({ type: this.buf[0], body: this.buf.slice(6, 6 + len) });
        this.buf = this.buf.slice(6 + len);
      }
    });
    const fail = (e: Error) => {
      this.error = e;
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
      const timer = setTimeout(() => rej(new DicomNetError(`no reply within ${timeoutMs} ms`, true)), timeoutMs);
      this.waiters.push((p) => {
        clearTimeout(timer);
        if (p instanceof Error) rej(p);
        else res(p);
      });
    });
  }
}

/**
 * Whether a C-STORE failure status is worth retrying: 0xA7xx out of resources, 0x0213 resource
 * limitation. The others (0xA9xx, 0xCxxx data set problems, 0x0122 SOP class not supported,
 * 0x0124 not authorized, 0x0110 processing failure…) are about this object: sending it again
 * gets the same answer.
 */
export function isTransientStatus(status: number): boolean {
  return (status & 0xff00) === 0xa700 || status === 0x0213;
}

export interface CStoreResult {
  status: number;
  /** 0x0000 success; 0xB000/0xB006/0xB007 stored with a warning. */
  stored: boolean;
  bytesSent: number;
}

const REJECT_REASONS: Record<number, string> = { 1: 'no reason given', 2: 'application context not supported', 3: 'calling AE not recognized', 7: 'called AE not recognized' };

/** Sends one Part 10 file's data set, byte for byte, by C-STORE. */
export async function cStore(t: CStoreTarget, file: Uint8Array): Promise<CStoreResult> {
  const p = parsePart10(file);
  const timeout = t.timeoutMs ?? 30000;
  const maxPdu = t.maxPduBytes ?? 65536;
  const sock = await new Promise<net.Socket>((res, rej) => {
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
      // Retryable even for a certificate problem: the object stays queued while someone fixes it.
      rej(new DicomNetError(`cannot connect to ${t.calledAe}@${t.host}:${t.port}${t.tls ? ' (TLS)' : ''}: ${e.message}`, true));
    });
  });
  const reader = new PduReader(sock);
  const send = (b: Uint8Array) => new Promise<void>((res, rej) => sock.write(b, (e) => (e ? rej(new DicomNetError(e.message, true)) : res())));
  try {
    await send(associateRq(t, p, maxPdu));
    const ac = await reader.next(timeout);
    if (ac.type === 0x03) {
      const reason = ac.body[3];
      throw new DicomNetError(`association rejected by ${t.calledAe} (result ${ac.body[1]}, source ${ac.body[2]}, reason ${reason}: ${REJECT_REASONS[reason] ?? 'unknown'})`, ac.body[1] === 2);
    }
    if (ac.type !== 0x02) throw new DicomNetError(`expected A-ASSOCIATE-AC, got PDU type 0x${ac.type.toString(16)}`, true);
    let peerMax = 0;
    let accepted = false;
    let result = -1;
    for (let o = 68; o + 4 <= ac.body.length; ) {
      const type = ac.body[o];
      const len = new DataView(ac.body.buffer, ac.body.byteOffset + o).getUint16(2, false);
      const b = ac.body.subarray(o + 4, o + 4 + len);
      if (type === 0x21 && b[0] === 1) {
        result = b[2];
        accepted = result === 0;
      }
      if (type === 0x50) {
        for (let u = 0; u + 4 <= b.length; ) {
          const ulen = new DataView(b.buffer, b.byteOffset + u).getUint16(2, false);
          if (b[u] === 0x51) peerMax = new DataView(b.buffer, b.byteOffset + u + 4).getUint32(0, false);
          u += 4 + ulen;
        }
      }
      o += 4 + len;
    }
    if (!accepted) {
      throw new DicomNetError(`${t.calledAe} refused SOP class ${p.sopClassUid} in transfer syntax ${p.transferSyntaxUid} (presentation context result ${result}); not retrying, the object would be re-encoded otherwise`, false);
    }
    const sendMax = peerMax > 0 ? Math.min(peerMax, 1 << 22) : 1 << 20;
    const messageId = 1;
    for (const u of pdataPdus(1, cStoreRq(p, messageId), true, sendMax)) await send(u);
    const ds = file.subarray(p.dataSetOffset);
    for (const u of pdataPdus(1, ds, false, sendMax)) await send(u);
    // Response: a command (Implicit VR LE regardless of the data set's syntax).
    let cmd: Uint8Array = new Uint8Array(0);
    for (;;) {
      const r = await reader.next(timeout);
      if (r.type === 0x07) throw new DicomNetError(`association aborted by ${t.calledAe} (source ${r.body[2]}, reason ${r.body[3]})`, true);
      if (r.type !== 0x04) throw new DicomNetError(`expected P-DATA-TF, got PDU type 0x${r.type.toString(16)}`, true);
      let last = false;
      for (let o = 0; o + 6 <= r.body.length; ) {
        const len = new DataView(r.body.buffer, r.body.byteOffset + o).getUint32(0, false);
        const ctrl = r.body[o + 5];
        cmd = cat(cmd, r.body.subarray(o + 6, o + 4 + len));
        if (ctrl & 2) last = true;
        o += 4 + len;
      }
      if (last) break;
    }
    const status = commandUs(parseCommand(cmd), 0x00000900);
    if (status === undefined) throw new DicomNetError('C-STORE-RSP without a Status (0000,0900)', true);
    await send(pdu(0x05, new Uint8Array(4)));
    try {
      const rp = await reader.next(Math.min(timeout, 5000));
      if (rp.type !== 0x06) throw new Error('no A-RELEASE-RP');
    } catch {
      // The object is stored; a missing release reply does not change that.
    }
    const stored = status === 0 || status === 0xb000 || status === 0xb006 || status === 0xb007;
    if (!stored) {
      const comment = trimText(parseCommand(cmd).get(0x00000902) ?? new Uint8Array());
      throw new DicomNetError(`C-STORE of ${p.sopInstanceUid} failed with status 0x${status.toString(16).padStart(4, '0')}${comment ? ` (${comment})` : ''}`, isTransientStatus(status));
    }
    return { status, stored, bytesSent: ds.length };
  } finally {
    sock.destroy();
  }
}

export { IMPLICIT_LE } from './pdu.js';
