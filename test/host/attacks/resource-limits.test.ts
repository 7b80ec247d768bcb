// Resource exhaustion: a Deflated Explicit VR Little Endian object of a few
// hundred KB that inflates to hundreds of MB, and declared lengths far beyond
// the file. The verifier must answer `invalid` naming the limit, quickly and
// without holding the inflated bytes (measured in a child process).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createDeflateRaw } from 'node:zlib';
import { join } from 'node:path';
import { tempDir, run, ROOT } from '../support/run.js';
import { sealedObject, verifyLib, expectVerdict, writeIn, type Sealed } from './support.js';
import { parsePart10, writePart10, encodeDataSet, must, str, t, type Node } from '../../attacks/part10.js';

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

test('a deflated object of at most 300 KB inflating to 280 MB: invalid naming a limit, within seconds, under 1 GB resident', async (tc) => {
  const f = parsePart10(s.bytes);
  must(f.meta, t(0x0002, 0x0010)).value = str(t(0x0002, 0x0010), 'UI', DEFLATED_TS).value;
  const head = f.dataSet.filter((e) => e.tag < t(0x7fe0, 0x0010));
  const body = await deflateBomb(head);
  const bytes = Buffer.concat([writePart10({ ...f, dataSet: [] }), body]);
  assert.ok(bytes.length <= 300 * 1024, `bomb is ${bytes.length} bytes`);
  const file = writeIn(dir, 'bomb.dcm', bytes);
  const r = run(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'attacks', 'measure-verify.ts'), file, s.ids.trustPem]);
  assert.equal(r.code, 0, r.stderr.slice(0, 2000));
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { verdict: string; reasons: string[]; ms: number; peakRss: number };
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
