// Persistent, in-order forwarding of the outbox to PACS. The queue is the
// outbox's ready/ folder, so it survives restarts; the head object is retried
// with exponential backoff until PACS takes it, and nothing behind it is sent
// first (PACS sees acquisitions in capture order). An object PACS refuses for
// good (not retryable: e.g. SOP class or transfer syntax not accepted) is moved
// to held/ with a log line so it cannot block the queue forever.
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { DicomNetError } from './cstore.js';
import { describeTarget, sendTo, type PacsTarget } from './destination.js';
import type { Outbox, OutboxEntry } from './outbox.js';

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
  held: number;
  lastError: string | null;
}

export class Forwarder extends EventEmitter {
  readonly stats: ForwarderStats = { forwarded: 0, retried: 0, held: 0, lastError: null };
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly log: (m: string) => void;
  private readonly sendFn: (t: PacsTarget, bytes: Uint8Array) => Promise<unknown>;

  constructor(private readonly outbox: Outbox, private readonly target: PacsTarget, o: ForwarderOptions = {}) {
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
    return this.outbox.pending().length;
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
      const head: OutboxEntry | undefined = this.outbox.pending()[0];
      if (!head) {
        await this.sleep(1000);
        continue;
      }
      try {
        const bytes = readFileSync(head.path);
        await this.sendFn(this.target, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        this.outbox.markSent(head);
        this.stats.forwarded++;
        this.stats.lastError = null;
        backoff = this.minBackoff;
        this.log(`forward: ${head.name} -> ${describeTarget(this.target)} stored`);
        this.emit('forwarded', head);
      } catch (e) {
        const err = e as Error;
        this.stats.lastError = err.message;
        if (err instanceof DicomNetError && !err.retryable) {
          const heldDir = join(this.outbox.dir, 'held');
          mkdirSync(heldDir, { recursive: true });
          renameSync(head.path, join(heldDir, head.name));
          this.stats.held++;
          this.log(`forward: ${head.name} HELD (PACS refuses it for good): ${err.message}`);
          this.emit('held', head, err);
          continue;
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
