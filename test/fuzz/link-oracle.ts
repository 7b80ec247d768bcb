// Runs one corrupted link stream through the packet parser (in the input's
// read splits, then the inter-byte timeout) and the body decoders. Nothing
// may throw except the decoders' documented LinkProtocolError, and every
// packet the parser accepts must be one that was actually sent.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PacketParser, PacketType, PACKET_TYPE_NAMES, LinkProtocolError, decodeBegin, decodeNak, decodeText, geometryProblem, type Packet, type ParseEvent } from '../../host/link/codec.js';
import { linkInput, mangledBodies, type LinkInput } from './link-mutator.js';
import { countClass, countInput, blurNumbers, type FuzzStats } from './stats.js';

export interface LinkContext {
  seed: number;
  outDir: string;
  onVerify?: (index: number, running: boolean) => void;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const packetKey = (p: Packet) => `${p.version}:${p.type}:${p.flags}:${p.serial}:${p.index}:${hex(p.body)}`;
const LIMITS = { maxChunkBytes: 1 << 20, maxFrameBytes: 32 << 20, maxRows: 4096, maxCols: 4096 };

function sentKeys(input: LinkInput): Set<string> {
  const parser = new PacketParser();
  const keys = new Set<string>();
  for (const p of input.packets) for (const ev of parser.push(p)) if (ev.kind === 'packet') keys.add(packetKey(ev.packet));
  return keys;
}

/** Decoders on a packet's body: their own LinkProtocolError is an answer, anything else escapes. */
function decode(p: { type: number; body: Uint8Array; index: number } & Partial<Packet>): void {
  const guarded = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof LinkProtocolError)) throw err;
    }
  };
  if (p.type === PacketType.Begin) guarded(() => geometryProblem(decodeBegin(p.body), LIMITS));
  if (p.type === PacketType.Nak) guarded(() => decodeNak(p as Packet));
  if (p.type === PacketType.Error) guarded(() => decodeText(p.body));
}

/** Feeds the stream and then lets the timeout flush what is left; returns every event. */
function parseAll(input: LinkInput, check: (ev: ParseEvent) => void): void {
  const parser = new PacketParser(input.maxBody, input.views);
  let from = 0;
  for (const cut of [...input.splits, input.stream.length]) {
    for (const ev of parser.push(input.stream.subarray(from, cut))) check(ev);
    from = cut;
  }
  // The inter-byte timeout on a synthetic clock: checks every 40 ms, 100 ms gap.
  let now = Date.now() + 1000;
  for (let guard = parser.pending * 4 + 16; parser.pending > 0 && guard > 0; guard--) {
    for (const ev of parser.expire(100, now)) check(ev);
    now += 40;
  }
}

function save(ctx: LinkContext, folder: string, input: LinkInput, record: object): string {
  mkdirSync(join(ctx.outDir, folder), { recursive: true });
  const rel = join(folder, `${input.seed}-${input.index}.bin`);
  writeFileSync(join(ctx.outDir, rel), input.stream);
  writeFileSync(join(ctx.outDir, folder, `${input.seed}-${input.index}.json`), JSON.stringify({ seed: input.seed, index: input.index, operators: input.operators, details: input.details, forgedHeaders: input.forged, splits: input.splits, maxBody: input.maxBody, views: input.views, ...record }, null, 1));
  return rel;
}

export function runLinkInput(ctx: LinkContext, index: number, stats: FuzzStats): void {
  const input = linkInput(ctx.seed, index);
  const legit = sentKeys(input);
  const label = input.operators.join('+') || '(none)';
  const detail = input.details.join('; ');
  let verdict = 'clean';
  const unsent: Packet[] = [];
  const t0 = performance.now();
  ctx.onVerify?.(index, true);
  try {
    parseAll(input, (ev) => {
      if (ev.kind !== 'packet') {
        verdict = 'recovered';
        return;
      }
      const p = ev.packet;
      const forgedByMutator = input.forged.includes(`${p.type}:${p.serial}:${p.index}`);
      if (!legit.has(packetKey(p)) && !forgedByMutator) unsent.push({ ...p, body: p.body.slice() });
      decode(ev.packet);
    });
    const bodies = mangledBodies(ctx.seed, index);
    decode({ type: PacketType.Begin, body: bodies.begin, index: 0 });
    decode({ type: PacketType.Nak, body: bodies.nak, index: 1, version: 1, flags: 0, serial: 1 });
  } catch (err) {
    ctx.onVerify?.(index, false);
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    stats.escapes++;
    countInput(stats, input.operators, 'escape', performance.now() - t0, index);
    const file = save(ctx, 'escapes', input, { error: message, stack: err instanceof Error ? err.stack : undefined });
    countClass(stats.classes.escape, `${label}: ${blurNumbers(message)}`, { seed: ctx.seed, index, operators: label, verdict: 'escape', detail: `${detail} -> ${message}`, file });
    return;
  }
  ctx.onVerify?.(index, false);
  if (unsent.length) verdict = 'accepted-corrupt';
  countInput(stats, input.operators, verdict, performance.now() - t0, index);
  if (!unsent.length) return;
  stats.failures++;
  const p = unsent[0]!;
  const what = `type 0x${p.type.toString(16)} serial ${p.serial} index ${p.index}, ${p.body.length}-byte body`;
  const file = save(ctx, 'failures', input, { accepted: unsent.map((f) => ({ ...f, body: hex(f.body) })) });
  countClass(stats.classes.failure, `accepted a ${PACKET_TYPE_NAMES[p.type] ?? 'type ' + p.type} with a ${p.body.length}-byte body that was never sent`, { seed: ctx.seed, index, operators: label, verdict, detail: `${detail} -> ${what}`, file });
}
