// Fuzz inputs for the link codec: a valid packet stream (a frame's BEGIN,
// CHUNKs and END, plus host replies), then one to three corruptions of its
// bytes. Reproducible from (seed, index).
import { crc32c } from '../../host/link/crc32c.js';
import {
  encodeAck, encodeBegin, encodeChunk, encodeCredit, encodeEnd, encodeError, encodeNak, encodeStatus, HEADER_BYTES, NakReason, StatusCode,
} from '../../host/link/codec.js';
import { concat, getU32, setU32 } from './byte-edits.js';
import { rngFor, type Rng } from './prng.js';

export interface LinkInput {
  seed: number;
  index: number;
  /** The packets as sent, each a legitimate encoding. */
  packets: Uint8Array[];
  stream: Uint8Array;
  operators: string[];
  details: string[];
  /** Where the receiver's reads split the stream. */
  splits: number[];
  /**
   * Packets whose header the mutator rewrote with a fresh header CRC, as "type:serial:index": a
   * forgery, not line noise, so the CRCs are not expected to catch what follows from it.
   */
  forged: string[];
  /** Parser limits for this input. */

  maxBody: number;
  views: boolean;
}

function validPackets(rng: Rng): Uint8Array[] {
  const serial = rng.int(2 ** 32);
  const chunkBytes = rng.pick([256, 300, 512, 1024]);
  const chunkCount = rng.range(1, 4);
  const totalBytes = chunkBytes * (chunkCount - 1) + rng.range(2, chunkBytes) & ~1;
  const rows = 1, cols = totalBytes / 2;
  const out: Uint8Array[] = [encodeBegin(serial, { deviceId: rng.pick(['DX-1', 'DRX-7', '__proto__', 'constructor']), rows, cols, bitsStored: 14, bytesPerPixel: 2, chunkBytes, chunkCount, totalBytes })];
  for (let i = 0; i < chunkCount; i++) out.push(encodeChunk(serial, i, rng.bytes(i < chunkCount - 1 ? chunkBytes : totalBytes - chunkBytes * i)));
  out.push(encodeEnd(serial, chunkCount, rng.bytes(32)));
  const replies = [
    () => encodeCredit(serial, rng.int(64)),
    () => encodeNak(serial, NakReason.Missing, [[rng.int(8), rng.range(1, 4)], [rng.int(99), 1]]),
    () => encodeAck(serial, 1),
    () => encodeStatus(serial, StatusCode.Received),
    () => encodeError(serial, 3, 'constructor __proto__ refused'),
  ];
  for (let k = rng.int(3); k > 0; k--) out.splice(rng.int(out.length + 1), 0, rng.pick(replies)());
  return out;
}

/** Offsets where each packet starts in the concatenated stream. */
function starts(packets: Uint8Array[]): number[] {
  let o = 0;
  return packets.map((p) => ((o += p.length), o - p.length));
}

type LinkOperator = { name: string; apply(s: Uint8Array, packets: Uint8Array[], rng: Rng): { bytes: Uint8Array; detail: string; forged?: string } | null };

const fixHeaderCrc = (b: Uint8Array, at: number) => setU32(b, at + 20, crc32c(b, 0, at, at + 20));
/** The identity of the header at `at` (read from the bytes: earlier edits may have moved packets). */
const headerId = (b: Uint8Array, at: number) => `${b[at + 5]}:${getU32(b, at + 8)}:${getU32(b, at + 12)}`;

function flipBits(s: Uint8Array, from: number, to: number, rng: Rng, n: number): Uint8Array {
  const out = s.slice();
  for (let k = 0; k < n; k++) out[from + rng.int(to - from)]! ^= 1 << rng.int(8);
  return out;
}

const LINK_OPERATORS: LinkOperator[] = [
  { name: 'flip', apply: (s, _p, rng) => ({ bytes: flipBits(s, 0, s.length, rng, rng.range(1, 4)), detail: 'bits flipped anywhere' }) },
  {
    name: 'flip-header', apply: (s, p, rng) => {
      const at = rng.pick(starts(p));
      return { bytes: flipBits(s, at, at + HEADER_BYTES, rng, rng.range(1, 2)), detail: `header at ${at}` };
    },
  },
  {
    name: 'flip-body', apply: (s, p, rng) => {
      const i = rng.int(p.length), at = starts(p)[i]!;
      return { bytes: flipBits(s, at + HEADER_BYTES, at + p[i]!.length, rng, rng.range(1, 3)), detail: `body of packet ${i}` };
    },
  },
  { name: 'truncate-stream', apply: (s, _p, rng) => { const cut = rng.int(s.length); return { bytes: s.slice(0, cut), detail: `cut at ${cut}` }; } },
  {
    name: 'truncate-packet', apply: (s, p, rng) => {
      const i = rng.int(p.length), at = starts(p)[i]!, keep = rng.int(p[i]!.length);
      return { bytes: concat(s.subarray(0, at + keep), s.subarray(at + p[i]!.length)), detail: `packet ${i} cut to ${keep} bytes` };
    },
  },
  {
    // A line drop right after a header: what follows must not pass for the lost body.
    name: 'truncate-after-header', apply: (s, p, rng) => {
      const i = rng.int(p.length), at = starts(p)[i]!;
      return p[i]!.length === HEADER_BYTES + 4 ? null : { bytes: concat(s.subarray(0, at + HEADER_BYTES), s.subarray(at + p[i]!.length)), detail: `packet ${i} cut after its header` };
    },
  },
  {
    name: 'splice', apply: (s, _p, rng) => {
      const from = rng.int(s.length), len = rng.range(1, 64), at = rng.int(s.length + 1);
      return { bytes: concat(s.subarray(0, at), s.slice(from, from + len), s.subarray(at)), detail: `${len} bytes from ${from} inserted at ${at}` };
    },
  },
  {
    name: 'delete-range', apply: (s, _p, rng) => {
      const at = rng.int(s.length), len = rng.range(1, 32);
      return { bytes: concat(s.subarray(0, at), s.subarray(at + len)), detail: `${len} bytes deleted at ${at}` };
    },
  },
  {
    name: 'garbage', apply: (s, _p, rng) => {
      const junk = rng.pick([() => rng.bytes(rng.range(1, 64)), () => concat(Uint8Array.of(0x52, 0x53, 0x4c, 0x4b), rng.bytes(rng.range(0, 40))), () => new Uint8Array(rng.range(1, 200))])();
      const at = rng.int(s.length + 1);
      return { bytes: concat(s.subarray(0, at), junk, s.subarray(at)), detail: `${junk.length} bytes inserted at ${at}` };
    },
  },
  {
    name: 'length-field', apply: (s, p, rng) => {
      const at = rng.pick(starts(p));
      const out = s.slice();
      const old = getU32(out, at + 16);
      const value = rng.pick([0, old + 1, old - 1, old + 4, old * 2, 0xffffffff, 0x100000, 0x100001, rng.int(2 ** 32)]) >>> 0;
      setU32(out, at + 16, value);
      const fixed = rng.chance(0.6);
      if (fixed) fixHeaderCrc(out, at); // a consistent header: only the body CRC can catch it now
      return value === old ? null : { bytes: out, detail: `length ${old} -> ${value}${fixed ? ', header CRC recomputed' : ''}`, ...(fixed ? { forged: headerId(out, at) } : {}) };
    },
  },
  {
    name: 'version-field', apply: (s, p, rng) => {
      const at = rng.pick(starts(p));
      const out = s.slice();
      out[at + 4] = rng.pick([0, 2, 255]);
      fixHeaderCrc(out, at);
      return { bytes: out, detail: `version ${out[at + 4]} with a good header CRC`, forged: headerId(out, at) };
    },
  },
  {
    name: 'duplicate-packet', apply: (s, p, rng) => {
      const i = rng.int(p.length);
      const at = rng.pick([...starts(p), s.length]);
      return { bytes: concat(s.subarray(0, at), p[i]!, s.subarray(at)), detail: `packet ${i} repeated at ${at}` };
    },
  },
];

export const LINK_OPERATOR_NAMES = LINK_OPERATORS.map((o) => o.name);

export function linkInput(seed: number, index: number): LinkInput {
  const rng = rngFor(seed, index);
  const packets = validPackets(rng);
  let stream = concat(...packets);
  const input: LinkInput = { seed, index, packets, stream, operators: [], details: [], forged: [], splits: [], maxBody: rng.pick([1 << 20, 1 << 20, 4096, 300]), views: rng.chance(0.5) };
  for (let k = rng.chance(0.7) ? 1 : rng.range(2, 3); k > 0; k--) {
    const op = rng.pick(LINK_OPERATORS);
    const r = op.apply(stream, packets, rng);
    if (!r) continue;
    stream = r.bytes;
    input.operators.push(op.name);
    input.details.push(r.detail);
    if (r.forged) input.forged.push(r.forged);
  }
  input.stream = stream;
  input.splits = Array.from({ length: rng.int(6) }, () => rng.int(stream.length + 1)).sort((a, b) => a - b);
  return input;
}

/** A body for the decoders straight from the bytes (no CRC in the way): a mangled BEGIN or NAK body. */
export function mangledBodies(seed: number, index: number): { begin: Uint8Array; nak: Uint8Array } {
  const rng = rngFor(seed ^ 0x1ace, index);
  const mangle = (b: Uint8Array): Uint8Array => rng.pick([
    () => flipBits(b, 0, Math.max(1, b.length), rng, rng.range(1, 4)),
    () => b.slice(0, rng.int(b.length + 1)),
    () => concat(b, rng.bytes(rng.range(1, 16))),
    () => { const o = b.slice(); o[0] = rng.int(256); return o; },
  ])();
  const begin = encodeBegin(1, { deviceId: 'DX-1', rows: 4, cols: 4, bitsStored: 12, bytesPerPixel: 2, chunkBytes: 256, chunkCount: 1, totalBytes: 32 }).subarray(HEADER_BYTES, -4);
  const nak = encodeNak(1, NakReason.Missing, [[1, 2], [5, 1]]).subarray(HEADER_BYTES, -4);
  return { begin: mangle(begin.slice()), nak: mangle(nak.slice()) };
}
