// A minimal DICOM Storage SCP (PS3.8 upper layer + PS3.7 C-STORE/C-ECHO),
// the acceptor side of host/net/cstore.ts's hand-written SCU.
//
// Why by hand, like the SCU: a sealed object's signatures cover its exact data
// set bytes, and an SCP that parses and re-writes data sets (dcmjs-dimse) would
// hand the verifier something other than what the modality sent. This SCP
// collects the P-DATA fragments of each data set, untouched, and gives them to
// the caller together with a Part 10 meta header it builds from the
// association (group 0002 is not signed: the MAC rules exclude it).
//
// PDU and command-set encoding is shared with the SCU (pdu.ts).
import net from 'node:net';
import tls from 'node:tls';
import { DicomNetError } from './cstore.js';
import { serverTlsOptions, type DicomTls } from './tls.js';
import {
  aeTitleProblem,
  APP_CONTEXT, EXPLICIT_LE, IMPLICIT_LE, ascii, associateHead, cat, commandElement, commandSet, commandUs, item, parseCommand,
  pdataPdus, pdu, textValue, trimText, uidValue, userInformation, usValue,
} from './pdu.js';
import { wrapPart10 } from '../dicom/writer.js';
import { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_OBJECT_BYTES, formatBytes } from './limits.js';
import { ObjectBuffer, PduStream } from './pdu-stream.js';

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** Sees a data set's P-DATA fragments as they arrive, in order, untouched. */
export interface FragmentObserver {
  update(fragment: Uint8Array): void;
}

/** One object as it arrived: the data set bytes exactly as sent, plus who sent it. */
export interface ReceivedObject<O extends FragmentObserver = FragmentObserver> {
  callingAe: string;
  calledAe: string;
  remoteAddress: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The data set bytes as received (no meta header). */
  dataSet: Uint8Array;
  /** A Part 10 file: a meta header built from the association, then `dataSet` unchanged (built once, on arrival). */
  part10(): Uint8Array;
  /** What StoreScpOptions.observe made for this object, having seen every fragment. */
  observer?: O;
}

/** An object refused for a size limit: what the command said it is, and why. */
export interface RefusedObject {
  callingAe: string;
  remoteAddress: string;
  sopClassUid: string;
  sopInstanceUid: string;
  /** Data set bytes received. */
  bytes: number;
  reason: string;
}

/** C-STORE failure "out of resources" (0xA7xx): the sender may try again later. */
export const OUT_OF_RESOURCES = 0xa700;

export { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_OBJECT_BYTES, formatBytes };

/** What the SCP answers: a DIMSE status and, for failures, an Error Comment (0000,0902, up to 64 chars). */
export interface StoreAnswer {
  status: number;
  comment?: string;
}

export interface StoreScpOptions<O extends FragmentObserver = FragmentObserver> {
  host: string;
  port: number;
  /** Our AE title: associations calling another title are rejected (reason 7). */
  aeTitle: string;
  /**
   * Who may send: calling AE titles, each alone ("MODALITY1": from anywhere) or bound to the
   * sender's address ("MODALITY1@10.1.2.3"). Others are rejected (reason 3, calling AE title not
   * recognised). Undefined or empty: any calling AE.
   */
  allowedCallers?: string[];
  /** DICOM over TLS (host/net/tls.ts): callers must present a certificate chaining to tls.ca. */
  tls?: DicomTls;
  onStore: (obj: ReceivedObject<O>) => Promise<StoreAnswer>;
  /**
   * Called at each C-STORE's first data fragment: the observer sees every fragment as it arrives
   * (work done then, such as hashing, is not left for after the last one) and is handed to onStore.
   */
  observe?: (transferSyntaxUid: string, sender: { callingAe: string; remoteAddress: string }) => O;
  /**
   * Spare bytes to keep around each object's Part 10 bytes, in the same buffer: a writer that
   * encodes a file around the Pixel Data value where it lies (host/dicom/writer.ts
   * encodePart10AroundPixels) then needs no 19 MB copy. Default none.
   */
  room?: (dataSetBytes: number) => { before: number; after: number };
  /**
   * The caller keeps no view of an object's bytes once onStore's promise is settled (it wrote or
   * copied what it keeps): that buffer may then receive a later object, which saves fresh memory
   * (page faults) and garbage per object. Default off.
   */
  recycleBuffers?: boolean;
  /**
   * Largest data set accepted (default 1 GiB). A larger one is not buffered: the rest of it is
   * read and dropped, and it is answered A700 with an Error Comment (onRefused is told).
   */
  maxObjectBytes?: number;
  /**
   * Data set bytes held in memory across all associations at once, from the first fragment until
   * the object's answer (default 2 GiB). An object that would go over it is refused like one
   * over maxObjectBytes: A700 "out of resources", which senders retry later.
   */
  maxBufferedBytes?: number;
  /** An object refused by a limit, before anyone saw it whole (for the audit trail). */
  onRefused?: (r: RefusedObject) => void;
  /** An association (or a TLS connection) refused: who asked, and why (for the audit trail). */
  onAssociationRefused?: (r: { callingAe: string | null; address: string | null; reason: string }) => void;
  /** Max PDU length we announce. Default 256 KiB. */
  maxPduBytes?: number;
  /** Idle timeout per association. Default 60 s. */
  idleTimeoutMs?: number;
  log?: (m: string) => void;
}

/** Part 10 preamble + meta header (group 0002) for a received data set; Source AE Title (0002,0016) = the sender. */
export function buildPart10(sopClassUid: string, sopInstanceUid: string, transferSyntaxUid: string, dataSet: Uint8Array, sourceAe?: string): Uint8Array {
  return wrapPart10({ sopClassUid, sopInstanceUid, transferSyntaxUid, sourceAeTitle: sourceAe }, dataSet);
}

/** IPv4-mapped IPv6 ("::ffff:10.1.2.3") as the plain IPv4 address an administrator writes. */
const plainAddress = (a: string) => a.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');

/** An allow-list entry: AE or AE@address. */
function allowEntry(entry: string): { ae: string; address?: string } {
  const at = entry.lastIndexOf('@');
  return at < 0 ? { ae: entry } : { ae: entry.slice(0, at), address: entry.slice(at + 1) };
}

/** Why a calling AE (from this address) may not send, or null when it may. */
export function callerProblem(allowed: string[] | undefined, callingAe: string, remoteAddress: string): string | null {
  if (!allowed || allowed.length === 0) return null;
  const from = plainAddress(remoteAddress);
  let known = false;
  for (const entry of allowed) {
    const { ae, address } = allowEntry(entry);
    if (ae !== callingAe) continue;
    known = true;
    if (address === undefined || plainAddress(address) === from) return null;
  }
  return known ? `calling AE "${callingAe}" is not allowed from ${from}` : `calling AE "${callingAe}" is not on the allow-list`;
}

interface PresentationContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

interface AssociateRq {
  calledAe: string;
  callingAe: string;
  contexts: PresentationContext[];
  maxPdu: number;
}

function parseAssociateRq(body: Uint8Array): AssociateRq {
  if (body.length < 68) throw new DicomNetError('A-ASSOCIATE-RQ too short', false);
  const rq: AssociateRq = { calledAe: trimText(body.subarray(4, 20)), callingAe: trimText(body.subarray(20, 36)), contexts: [], maxPdu: 0 };
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let o = 68; o + 4 <= body.length; ) {
    const type = body[o]!;
    const len = dv.getUint16(o + 2, false);
    const b = body.subarray(o + 4, o + 4 + len);
    if (type === 0x20) {
      const pc: PresentationContext = { id: b[0]!, abstractSyntax: '', transferSyntaxes: [] };
      const bv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let s = 4; s + 4 <= b.length; ) {
        const st = b[s]!;
        const sl = bv.getUint16(s + 2, false);
        const v = trimText(b.subarray(s + 4, s + 4 + sl));
        if (st === 0x30) pc.abstractSyntax = v;
        if (st === 0x40) pc.transferSyntaxes.push(v);
        s += 4 + sl;
      }
      rq.contexts.push(pc);
    } else if (type === 0x50) {
      const bv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let u = 0; u + 4 <= b.length; ) {
        const ul = bv.getUint16(u + 2, false);
        if (b[u] === 0x51 && ul >= 4) rq.maxPdu = bv.getUint32(u + 4, false);
        u += 4 + ul;
      }
    }
    o += 4 + len;
  }
  return rq;
}

/**
 * Which transfer syntax to accept for a context: Explicit VR Little Endian
 * (how radseal seals) when offered; otherwise the first one offered, so that
 * a re-encoded copy still arrives and is named as such by the verifier rather
 * than being refused at association time.
 */
function chooseTransferSyntax(pc: PresentationContext): string | undefined {
  if (pc.transferSyntaxes.includes(EXPLICIT_LE)) return EXPLICIT_LE;
  if (pc.abstractSyntax === VERIFICATION_SOP_CLASS) return pc.transferSyntaxes.includes(IMPLICIT_LE) ? IMPLICIT_LE : undefined;
  return pc.transferSyntaxes[0];
}

function associateAc(rq: AssociateRq, accepted: Map<number, string | undefined>, maxPdu: number): Uint8Array {
  const pcs = rq.contexts.map((pc) => {
    const ts = accepted.get(pc.id);
    // result 0 acceptance, 4 transfer syntaxes not supported
    return item(0x21, cat(Uint8Array.of(pc.id, 0, ts ? 0 : 4, 0), item(0x40, ascii(ts ?? IMPLICIT_LE))));
  });
  return pdu(0x02, cat(associateHead(rq.calledAe, rq.callingAe), item(0x10, ascii(APP_CONTEXT)), ...pcs, userInformation(maxPdu)));
}

export interface StoreScp {
  port: number;
  close(): Promise<void>;
  /** Whether a sender is at work: associations open, an object between its first fragment and its answer, the last fragment's time (performance.now). */
  activity(): { associations: number; objectInFlight: boolean; lastFragmentAt: number };
}

/** Starts a Storage SCP. Bind it to loopback unless the site's network is meant to reach it. */
export function startStoreScp<O extends FragmentObserver = FragmentObserver>(o: StoreScpOptions<O>): Promise<StoreScp> {
  // Titles no association could ever carry are refused before anything listens.
  const titles = [['our AE title', o.aeTitle], ...(o.allowedCallers ?? []).map((e) => ['allowed caller', allowEntry(e).ae])];
  for (const [what, ae] of titles) {
    const problem = aeTitleProblem(ae!);
    if (problem) return Promise.reject(new Error(`${what}: ${problem}`));
  }
  const log = o.log ?? (() => {});
  const maxObject = o.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  const maxBuffered = o.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const ourMaxPdu = o.maxPduBytes ?? 262144;
  const sockets = new Set<net.Socket>();
  // Data set bytes in memory across associations (received, not yet answered).
  let buffered = 0;
  let lastFragmentAt = -Infinity;
  // The next object's buffer is sized like the last one (a modality sends alike objects), and grows if short.
  let lastObjectBytes = 1 << 20;
  const room = o.room ?? (() => ({ before: 0, after: 0 }));
  // Buffers whose objects are answered and no longer read (recycleBuffers): a few, for the next objects.
  const spare: Uint8Array[] = [];
  // Objects being handled (verified, kept, audited): close() lets them finish.
  const inFlight = new Set<Promise<void>>();
  const release = (n: number) => {
    buffered -= n;
  };
  const onConnection = (sock: net.Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.setTimeout(o.idleTimeoutMs ?? 60000, () => abort(2, 0));
    let rq: AssociateRq | null = null;
    const ts = new Map<number, string | undefined>();
    let peerMax = 16384;
    // Per message being received.
    let cmdParts: Uint8Array[] = [];
    let cmd: Map<number, Uint8Array> | null = null;
    let buffer: ObjectBuffer | null = null;
    // The presentation data value being read: its context and control header.
    let pdv: { pcid: number; control: number } | null = null;
    let dataBytes = 0;
    // Of dataBytes, how many count against the shared buffer limit (0 once the object is refused).
    let reserved = 0;
    let refusal: string | null = null;
    let observer: O | undefined;
    let pcOfMessage = 0;
    let chain: Promise<void> = Promise.resolve();
    // Queued work never breaks the chain: what follows still runs (and is answered).
    const then = (work: () => Promise<void> | void, after?: () => void) => {
      const next = chain.then(work).catch((err: unknown) => log(`association from ${rq?.callingAe ?? sock.remoteAddress}: ${(err as Error).message}`)).finally(after);
      chain = next;
      inFlight.add(next);
      void next.finally(() => inFlight.delete(next));
    };
    sock.on('close', () => {
      // A message cut off mid-way gives its bytes back.
      release(reserved);
      reserved = 0;
      buffer = null;
      observer = undefined;
    });

    const send = (b: Uint8Array) => {
      if (!sock.destroyed) sock.write(b);
    };
    function abort(source: number, reason: number) {
      stream.stopped = true;
      send(pdu(0x07, Uint8Array.of(0, 0, source, reason)));
      sock.end();
      sock.destroy();
    }

    function respond(pcid: number, fields: Uint8Array[]) {
      for (const p of pdataPdus(pcid, commandSet(fields), true, peerMax)) send(p);
    }

    /** Answers a C-STORE refused for a limit: A700 with the reason in Error Comment. */
    function refuseMessage(pcid: number, c: Map<number, Uint8Array>, reason: string, comment: string, bytes: number) {
      const a = rq!;
      const sopClass = trimText(c.get(0x00000002) ?? new Uint8Array());
      const sopInstance = trimText(c.get(0x00001000) ?? new Uint8Array());
      log(`C-STORE ${sopInstance || '(no UID)'} from ${a.callingAe} refused: ${reason}`);
      try {
        o.onRefused?.({ callingAe: a.callingAe, remoteAddress: sock.remoteAddress ?? '', sopClassUid: sopClass, sopInstanceUid: sopInstance, bytes, reason });
      } catch (err) {
        log(`C-STORE ${sopInstance} refusal not recorded: ${(err as Error).message}`);
      }
      respond(pcid, [
        commandElement(0x00000002, uidValue(sopClass)),
        commandElement(0x00000100, usValue(0x8001)),
        commandElement(0x00000120, usValue(commandUs(c, 0x00000110) ?? 0)),
        commandElement(0x00000800, usValue(0x0101)),
        commandElement(0x00000900, usValue(OUT_OF_RESOURCES)),
        commandElement(0x00000902, textValue(comment.slice(0, 64))),
        commandElement(0x00001000, uidValue(sopInstance)),
      ]);
    }

    async function handleMessage(pcid: number, c: Map<number, Uint8Array>, data: { buffer: ObjectBuffer; total: number; observer?: O } | null) {
      const field = commandUs(c, 0x00000100);
      const msgId = commandUs(c, 0x00000110) ?? 0;
      const sopClass = trimText(c.get(0x00000002) ?? new Uint8Array());
      if (field === 0x0030) {
        respond(pcid, [commandElement(0x00000002, uidValue(sopClass || VERIFICATION_SOP_CLASS)), commandElement(0x00000100, usValue(0x8030)), commandElement(0x00000120, usValue(msgId)), commandElement(0x00000800, usValue(0x0101)), commandElement(0x00000900, usValue(0))]);
        return;
      }
      if (field !== 0x0001 || !data) {
        // Not a C-STORE: answer "unrecognized operation" (0x0211) with the matching response field.
        respond(pcid, [commandElement(0x00000100, usValue(((field ?? 0) | 0x8000) & 0xffff)), commandElement(0x00000120, usValue(msgId)), commandElement(0x00000800, usValue(0x0101)), commandElement(0x00000900, usValue(0x0211))]);
        return;
      }
      const sopInstance = trimText(c.get(0x00001000) ?? new Uint8Array());
      const transferSyntax = ts.get(pcid) ?? IMPLICIT_LE;
      const a = rq!;
      const file = data.buffer.finish(buildPart10(sopClass, sopInstance, transferSyntax, new Uint8Array(0), a.callingAe));
      const obj: ReceivedObject<O> = {
        callingAe: a.callingAe,
        calledAe: a.calledAe,
        remoteAddress: sock.remoteAddress ?? '',
        sopClassUid: sopClass,
        sopInstanceUid: sopInstance,
        transferSyntaxUid: transferSyntax,
        dataSet: file.subarray(file.length - data.total),
        part10: () => file,
        observer: data.observer,
      };
      let answer: StoreAnswer;
      try {
        answer = await o.onStore(obj);
      } catch (err) {
        // The object could not be kept or audited (disk full, audit log): nothing was stored, the sender may retry.
        log(`C-STORE ${sopInstance} from ${a.callingAe}: ${(err as Error).message}`);
        answer = { status: OUT_OF_RESOURCES, comment: 'radseal: could not store the object' };
      }
      if (o.recycleBuffers && spare.length < 2) spare.push(data.buffer.backing);
      const fields = [
        commandElement(0x00000002, uidValue(sopClass)),
        commandElement(0x00000100, usValue(0x8001)),
        commandElement(0x00000120, usValue(msgId)),
        commandElement(0x00000800, usValue(0x0101)),
        commandElement(0x00000900, usValue(answer.status)),
      ];
      if (answer.comment && answer.status !== 0) fields.push(commandElement(0x00000902, textValue(answer.comment.slice(0, 64))));
      fields.push(commandElement(0x00001000, uidValue(sopInstance)));
      respond(pcid, fields);
    }

    function onPdu(p: { type: number; body: Uint8Array }) {
      if (p.type === 0x01) {
        if (rq) return abort(2, 2); // unexpected PDU
        rq = parseAssociateRq(p.body);
        if (o.aeTitle && rq.calledAe !== o.aeTitle) {
          log(`association from ${rq.callingAe} (${sock.remoteAddress}) rejected: called AE "${rq.calledAe}" is not "${o.aeTitle}"`);
          o.onAssociationRefused?.({ callingAe: rq.callingAe, address: sock.remoteAddress ?? null, reason: `called AE "${rq.calledAe}" is not "${o.aeTitle}"` });
          send(pdu(0x03, Uint8Array.of(0, 1, 1, 7)));
          sock.end();
          return;
        }
        const caller = callerProblem(o.allowedCallers, rq.callingAe, sock.remoteAddress ?? '');
        if (caller) {
          log(`association from ${rq.callingAe} (${sock.remoteAddress}) rejected: ${caller}`);
          o.onAssociationRefused?.({ callingAe: rq.callingAe, address: sock.remoteAddress ?? null, reason: caller });
          send(pdu(0x03, Uint8Array.of(0, 1, 1, 3)));
          sock.end();
          return;
        }
        peerMax = rq.maxPdu || 16384;
        for (const pc of rq.contexts) ts.set(pc.id, chooseTransferSyntax(pc));
        send(associateAc(rq, ts, ourMaxPdu));
        return;
      }
      if (!rq) return abort(2, 2);
      if (p.type === 0x05) {
        then(() => {
          send(pdu(0x06, new Uint8Array(4)));
          sock.end();
        });
        return;
      }
      if (p.type === 0x07) {
        sock.destroy();
        return;
      }
      abort(2, 2); // P-DATA-TF comes through pdvStart; anything else is unexpected
    }

    function pdvStart(pcid: number, control: number) {
      if (!rq) return abort(2, 2);
      if (!ts.get(pcid)) return abort(2, 6); // a context we did not accept
      pdv = { pcid, control };
      if (control & 1) return;
      if (!cmd || pcid !== pcOfMessage) return abort(2, 2);
      if (dataBytes === 0 && !refusal) {
        if (o.observe) observer = o.observe(ts.get(pcid)!, { callingAe: rq.callingAe, remoteAddress: sock.remoteAddress ?? '' });
        buffer = new ObjectBuffer(Math.min(lastObjectBytes, maxObject), room, spare.pop());
      }
    }

    function pdvBytes(piece: Uint8Array) {
      if (pdv!.control & 1) {
        cmdParts.push(piece);
        return;
      }
      dataBytes += piece.length;
      lastFragmentAt = performance.now();
      if (refusal) return;
      if (dataBytes > maxObject) {
        refusal = `object larger than ${formatBytes(maxObject)} (--max-object-bytes)`;
      } else if (buffered + piece.length > maxBuffered) {
        refusal = `gateway out of buffer space: ${formatBytes(buffered)} held for objects in flight, limit ${formatBytes(maxBuffered)} (--max-buffered-bytes)`;
      }
      if (refusal) {
        // Stop buffering now; the rest of the object is read and dropped, then answered.
        release(reserved);
        reserved = 0;
        buffer = null;
        observer = undefined;
        return;
      }
      buffered += piece.length;
      reserved += piece.length;
      const placed = buffer!.append(piece);
      observer?.update(placed);
    }

    function pdvEnd() {
      const { pcid, control } = pdv!;
      pdv = null;
      if (!(control & 2)) return;
      if (control & 1) {
        cmd = parseCommand(cat(...cmdParts));
        cmdParts = [];
        pcOfMessage = pcid;
        if (commandUs(cmd, 0x00000800) === 0x0101) {
          const c = cmd;
          cmd = null;
          then(() => handleMessage(pcid, c, null));
        }
        return;
      }
      const c = cmd!;
      const bytes = dataBytes;
      const held = reserved;
      const why = refusal;
      const data = buffer && { buffer, total: bytes, observer };
      cmd = null;
      dataBytes = 0;
      reserved = 0;
      refusal = null;
      buffer = null;
      observer = undefined;
      if (why || !data) {
        const reason = why ?? 'no data set';
        const comment = reason.startsWith('object larger') ? `radseal: object over ${formatBytes(maxObject)}, refused` : 'radseal: out of buffer space, try again later';
        then(() => refuseMessage(pcid, c, reason, comment, bytes));
      } else {
        lastObjectBytes = Math.max(bytes, 1024);
        then(() => handleMessage(pcid, c, data), () => release(held));
      }
    }

    const stream = new PduStream(Math.max(ourMaxPdu, 1 << 20), { pdu: (type, body) => onPdu({ type, body }), pdvStart, pdvBytes, pdvEnd });

    sock.on('data', (d: Buffer) => {
      try {
        stream.push(d);
      } catch (err) {
        log(`association from ${sock.remoteAddress}: ${(err as Error).message}`);
        abort(2, 0);
      }
    });
    sock.on('error', () => sock.destroy());
  };
  const server = o.tls ? tls.createServer(serverTlsOptions(o.tls), onConnection) : net.createServer(onConnection);
  if (o.tls) {
    // A failed handshake never becomes an association: say why (no certificate, untrusted, old TLS).
    server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => {
      log(`TLS connection from ${s.remoteAddress ?? '?'} refused: ${e.message}`);
      o.onAssociationRefused?.({ callingAe: null, address: s.remoteAddress ?? null, reason: `TLS: ${e.message}` });
    });
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        activity: () => ({ associations: sockets.size, objectInFlight: buffered > 0, lastFragmentAt }),
        close: async () => {
          for (const s of sockets) s.destroy();
          await new Promise<void>((res) => server.close(() => res()));
          // An object being verified when we stop is still kept and audited (its sender gets no answer and resends).
          while (inFlight.size) await Promise.allSettled([...inFlight]);
        },
      });
    });
  });
}
