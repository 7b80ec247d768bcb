// The ingest gateway: a C-STORE SCP in front of PACS. Every object is
// verified and audited before the sender gets its answer; authentic objects
// are stored and (optionally) forwarded to PACS as their ORIGINAL bytes by
// host/net's SCU; the rest are quarantined with their report, and either
// accepted-and-flagged (success answer, never forwarded) or refused with
// status A900 and a reason in Error Comment. Objects over the size or buffer
// limits are refused with A700 before they are verified (and audited).
import { join } from 'node:path';
import { describeTarget, type PacsTarget } from '../../net/destination.js';
import type { DicomTls } from '../../net/tls.js';
import { startStoreScp, type StoreScp } from '../../net/scp.js';
import { Forwarder } from '../../net/forwarder.js';
import { LinkQueue } from '../../net/link-queue.js';
import { Ingestor, type IngestResult } from './ingest.js';
import { auditForwarding, dicomNode, targetParticipant } from '../../audit/emit.js';
import { fileRefs } from '../../audit/dicom-refs.js';

export { watchFolder } from './watch.js';

export interface GatewayOptions {
  host: string;
  port: number;
  aeTitle: string;
  /** Calling AE titles allowed to send ("AE" or "AE@address"); undefined: any (see StoreScpOptions). */
  allowedCallers?: string[];
  /** DICOM over TLS for the listener (host/net/tls.ts). */
  tls?: DicomTls;
  ingestor: Ingestor;
  /** PACS behind the gateway (C-STORE SCP or STOW-RS endpoint): authentic objects go there, original bytes. Requires the ingestor to have a storeDir. */
  forward?: PacsTarget;
  /** Largest object accepted (StoreScpOptions.maxObjectBytes; default 1 GiB). */
  maxObjectBytes?: number;
  /** Object bytes held in memory across associations (StoreScpOptions.maxBufferedBytes; default 2 GiB). */
  maxBufferedBytes?: number;
  log?: (m: string) => void;
  /** Called after each object is handled (tests, progress lines). */
  onResult?: (r: IngestResult) => void;
  /** Backoff for forwarding retries. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * In-order, restart-safe forwarding of stored objects: STORE/.forward/pending holds a hard link
 * per object (host/net/link-queue.ts), sent by host/net's Forwarder; an object PACS refuses for
 * good is parked in STORE/.forward/dead-letter and the queue goes on.
 */
export class ForwardQueue {
  readonly queue: LinkQueue;
  readonly forwarder: Forwarder;

  constructor(storeDir: string, target: PacsTarget, log: (m: string) => void, minBackoffMs = 1000, maxBackoffMs = 60000) {
    this.queue = new LinkQueue(join(storeDir, '.forward'));
    this.forwarder = new Forwarder(this.queue, target, { log, minBackoffMs, maxBackoffMs });
    const parked = this.queue.deadLettered();
    if (parked) log(`forward: ${parked} object(s) in ${this.queue.deadLetterDir} (refused by PACS for good; see the .json beside each)`);
    this.forwarder.start();
  }

  get stats() {
    return this.forwarder.stats;
  }

  enqueue(storedPath: string): void {
    this.queue.enqueue(storedPath);
    this.forwarder.kick();
  }

  get pending(): number {
    return this.queue.pending().length;
  }

  get deadLettered(): number {
    return this.queue.deadLettered();
  }

  /** Resolves when nothing is pending (or after timeoutMs). */
  async drain(timeoutMs = 30000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.pending === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.pending === 0;
  }

  stop(): Promise<void> {
    return this.forwarder.stop();
  }
}

export interface GatewayStatus {
  /** Objects handled by this process. */
  received: number;
  forwarded: number;
  retried: number;
  /** Waiting for PACS. */
  queued: number;
  /** Refused by PACS for good, parked in the dead-letter folder (all time). */
  deadLettered: number;
  lastForwardError: string | null;
}

export interface Gateway {
  port: number;
  forwarder: ForwardQueue | null;
  status(): GatewayStatus;
  close(): Promise<void>;
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const log = o.log ?? (() => {});
  const store = o.ingestor.o.storeDir;
  if (o.forward && !store) throw new Error('forwarding needs a store folder');
  const forwarder = o.forward && store ? new ForwardQueue(store, o.forward, log, o.minBackoffMs, o.maxBackoffMs) : null;
  const atna = o.ingestor.o.atna;
  if (forwarder && atna && o.forward) auditForwarding(forwarder.forwarder, { sink: atna.sink, self: atna.receiver, target: targetParticipant(o.forward), refsOf: fileRefs });
  let received = 0;
  let scp: StoreScp;
  try {
    scp = await startStoreScp({
      host: o.host, port: o.port, aeTitle: o.aeTitle, allowedCallers: o.allowedCallers, tls: o.tls, log,
      maxObjectBytes: o.maxObjectBytes, maxBufferedBytes: o.maxBufferedBytes,
      onStore: async (obj) => {
        // Verification is synchronous CPU work (file writes are not); objects are handled one at a time in
        // arrival order per association. What the command said the object is goes along: the data set's
        // signed UIDs must agree with it.
        received++;
        const r = await o.ingestor.ingest(obj.part10(), { via: 'c-store', ae: obj.callingAe, host: obj.remoteAddress || null }, { sopInstanceUid: obj.sopInstanceUid, sopClassUid: obj.sopClassUid });
        if (r.action === 'stored' && r.path && forwarder) forwarder.enqueue(r.path);
        log(`${r.sopInstanceUid ?? '(no UID)'} from ${obj.callingAe}: ${r.report.verdict} → ${r.action} (audit #${r.record.seq})`);
        o.onResult?.(r);
        return { status: r.status, comment: r.comment };
      },
      onAssociationRefused: (r) => o.ingestor.o.atna?.sink.emit({
        kind: 'security-alert', alert: 'refused-association', time: new Date(), outcome: 4, reporter: o.ingestor.o.atna.receiver,
        performer: dicomNode(r.callingAe, r.address), subject: `dicom:${r.callingAe ?? '(TLS handshake)'}@${r.address ?? '?'}`, description: r.reason,
      }),
      onRefused: (x) => {
        received++;
        const rec = o.ingestor.refuseUnverified({ via: 'c-store', ae: x.callingAe, host: x.remoteAddress || null }, {
          claimed: { sopInstanceUid: x.sopInstanceUid, sopClassUid: x.sopClassUid }, bytes: x.bytes, reason: `refused unverified: ${x.reason}`,
        });
        log(`${x.sopInstanceUid || '(no UID)'} from ${x.callingAe}: refused unverified (audit #${rec.seq})`);
      },
    });
  } catch (err) {
    await forwarder?.stop();
    throw err;
  }
  return {
    port: scp.port,
    forwarder,
    status: () => ({
      received, forwarded: forwarder?.stats.forwarded ?? 0, retried: forwarder?.stats.retried ?? 0,
      queued: forwarder?.pending ?? 0, deadLettered: forwarder?.deadLettered ?? 0, lastForwardError: forwarder?.stats.lastError ?? null,
    }),
    close: async () => {
      await scp.close();
      await forwarder?.stop();
    },
  };
}

/** One status line for logs: what came in, what went on to PACS, what is stuck. */
export function describeStatus(s: GatewayStatus, forward?: PacsTarget): string {
  const fwd = forward ? `; to ${describeTarget(forward)}: forwarded ${s.forwarded}, queued ${s.queued}, retried ${s.retried}, dead-lettered ${s.deadLettered}${s.lastForwardError && s.queued ? ` (last error: ${s.lastForwardError})` : ''}` : '';
  return `status: received ${s.received}${fwd}`;
}
