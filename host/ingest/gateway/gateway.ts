// The ingest gateway: a C-STORE SCP in front of PACS. Every object is
// verified and audited before the sender gets its answer; authentic objects
// are stored and (optionally) forwarded to PACS as their ORIGINAL bytes by
// host/net's SCU; the rest are quarantined with their report, and either
// accepted-and-flagged (success answer, never forwarded) or refused with
// status A900 and a reason in Error Comment.
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, watch, statSync, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import { DicomNetError } from '../../net/cstore.js';
import { sendTo, type PacsTarget } from '../../net/destination.js';
import type { DicomTls } from '../../net/tls.js';
import { startStoreScp, type StoreScp } from '../../net/scp.js';
import { fsyncDir } from '../../io/atomic.js';
import { Ingestor, type IngestResult } from './ingest.js';

export interface GatewayOptions {
  host: string;
  port: number;
  aeTitle: string;
  /** Calling AE titles allowed to send ("AE" or "AE@address"); undefined: any (see StoreScpOptions). */
  allowedCallers?: string[];
  /** DICOM over TLS for the listener (host/net/tls.ts). */
  tls?: DicomTls;
  ingestor: Ingestor;
  /** Forward authentic objects here (original bytes). Requires the ingestor to have a storeDir. */
  /** PACS behind the gateway: C-STORE SCP or STOW-RS endpoint. */
  forward?: PacsTarget;
  log?: (m: string) => void;
  /** Called after each object is handled (tests, progress lines). */
  onResult?: (r: IngestResult) => void;
  /** Backoff for forwarding retries. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * In-order, restart-safe forwarding of stored objects: a hard link of each
 * stored file in STORE/.forward/pending is the queue entry; it is removed once
 * PACS took the object, moved to .forward/held when PACS refuses it for good.
 */
export class ForwardQueue {
  readonly pendingDir: string;
  readonly heldDir: string;
  private running = true;
  private wake: (() => void) | null = null;
  private loop: Promise<void>;
  readonly stats = { forwarded: 0, retried: 0, held: 0, lastError: null as string | null };

  constructor(storeDir: string, private readonly target: PacsTarget, private readonly log: (m: string) => void, private readonly minBackoff = 1000, private readonly maxBackoff = 60000) {
    this.pendingDir = join(storeDir, '.forward', 'pending');
    this.heldDir = join(storeDir, '.forward', 'held');
    mkdirSync(this.pendingDir, { recursive: true });
    mkdirSync(this.heldDir, { recursive: true });
    this.loop = this.run();
  }

  /** Queues a stored file (same folder tree, so a hard link is cheap and atomic). */
  enqueue(storedPath: string): void {
    const entry = join(this.pendingDir, `${Date.now().toString().padStart(15, '0')}-${basename(storedPath)}`);
    linkSync(storedPath, entry);
    fsyncDir(this.pendingDir);
    this.wake?.();
  }

  get pending(): number {
    return readdirSync(this.pendingDir).filter((f) => !f.startsWith('.')).length;
  }

  private async run(): Promise<void> {
    let backoff = this.minBackoff;
    while (this.running) {
      const next = readdirSync(this.pendingDir).filter((f) => !f.startsWith('.')).sort()[0];
      if (!next) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      const p = join(this.pendingDir, next);
      try {
        await sendTo(this.target, new Uint8Array(readFileSync(p)));
        unlinkSync(p);
        this.stats.forwarded++;
        backoff = this.minBackoff;
      } catch (err) {
        const msg = (err as Error).message;
        this.stats.lastError = msg;
        if (err instanceof DicomNetError && !err.retryable) {
          renameSync(p, join(this.heldDir, next));
          this.stats.held++;
          this.log(`forward: ${next} held (PACS refused it for good): ${msg}`);
          continue;
        }
        this.stats.retried++;
        this.log(`forward: ${next} not delivered, retrying in ${backoff} ms: ${msg}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = null;
        backoff = Math.min(this.maxBackoff, backoff * 2);
      }
    }
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

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }
}

export interface Gateway {
  port: number;
  forwarder: ForwardQueue | null;
  close(): Promise<void>;
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const log = o.log ?? (() => {});
  const store = o.ingestor.o.storeDir;
  if (o.forward && !store) throw new Error('forwarding needs a store folder');
  const forwarder = o.forward && store ? new ForwardQueue(store, o.forward, log, o.minBackoffMs, o.maxBackoffMs) : null;
  let scp: StoreScp;
  try {
    scp = await startStoreScp({
      host: o.host, port: o.port, aeTitle: o.aeTitle, allowedCallers: o.allowedCallers, tls: o.tls, log,
      onStore: async (obj) => {
        // Verification is synchronous CPU work; objects are handled one at a time in arrival order per association.
        const r = o.ingestor.ingest(obj.part10(), { via: 'c-store', ae: obj.callingAe, host: obj.remoteAddress || null });
        if (r.action === 'stored' && r.path && forwarder) forwarder.enqueue(r.path);
        log(`${r.sopInstanceUid ?? '(no UID)'} from ${obj.callingAe}: ${r.report.verdict} → ${r.action} (audit #${r.record.seq})`);
        o.onResult?.(r);
        return { status: r.status, comment: r.comment };
      },
    });
  } catch (err) {
    await forwarder?.stop();
    throw err;
  }
  return {
    port: scp.port,
    forwarder,
    close: async () => {
      await scp.close();
      await forwarder?.stop();
    },
  };
}

/**
 * Folder mode: every *.dcm file that appears in `dir` (written completely, then
 * renamed in, as DCMTK's storescp and radseal's outbox do) is ingested and
 * removed from the drop folder; files present at start are handled first.
 */
export function watchFolder(dir: string, ingestor: Ingestor, log: (m: string) => void = () => {}, onResult?: (r: IngestResult) => void): { close(): void; scan(): void } {
  mkdirSync(dir, { recursive: true });
  let busy = false;
  let again = false;
  const scan = () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        for (const f of readdirSync(dir).sort()) {
          if (f.startsWith('.') || !/\.dcm$/i.test(f)) continue;
          const p = join(dir, f);
          if (!existsSync(p) || !statSync(p).isFile()) continue;
          const r = ingestor.ingest(new Uint8Array(readFileSync(p)), { via: 'watch', ae: null, host: null });
          unlinkSync(p);
          log(`${f}: ${r.report.verdict} → ${r.action} (audit #${r.record.seq})`);
          onResult?.(r);
        }
      } while (again);
    } finally {
      busy = false;
    }
  };
  const w: FSWatcher = watch(dir, () => scan());
  scan();
  return { close: () => w.close(), scan };
}
