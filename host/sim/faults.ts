// Fault injection for the simulator: damages the device's outgoing packets the
// way a noisy cable, a flaky USB hub or a firmware hiccup would.
//
// SPEC is comma-separated key=value:
//   corrupt=1e-5      probability per byte of a flipped bit (both directions if rxcorrupt is unset)
//   rxcorrupt=1e-6    probability per byte of corruption on host->device bytes
//   drop=0.01         probability a chunk packet is not sent at all
//   truncate=0.005    probability a packet is cut short (a random prefix is sent)
//   garbage=0.001     probability of random bytes (sometimes with a fake sync word) before a packet
//   stall=0.1:300     probability per frame of a pause of 300 ms in the middle of the frame
//   disconnect=0.05   probability per frame of a disconnect in the middle of the frame
//   seed=42           PRNG seed (runs are reproducible)
import { PacketType, SYNC } from '../link/codec.js';
import type { PacketMeta } from '../link/device.js';
import type { Transport } from '../link/transport.js';
import { Rng } from './rng.js';

export interface FaultSpec {
  corrupt: number;
  rxcorrupt: number;
  drop: number;
  truncate: number;
  garbage: number;
  stall: number;
  stallMs: number;
  disconnect: number;
  seed: number;
}

export const NO_FAULTS: FaultSpec = { corrupt: 0, rxcorrupt: 0, drop: 0, truncate: 0, garbage: 0, stall: 0, stallMs: 0, disconnect: 0, seed: 1 };

export function parseFaults(spec: string | undefined): FaultSpec {
  const f: FaultSpec = { ...NO_FAULTS };
  let rxSet = false;
  if (!spec) return f;
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (v === undefined) throw new Error(`faults: "${part}" is not key=value`);
    const num = (x: string) => {
      const n = Number(x);
      if (!Number.isFinite(n) || n < 0) throw new Error(`faults: ${k}=${v}: not a non-negative number`);
      return n;
    };
    const prob = (x: string) => {
      const n = num(x);
      if (n > 1) throw new Error(`faults: ${k}=${v}: a probability must be in 0..1`);
      return n;
    };
    switch (k) {
      case 'corrupt': f.corrupt = prob(v); break;
      case 'rxcorrupt': f.rxcorrupt = prob(v); rxSet = true; break;
      case 'drop': f.drop = prob(v); break;
      case 'truncate': f.truncate = prob(v); break;
      case 'garbage': f.garbage = prob(v); break;
      case 'stall': {
        const [p, ms] = v.split(':');
        f.stall = prob(p);
        f.stallMs = ms === undefined ? 500 : num(ms);
        break;
      }
      case 'disconnect': f.disconnect = prob(v); break;
      case 'seed': f.seed = num(v); break;
      default: throw new Error(`faults: unknown fault "${k}" (known: corrupt, rxcorrupt, drop, truncate, garbage, stall, disconnect, seed)`);
    }
  }
  if (!rxSet) f.rxcorrupt = f.corrupt;
  return f;
}

export interface FaultCounters {
  corruptedBytes: number;
  droppedChunks: number;
  truncated: number;
  garbageBursts: number;
  stalls: number;
  disconnects: number;
}

/**
 * Per-frame plans and a byte-level corrupter. `writer` has the LinkDevice
 * PacketWriter signature; `onStall`/`onDisconnect` are called by it at the
 * planned chunk of the planned frames.
 */
export class FaultInjector {
  readonly counters: FaultCounters = { corruptedBytes: 0, droppedChunks: 0, truncated: 0, garbageBursts: 0, stalls: 0, disconnects: 0 };
  private readonly rng: Rng;
  private txSkip: number;
  private rxSkip: number;
  private plans = new Map<number, { stallAt: number; dropAt: number }>();

  constructor(readonly spec: FaultSpec, private readonly hooks: { onStall(ms: number): void; onDisconnect(): void }) {
    this.rng = new Rng(spec.seed);
    this.txSkip = this.rng.geometric(spec.corrupt);
    this.rxSkip = this.rng.geometric(spec.rxcorrupt);
  }

  get active(): boolean {
    const s = this.spec;
    return s.corrupt + s.rxcorrupt + s.drop + s.truncate + s.garbage + s.stall + s.disconnect > 0;
  }

  /** Decides the frame's stall/disconnect points (chunk indices; -1 = none). */
  planFrame(serial: number, chunkCount: number): void {
    const s = this.spec;
    this.plans.set(serial, {
      stallAt: this.rng.next() < s.stall ? this.rng.int(chunkCount) : -1,
      dropAt: this.rng.next() < s.disconnect ? this.rng.int(chunkCount) : -1,
    });
  }

  readonly writer = (t: Transport, bytes: Uint8Array, meta: PacketMeta): boolean => {
    const s = this.spec;
    const plan = meta.type === PacketType.Chunk ? this.plans.get(meta.serial) : undefined;
    if (plan && plan.stallAt === meta.index) {
      plan.stallAt = -1;
      this.counters.stalls++;
      this.hooks.onStall(s.stallMs);
    }
    if (plan && plan.dropAt === meta.index) {
      plan.dropAt = -1;
      this.counters.disconnects++;
      // Send half the packet, then pull the plug.
      t.write(bytes.subarray(0, bytes.length >> 1));
      setImmediate(() => this.hooks.onDisconnect());
      return false;
    }
    if (meta.type === PacketType.Chunk && s.drop > 0 && this.rng.next() < s.drop) {
      this.counters.droppedChunks++;
      return true;
    }
    if (s.garbage > 0 && this.rng.next() < s.garbage) {
      this.counters.garbageBursts++;
      const g = new Uint8Array(1 + this.rng.int(64));
      for (let i = 0; i < g.length; i++) g[i] = this.rng.int(256);
      if (this.rng.next() < 0.5 && g.length > 8) g.set(SYNC, this.rng.int(g.length - 4));
      t.write(g);
    }
    let out = bytes;
    if (s.truncate > 0 && this.rng.next() < s.truncate) {
      this.counters.truncated++;
      out = bytes.subarray(0, this.rng.int(bytes.length));
    }
    if (s.corrupt > 0) {
      // Geometric skipping: cost is per corrupted byte, not per byte.
      let pos = this.txSkip - 1;
      while (pos < out.length) {
        out[pos] ^= 1 << this.rng.int(8);
        this.counters.corruptedBytes++;
        pos += this.rng.geometric(s.corrupt);
      }
      this.txSkip = pos - out.length + 1;
    }
    return t.write(out);
  };

  /** Corrupts bytes the device receives (ACK/NAK/CREDIT damage), in place. */
  corruptRx(d: Uint8Array): Uint8Array {
    if (this.spec.rxcorrupt <= 0) return d;
    let pos = this.rxSkip - 1;
    if (pos >= d.length) {
      this.rxSkip -= d.length;
      return d;
    }
    const c = d.slice();
    while (pos < c.length) {
      c[pos] ^= 1 << this.rng.int(8);
      this.counters.corruptedBytes++;
      pos += this.rng.geometric(this.spec.rxcorrupt);
    }
    this.rxSkip = pos - c.length + 1;
    return c;
  }
}
