// Persistent, in-order forwarding of a folder queue to PACS: the capture
// outbox's ready/ folder, or the ingest gateway's queue of stored objects
// (host/net/link-queue.ts). The queue survives restarts; the head object is
// retried with exponential backoff while the failure is transient (no
// connection, timeout, 0xA7xx out of resources, HTTP 5xx/408/429), and nothing
// behind it is sent first (PACS sees acquisitions in capture order). An object
// PACS refuses for good (DicomNetError not retryable: a failure status such as
// 0xA900 or 0xC000, SOP class or transfer syntax not accepted, an HTTP 4xx) is
// parked in the queue's dead-letter folder with the reason, logged and counted,
// and the queue goes on: one bad object never blocks the ones behind it.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { DicomNetError } from './cstore.js';
import { describeTarget, sendTo, type PacsTarget } from './destination.js';

/** One queued object: a file in the queue folder. */
export interface QueuedObject {
  name: string;
  path: string;
}

/** A durable folder queue (Outbox, LinkQueue). */
export interface ForwardQueueStore<E extends QueuedObject> {
  /** Waiting objects, oldest first. */
  pending(): E[];
  /** PACS took it. */
  markSent(e: E): void;
  /** PACS refuses it for good: move it (durably) where it blocks nothing; returns its new path. */
  deadLetter(e: E, note: { target: string; reason: string }): string;
  /** Objects parked so far (survives restarts). */
  deadLettered(): number;
}

export interface ForwarderOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (m: string) => void;
  /** Injected for tests; defaults to the C-STORE SCU or STOW-RS client, by target. */
  send?: (t: PacsTarget, bytes: Uint8Array) => Promise<unknown>;
}

export interface ForwarderStats {
  forwarded: number;
  retried: number;
  /** Parked in the dead-letter folder by this process. */
  deadLettered: number;
  lastError: string | null;
}

export class Forwarder<E extends QueuedObject = QueuedObject> extends EventEmitter {
  readonly stats: ForwarderStats = { forwarded: 0, retried: 0, deadLettered: 0, lastError: null };
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly log: (m: string) => void;
  private readonly sendFn: (t: PacsTarget, bytes: Uint8Array) => Promise<unknown>;

  constructor(private readonly queue: ForwardQueueStore<E>, private readonly target: PacsTarget, o: ForwarderOptions = {}) {
    super();
    this.minBackoff = o.minBackoffMs ?? 1000;
    this.maxBackoff = o.maxBackoffMs ?? 60000;
    this.log = o.log ?? (() => {});
    this.sendFn = o.send ?? sendTo;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Something new is in the outbox. */
  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  get queued(): number {
    return this.queue.pending().length;
  }

  /** Objects in the dead-letter folder (all time, not just this process). */
  get deadLettered(): number {
    return this.queue.deadLettered();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        res();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async run(): Promise<void> {
    let backoff = this.minBackoff;
    while (this.running) {
      let head: E | undefined;
      try {
        head = this.queue.pending()[0];
      } catch (e) {
        // The queue folder cannot be read (removed, permissions): say so, look again later; never die.
        this.log(`forward: cannot read the queue: ${(e as Error).message}`);
        await this.sleep(this.maxBackoff);
        continue;
      }
      if (!head) {
        await this.sleep(1000);
        continue;
      }
      try {
        const bytes = readFileSync(head.path);
        this.emit('sending', head);
        await this.sendFn(this.target, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        this.queue.markSent(head);
        this.stats.forwarded++;
        this.stats.lastError = null;
        backoff = this.minBackoff;
        this.log(`forward: ${head.name} -> ${describeTarget(this.target)} stored`);
        this.emit('forwarded', head);
      } catch (e) {
        const err = e as Error;
        this.stats.lastError = err.message;
        if (err instanceof DicomNetError && !err.retryable) {
          try {
            const parked = this.queue.deadLetter(head, { target: describeTarget(this.target), reason: err.message });
            this.stats.deadLettered++;
            backoff = this.minBackoff;
            this.log(`forward: ${head.name} refused for good by ${describeTarget(this.target)} (${err.message}); parked in ${parked}, going on with the next`);
            this.emit('dead-letter', head, err, parked);
            continue;
          } catch (moveErr) {
            // Cannot park it (disk full?): it stays at the head and is retried like a transient failure.
            this.log(`forward: ${head.name} refused for good, but could not be moved to the dead-letter folder: ${(moveErr as Error).message}`);
          }
        }
        this.stats.retried++;
        this.log(`forward: ${head.name} not delivered (${err.message}); retry in ${backoff} ms`);
        this.emit('retry', head, err);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.maxBackoff);
      }
    }
  }
}
