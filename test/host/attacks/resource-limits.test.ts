// Resource exhaustion: a Deflated Explicit VR Little Endian object of a few
// hundred KB that inflates to hundreds of MB, and declared lengths far beyond
// the file. The verifier must answer `invalid` naming the limit, quickly and
// without holding the inflated bytes (measured in a child process).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createDeflateRaw } from 'node:zlib';
import { join } from 'node:path';
import { tempDir, run, ROOT } from '../support/run.js';
import { sealTo, testFrame } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectVerdict, writeIn, type Sealed } from './support.js';
import { parsePart10, writePart10, encodeDataSet, edit, insertSorted, deepSequence, must, str, us, t, type Node } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-limits-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const INFLATED = 280 * 1024 * 1024;
const DEFLATED_TS = '1.2.840.10008.1.2.1.99';

/** Streams a data set whose Pixel Data is INFLATED bytes of zeros through raw deflate; returns the compressed bytes. */
function deflateBomb(head: Node[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = createDeflateRaw({ level: 9 });
    const out: Buffer[] = [];
    z.on('data', (d: Buffer) => out.push(d));
    z.on('end', () => resolve(Buffer.concat(out)));
    z.on('error', reject);
    z.write(encodeDataSet(head));
    z.write(encodeDataSet([{ tag: t(0x7fe0, 0x0010), vr: 'OW', value: new Uint8Array(0), lengthOverride: INFLATED }]));
    const zeros = Buffer.alloc(1 << 20);
    let left = INFLATED;
    const pump = () => {
      while (left > 0) {
        left -= zeros.length;
        if (!z.write(zeros)) return void z.once('drain', pump);
      }
      z.end();
    };
    pump();
  });
}

interface Measured { verdict: string; reasons: string[]; ms: number; peakRss: number }

/** Verifies in a child process (library call) and returns its verdict, time and peak RSS. */
function measure(file: string, trustPem = s.ids.trustPem): Measured {
  const r = run(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'attacks', 'measure-verify.ts'), file, trustPem]);
  assert.equal(r.code, 0, r.stderr.slice(0, 2000));
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

test('a deflated object of at most 300 KB inflating to 280 MB: invalid naming a limit, within seconds, under 1 GB resident', async (tc) => {
  const f = parsePart10(s.bytes);
  must(f.meta, t(0x0002, 0x0010)).value = str(t(0x0002, 0x0010), 'UI', DEFLATED_TS).value;
  const head = f.dataSet.filter((e) => e.tag < t(0x7fe0, 0x0010));
  const body = await deflateBomb(head);
  const bytes = Buffer.concat([writePart10({ ...f, dataSet: [] }), body]);
  assert.ok(bytes.length <= 300 * 1024, `bomb is ${bytes.length} bytes`);
  const m = measure(writeIn(dir, 'bomb.dcm', bytes));
  tc.diagnostic(`bomb: ${bytes.length} B -> ${INFLATED} B; ${m.ms.toFixed(0)} ms, peak RSS ${(m.peakRss / 1e6).toFixed(0)} MB`);
  expectVerdict(m, 'invalid', /limit|exceed|too (large|big)|at most|cap|ratio/i);
  assert.ok(m.ms < 5000, `took ${m.ms} ms`);
  assert.ok(m.peakRss < 1e9, `peak RSS ${m.peakRss}`);
});

const LIES: Array<[string, number, number]> = [
  ['Pixel Data (7FE0,0010)', t(0x7fe0, 0x0010), 0xfffffff0],
  ['the private tile table (0009,1009)', t(0x0009, 0x1009), 0x7ffffff0],
  ['Anatomic Region Sequence (0008,2218)', t(0x0008, 0x2218), 0x10000000],
];
for (const [name, tag, length] of LIES) {
  test(`declared length of ${name} far beyond the file size: invalid`, () => {
    const f = parsePart10(s.bytes);
    must(f.dataSet, tag).lengthOverride = length;
    expectVerdict(verifyLib(s, writePart10(f)), 'invalid', /length|declares|remain|past the end|beyond|truncat|end of (the )?file/i);
  });
}

test('sequences nested 50 000 deep: invalid naming a limit (no stack overflow)', () => {
  const bytes = edit(s.bytes, (f) => insertSorted(f.dataSet, deepSequence(t(0x0040, 0xa730), 50000)));
  expectVerdict(verifyLib(s, bytes), 'invalid', /limit|deep|nest/i);
});

/** `count` empty LO elements in private groups 0011, 0013, ... as one raw run of bytes (8 bytes each). */
function spam(count: number): Node {
  const out = new Uint8Array(count * 8);
  const dv = new DataView(out.buffer);
  let n = 0;
  for (let g = 0x0011; n < count; g += 2) {
    for (let e = 0x1000; e <= 0xffff && n < count; e++, n++) {
      dv.setUint16(n * 8, g, true);
      dv.setUint16(n * 8 + 2, e, true);
      out.set([0x4c, 0x4f], n * 8 + 4);
    }
  }
  return { tag: t(0x0011, 0x1000), vr: 'LO', raw: out };
}

test('two million empty elements (16 MB): not authentic within seconds, under 1 GB resident', (tc) => {
  const m = measure(writeIn(dir, 'many-elements.dcm', edit(s.bytes, (f) => insertSorted(f.dataSet, spam(2_000_000)))));
  tc.diagnostic(`many elements: ${m.verdict}, ${m.ms.toFixed(0)} ms, peak RSS ${(m.peakRss / 1e6).toFixed(0)} MB`);
  assert.notEqual(m.verdict, 'authentic');
  assert.notEqual(m.verdict, 'THREW', m.reasons.join(' | '));
  assert.ok(m.ms < 5000, `took ${m.ms} ms`);
  assert.ok(m.peakRss < 1e9, `peak RSS ${m.peakRss}`);
});

// Each signature item costs a hash of the whole object before it can be found wrong, and bogus
// items cost the attacker nothing: the verifier must bound the work, not the attacker.
test('1000 bogus signature items on a 2 MB object: not authentic within a few seconds', async (tc) => {
  const file = join(dir, 'many-signatures-base.dcm');
  const base = await sealTo(file, testFrame(1024, 1024), s.ids.device);
  const bytes = edit(base, (f) => {
    const macs = must(f.dataSet, t(0x4ffe, 0x0001)).items!;
    const sigs = must(f.dataSet, t(0xfffa, 0xfffa)).items!;
    const [m0, s0] = [macs[0]!, sigs[0]!];
    for (let i = 0; i < 1000; i++) {
      const renumber = (e: Node) => (e.tag === t(0x0400, 0x0005) ? us(e.tag, 100 + i) : e);
      macs.push({ elements: m0.elements.map(renumber) });
      sigs.push({ elements: s0.elements.map(renumber) });
    }
  });
  const m = measure(writeIn(dir, 'many-signatures.dcm', bytes));
  tc.diagnostic(`1000 signatures: ${m.verdict}, ${m.ms.toFixed(0)} ms`);
  assert.notEqual(m.verdict, 'authentic');
  assert.ok(m.ms < 5000, `took ${m.ms} ms (${m.verdict}: ${m.reasons.slice(0, 3).join(' | ')})`);
});
