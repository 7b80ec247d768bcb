import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cCombine } from '../../../host/link/crc32c.js';
import {
  PacketParser, PacketType, writePacket, encodeBegin, decodeBegin, encodeChunk, encodeNak, decodeNak, encodePacket, geometryProblem, toRanges,
  HEADER_BYTES, MAX_BODY_BYTES, NakReason, PROTOCOL_VERSION, bodyCrc,
} from '../../../host/link/codec.js';

const te = new TextEncoder();

test('CRC-32C matches published check values', () => {
  assert.equal(crc32c(te.encode('123456789')), 0xe3069283); // CRC catalogue check value
  // RFC 3720 B.4 test vectors
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  // Incremental equals one-shot, across the slice-by-8 boundary.
  const d = Uint8Array.from({ length: 1001 }, (_, i) => (i * 31) & 0xff);
  assert.equal(crc32c(d.subarray(500), crc32c(d.subarray(0, 500))), crc32c(d));
});

test('CRC-32C word path equals a bitwise reference at every alignment, length and range', () => {
  const ref = (b: Uint8Array, crc = 0) => {
    let c = ~crc >>> 0;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const big = Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + (i >> 7)) & 0xff);
  for (const off of [0, 1, 2, 3, 5, 7]) {
    for (const len of [0, 1, 15, 63, 64, 65, 79, 80, 257, 1000, 4000 - off]) {
      const v = big.subarray(off, off + len); // byteOffset not a multiple of 4
      assert.equal(crc32c(v), ref(v), `subarray at ${off}, ${len} bytes`);
      assert.equal(crc32c(big, 0, off, off + len), ref(v), `range ${off}..${off + len}`);
      assert.equal(crc32c(v, 0x12345678), ref(v, 0x12345678), `continued, ${off}, ${len}`);
    }
  }
  // A Buffer from Node's shared pool (odd offset into a large ArrayBuffer).
  const pooled = Buffer.from(big.subarray(3, 203));
  assert.equal(crc32c(pooled), ref(big.subarray(3, 203)));
});

test('BEGIN round-trips and geometry is checked', () => {
  const g = { deviceId: 'DRX-7', rows: 3072, cols: 3072, bitsStored: 14, bytesPerPixel: 2, chunkBytes: 16384, chunkCount: 1152, totalBytes: 3072 * 3072 * 2 };
  const ev = new PacketParser().push(encodeBegin(42, g));
  assert.equal(ev.length, 1);
  assert.equal(ev[0].kind, 'packet');
  if (ev[0].kind !== 'packet') return;
  assert.equal(ev[0].packet.serial, 42);
  assert.deepEqual(decodeBegin(ev[0].packet.body), g);
  const lim = { maxChunkBytes: 1 << 20, maxFrameBytes: 32 << 20, maxRows: 4096, maxCols: 4096 };
  assert.equal(geometryProblem(g, lim), null);
  assert.match(geometryProblem({ ...g, totalBytes: 5 }, lim)!, /totalBytes/);
  assert.match(geometryProblem({ ...g, chunkCount: 3 }, lim)!, /chunkCount/);
  assert.match(geometryProblem({ ...g, bitsStored: 17 }, lim)!, /bitsStored/);
  assert.match(geometryProblem(g, { ...lim, maxFrameBytes: 1 << 20 })!, /memory budget/);
});

test('NAK ranges round-trip', () => {
  assert.deepEqual(toRanges([1, 2, 3, 7, 9, 10]), [[1, 3], [7, 1], [9, 2]]);
  const ev = new PacketParser().push(encodeNak(9, NakReason.Missing, [[1, 3], [7, 1]]));
  assert.equal(ev[0].kind, 'packet');
  if (ev[0].kind === 'packet') assert.deepEqual(decodeNak(ev[0].packet), { reason: NakReason.Missing, ranges: [[1, 3], [7, 1]] });
});

test('parser: any split of the byte stream yields the same packets', () => {
  const pkts = [encodeChunk(1, 0, new Uint8Array(1000).fill(1)), encodeChunk(1, 1, new Uint8Array(17).fill(2)), encodeChunk(1, 2, new Uint8Array(0))];
  const all = new Uint8Array(pkts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of pkts) {
    all.set(p, o);
    o += p.length;
  }
  for (const step of [1, 3, 24, 25, 1000, all.length]) {
    const parser = new PacketParser();
    const got = [];
    for (let i = 0; i < all.length; i += step) got.push(...parser.push(all.subarray(i, i + step)));
    assert.deepEqual(got.map((e) => (e.kind === 'packet' ? e.packet.index : e.kind)), [0, 1, 2], `step ${step}`);
  }
});

test('parser: garbage, fake sync words, bad CRCs, oversize and wrong versions are reported and skipped', () => {
  const good = encodeChunk(5, 3, te.encode('payload'));
  const badBody = encodeChunk(5, 4, te.encode('damaged'));
  badBody[HEADER_BYTES + 2] ^= 0x10;
  const badHeader = encodeChunk(5, 5, te.encode('x'));
  badHeader[10] ^= 1;
  const future = encodePacket(PacketType.Chunk, 5, 6, te.encode('future'), 0, PROTOCOL_VERSION + 1);
  // Oversize: a header with a valid CRC that announces a body above the limit.
  const over = encodePacket(PacketType.Chunk, 5, 7, new Uint8Array(0));
  const dv = new DataView(over.buffer);
  dv.setUint32(16, MAX_BODY_BYTES + 1, true);
  dv.setUint32(20, crc32c(over, 0, 0, 20), true);
  const garbage = Uint8Array.from([0, 1, 0x52, 0x53, 0x4c, 0x4b, 9, 9, 9, 255]);
  const stream = [garbage, badBody, good, badHeader, future, over.subarray(0, HEADER_BYTES), good];
  const parser = new PacketParser();
  const kinds = stream.flatMap((b) => parser.push(b)).map((e) => e.kind);
  assert.ok(kinds.includes('bad-body-crc'));
  assert.ok(kinds.includes('bad-header-crc'));
  assert.ok(kinds.includes('version'));
  assert.ok(kinds.includes('oversize'));
  assert.ok(kinds.includes('garbage'));
  assert.equal(kinds.filter((k) => k === 'packet').length, 2, 'both good packets recovered');
});

test('parser: a truncated packet followed by a good one, and the inter-byte timeout', () => {
  const cut = encodeChunk(1, 0, new Uint8Array(5000)).subarray(0, 3000);
  const end = encodeChunk(1, 1, te.encode('tail'));
  const parser = new PacketParser();
  assert.deepEqual(parser.push(cut), []);
  assert.deepEqual(parser.push(end), [], 'the next packet is swallowed by the announced length for now');
  // A responsive event loop ticking every 25 ms with no new bytes: after 100 ms the packet is declared truncated.
  const now = Date.now();
  const more = [];
  for (let t = now; t <= now + 300; t += 25) more.push(...parser.expire(100, t));
  assert.ok(more.some((e) => e.kind === 'truncated'));
  assert.ok(more.some((e) => e.kind === 'packet' && e.packet.index === 1), 'packet after the truncated one recovered');
});

test('crc32cCombine gives the CRC of A followed by B from their CRCs, for any lengths', () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff);
  for (const cut of [0, 1, 3, 20, 64, 1023, 4096, 4999, 5000]) {
    const a = data.subarray(0, cut), b = data.subarray(cut);
    assert.equal(crc32cCombine(crc32c(a), crc32c(b), b.length), crc32c(data), `cut at ${cut}`);
  }
});

test('the body CRC covers the header: a packet cut after its header cannot take the next packet as its body', () => {
  const header = encodePacket(PacketType.Chunk, 3, 1, new Uint8Array(0)).subarray(0, 20);
  const body = te.encode('chunk body');
  assert.equal(bodyCrc(crc32c(header), body), crc32c(new Uint8Array([...header, ...body])));
  // A NAK with two ranges has a 20-byte body, as long as a header: cut it after its header and
  // let the next packet follow. With a CRC of the body alone, the next header's CRC would check.
  const nak = encodePacket(PacketType.Nak, 7, 1, new Uint8Array(20));
  const wire = new Uint8Array([...nak.subarray(0, HEADER_BYTES), ...encodePacket(PacketType.Credit, 7, 0), ...encodePacket(PacketType.Credit, 8, 0)]);
  const seen = new PacketParser().push(wire).map((ev) => (ev.kind === 'packet' ? `packet ${ev.packet.type} ${ev.packet.serial}` : ev.kind));
  assert.ok(!seen.includes(`packet ${PacketType.Nak} 7`), `no NAK accepted: ${seen.join(', ')}`);
  assert.ok(seen.includes(`packet ${PacketType.Credit} 8`), seen.join(', '));
  // A chunk header followed, after lost bytes, by the next chunk's body (same length): refused.
  const c0 = encodeChunk(9, 0, new Uint8Array(64).fill(1)), c1 = encodeChunk(9, 1, new Uint8Array(64).fill(2));
  const spliced = new Uint8Array([...c0.subarray(0, HEADER_BYTES), ...c1.subarray(HEADER_BYTES)]);
  assert.ok(!new PacketParser().push(spliced).some((ev) => ev.kind === 'packet'), 'chunk 0 carrying chunk 1\'s pixels is refused');
  // A sender's precomputed chunk CRC, combined with the header, gives the same trailer.
  const direct = encodeChunk(9, 1, new Uint8Array(64).fill(2));
  const out = new Uint8Array(direct.length);
  writePacket(out, 0, PacketType.Chunk, 9, 1, new Uint8Array(64).fill(2), crc32c(new Uint8Array(64).fill(2)));
  assert.deepEqual(out, direct);
});
