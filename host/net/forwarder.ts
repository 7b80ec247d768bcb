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
//
// Several targets (a PACS and a VNA, two PACS): one lane per target walks the same queue in order,
// with its own backoff, so a target that is down holds back nobody else. A queue that keeps
// per-target delivery state (TargetLedger: the Outbox) records each acknowledgement and refusal
// per target, durably, and lets an object leave the queue only when every target has settled it;
// so a restart sends nothing again to a target that recorded it (a crash between PACS's answer
// and that record sends the same bytes to that target once more, as with one target).
import { EventEmitter } from 'node:events';
import { ReusedRead } from '../io/reused-read.js';
import { Nap } from '../io/nap.js';
import { DicomNetError } from './cstore.js';
import { describeTarget, parsePacsTarget, sendTo, type PacsTarget } from './destination.js';
import type { DicomTls } from './tls.js';

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

/** Per-target delivery state of a queue sent to several targets (keys from targetKey()). */
export interface TargetLedger<E extends QueuedObject> {
  settledFor(target: string, e: E): boolean;
  /** `target` took `e`: recorded durably; `e` leaves the queue once every one of `targets` settled it. */
  recordSent(target: string, e: E, targets: readonly string[]): void;
  /** `target` refuses `e` for good: parked for that target alone; returns where. */
  recordRefused(target: string, e: E, note: { target: string; reason: string }, targets: readonly string[]): string;
  /** Finishes objects every target settled before a crash; returns how many. */
  finishSettled(targets: readonly string[]): number;
}

const hasLedger = <E extends QueuedObject>(q: ForwardQueueStore<E>): q is ForwardQueueStore<E> & TargetLedger<E> =>
  typeof (q as Partial<TargetLedger<E>>).recordSent === 'function';

/** A target's name in delivery state: its address (AE@HOST:PORT or URL), file-name safe. */
export function targetKey(t: PacsTarget): string {
  const id = 'url' in t ? t.url : `${t.calledAe}@${t.host}:${t.port}`;
  return id.replace(/[^A-Za-z0-9._-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/**
 * The --forward values (repeatable, or a list in the station config): C-STORE targets take the
 * TLS identity when one is given, STOW-RS targets their https URL. The same target twice is an error.
 */
export function parseForwardTargets(specs: string | readonly string[] | undefined, tls?: DicomTls): PacsTarget[] {
  const list = typeof specs === 'string' ? [specs] : [...(specs ?? [])];
  const targets = list.map((s) => parsePacsTarget(s, /^https?:\/\//i.test(s) ? undefined : tls));
  if (tls && targets.length && targets.every((t) => 'url' in t)) throw new Error('--tls-key/--tls-cert/--tls-ca apply to C-STORE; for STOW-RS give an https:// URL');
  const seen = new Set<string>();
  for (const t of targets) {
    const k = targetKey(t);
    if (seen.has(k)) throw new Error(`--forward names ${describeTarget(t)} twice`);
    seen.add(k);
  }
  return targets;
}

export interface ForwarderOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (m: string) => void;
  /** Injected for tests; defaults to the C-STORE SCU or STOW-RS client, by target. */
  send?: (t: PacsTarget, bytes: Uint8Array) => Promise<unknown>;
  /**
   * Asked before each object is sent: milliseconds to wait first because work with priority is
   * going on (the proxy's modality sending); 0 sends now. Bounded by whoever answers it.
   */
  yieldTo?: () => number;
}

export interface ForwarderStats {
  /** Deliveries (an object sent to two targets counts twice). */
  forwarded: number;
  retried: number;
  /** Parked in the dead-letter folder by this process (per target). */
  deadLettered: number;
  lastError: string | null;
}

interface Lane {
  target: PacsTarget;
  key: string;
  name: string;
  stats: ForwarderStats;
  /** The same events as the Forwarder's, for this target alone (audit trails name one target). */
  events: EventEmitter;
  nap: Nap;
  /** The lane sends one object at a time: its bytes are read into one kept buffer. */
  reader: ReusedRead;
}

export class Forwarder<E extends QueuedObject = QueuedObject> extends EventEmitter {
  readonly stats: ForwarderStats = { forwarded: 0, retried: 0, deadLettered: 0, lastError: null };
  readonly targets: readonly PacsTarget[];
  private readonly lanes: Lane[];
  private readonly keys: string[];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly log: (m: string) => void;
  private readonly sendFn: (t: PacsTarget, bytes: Uint8Array) => Promise<unknown>;
  private readonly yieldTo: () => number;

  constructor(private readonly queue: ForwardQueueStore<E>, target: PacsTarget | readonly PacsTarget[], o: ForwarderOptions = {}) {
    super();
    this.targets = Array.isArray(target) ? [...target] : [target as PacsTarget];
    if (this.targets.length === 0) throw new Error('a forwarder needs at least one target');
    this.keys = this.targets.map(targetKey);
    if (new Set(this.keys).size !== this.keys.length) throw new Error('the same forward target is named twice');
    if (this.targets.length > 1 && !hasLedger(queue)) throw new Error('this queue keeps no per-target delivery state: it forwards to one target');
    this.lanes = this.targets.map((t, i) => ({
      target: t, key: this.keys[i]!, name: describeTarget(t), events: new EventEmitter(), nap: new Nap(), reader: new ReusedRead(),
      stats: { forwarded: 0, retried: 0, deadLettered: 0, lastError: null },
    }));
    this.minBackoff = o.minBackoffMs ?? 1000;
    this.maxBackoff = o.maxBackoffMs ?? 60000;
    this.log = o.log ?? (() => {});
    this.sendFn = o.send ?? sendTo;
    this.yieldTo = o.yieldTo ?? (() => 0);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (hasLedger(this.queue)) {
      try {
        const n = this.queue.finishSettled(this.keys);
        if (n) this.log(`forward: ${n} object(s) every target had settled before the restart left the queue`);
      } catch (e) {
        this.log(`forward: cannot finish settled objects: ${(e as Error).message}`);
      }
    }
    this.loops = this.lanes.map((l) => this.run(l));
  }

  /** Something new is in the outbox. */
  kick(): void {
    for (const l of this.lanes) l.nap.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await Promise.all(this.loops);
  }

  get queued(): number {
    return this.queue.pending().length;
  }

  /** Objects in the dead-letter folder (all time, not just this process). */
  get deadLettered(): number {
    return this.queue.deadLettered();
  }

  /** Per target: its name, what it took and was refused, and how many objects wait for it. */
  perTarget(): Array<{ target: string; queued: number } & ForwarderStats> {
    const pending = this.queue.pending();
    return this.lanes.map((l) => ({
      target: l.name, ...l.stats,
      queued: hasLedger(this.queue) ? pending.filter((e) => !(this.queue as unknown as TargetLedger<E>).settledFor(l.key, e)).length : pending.length,
    }));
  }

  /** The events of one target (same names and arguments as the Forwarder's own). */
  eventsFor(target: PacsTarget): EventEmitter {
    const lane = this.lanes.find((l) => l.key === targetKey(target));
    if (!lane) throw new Error(`${describeTarget(target)} is not a target of this forwarder`);
    return lane.events;
  }

  private note(lane: Lane, event: string, ...args: unknown[]): void {
    this.emit(event, ...args, lane.target);
    lane.events.emit(event, ...args);
  }

  /** The oldest object this lane's target has not settled. */
  private headFor(lane: Lane): E | undefined {
    const pending = this.queue.pending();
    if (!hasLedger(this.queue)) return pending[0];
    const ledger = this.queue;
    return pending.find((e) => !ledger.settledFor(lane.key, e));
  }

  private async run(lane: Lane): Promise<void> {
    let backoff = this.minBackoff;
    const count = (k: 'forwarded' | 'retried' | 'deadLettered') => {
      lane.stats[k]++;
      this.stats[k]++;
    };
    while (this.running) {
      let head: E | undefined;
      try {
        head = this.headFor(lane);
      } catch (e) {
        // The queue folder cannot be read (removed, permissions): say so, look again later; never die.
        this.log(`forward: cannot read the queue: ${(e as Error).message}`);
        await lane.nap.sleep(this.maxBackoff);
        continue;
      }
      if (!head) {
        await lane.nap.sleep(1000);
        continue;
      }
      const wait = this.yieldTo();
      if (wait > 0) {
        await lane.nap.sleep(wait);
        continue;
      }
      try {
        const bytes = await lane.reader.readAsync(head.path);
        this.note(lane, 'sending', head);
        await this.sendFn(lane.target, bytes);
        if (hasLedger(this.queue)) this.queue.recordSent(lane.key, head, this.keys);
        else this.queue.markSent(head);
        count('forwarded');
        lane.stats.lastError = null;
        this.stats.lastError = null;
        backoff = this.minBackoff;
        this.log(`forward: ${head.name} -> ${lane.name} stored`);
        this.note(lane, 'forwarded', head);
      } catch (e) {
        const err = e as Error;
        lane.stats.lastError = err.message;
        this.stats.lastError = `${lane.name}: ${err.message}`;
        if (err instanceof DicomNetError && !err.retryable) {
          try {
            const note = { target: lane.name, reason: err.message };
            const parked = hasLedger(this.queue) ? this.queue.recordRefused(lane.key, head, note, this.keys) : this.queue.deadLetter(head, note);
            count('deadLettered');
            backoff = this.minBackoff;
            this.log(`forward: ${head.name} refused for good by ${lane.name} (${err.message}); parked in ${parked}, going on with the next`);
            this.note(lane, 'dead-letter', head, err, parked);
            continue;
          } catch (moveErr) {
            // Cannot park it (disk full?): it stays at the head and is retried like a transient failure.
            this.log(`forward: ${head.name} refused for good by ${lane.name}, but could not be moved to the dead-letter folder: ${(moveErr as Error).message}`);
          }
        }
        count('retried');
        this.log(`forward: ${head.name} not delivered to ${lane.name} (${err.message}); retry in ${backoff} ms`);
        this.note(lane, 'retry', head, err);
        await lane.nap.sleep(backoff);
        backoff = Math.min(backoff * 2, this.maxBackoff);
      }
    }
  }
}
