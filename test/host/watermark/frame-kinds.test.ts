// Frames the watermark was never tuned on (bench/watermark-kinds.ts; the full sweep with hundreds of
// keys per kind is npm run bench:watermark-sweep): a genuine freshly marked frame never reads as
// tampered or with a wrong payload, and where the robust layer has no room the embed says why and a
// sealed frame still verifies authentic with the site key (the fragile layer confirms the attested payload).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { frameKinds, noiseFrame, runTrial } from '../../../bench/watermark-kinds.js';
import { DATA, freshRandom } from '../../../bench/watermark-set.js';
import { detectWatermark, embedWatermark } from '../../../host/watermark/index.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { META, makeIdentities, sealTo, tempDir } from '../dicom/fixtures.js';
import { join } from 'node:path';

const rand = freshRandom();

test('structureless noise, 512 x 512 12-bit (256 levels): the payload reads back exactly for every fresh key', () => {
  // Before the embed allocated the mark's energy by what the detector reads, 70% of fresh noise frames
  // (and 2 keys in 300 on one fixed frame) left the payload unreadable.
  for (let k = 0; k < 30; k++) {
    const key = randomBytes(32), payload = randomBytes(8);
    const e = embedWatermark(noiseFrame(512, 512, 12, 256, rand), key, payload);
    assert.equal(e.robust.readable, true, `key ${k}: ${e.robust.problem}`);
    // 59 dB by default; the floor (58) only for a frame that would not read back at 59.
    assert.ok(e.psnrDb >= 58 && e.psnrDb < 59.1, `PSNR ${e.psnrDb}`);
    const d = detectWatermark(e.image, key, { sync: false });
    assert.equal(d.payloadHex, payload.toString('hex'), `key ${k}`);
    assert.equal(d.blocks.tampered.length, 0);
    assert.equal(d.mapSource, 'fragile');
  }
});

/** What the embed must say for the kinds with no room for the robust layer. */
const NO_ROOM: Array<[RegExp, RegExp]> = [
  [/^(all zero|all max) /, /touches 0 or the maximum/],
  [/^tiny 7x5|^line 1x|^column \d+x1 /, /smaller than one 8 x 8 chip/],
  [/8-bit/, /at 8 bits stored the 59 dB PSNR target leaves no room/],
  [/^flat value 1,/, /no chip can change without a pixel reaching 0/],
];
/**
 * Kinds whose robust layer must read back: those measured at 0 unreadable in >= 300 fresh keys each
 * (docs/BENCHMARKS.md, "Watermark: frame kinds never seen"). Others (half saturated, collimated
 * 768-px regions, 10-bit noise) may honestly say they have no room.
 */
const READABLE = /^noise (12|14|16)-bit, (256|4096) levels|^flat mid-grey|^gradient 12-bit|^RG\d 768x768 region (\d+-bit|MONOCHROME1)/;

test('every frame kind: never tampered, never a wrong payload; no room is said, with the reason', () => {
  const kinds = frameKinds(0.5);
  // 24 synthetic kinds; the real radiographs' regions join them where ../shared/data/radiographs is (not in a bare clone).
  assert.ok(kinds.filter((k) => !/^(RG\d|NIH chest) /.test(k.name)).length >= 24, `${kinds.length} kinds`);
  if (existsSync(DATA) && readdirSync(DATA).some((f) => f.endsWith('.png'))) assert.ok(kinds.length > 24, 'the radiographs folder is there, its regions are not');
  for (const kind of kinds) {
    // Two fresh keys and frames per kind, one for frames above 512 x 512 (the CI time budget).
    for (let k = 0, first = kind.make(rand), trials = first.rows * first.cols > 512 * 512 ? 1 : 2; k < trials; k++) {
      const t = runTrial(k === 0 ? first : kind.make(rand), randomBytes(32), randomBytes(8));
      assert.equal(t.failure, null, `${kind.name}: ${t.failure}`);
      const rule = NO_ROOM.find(([name]) => name.test(kind.name));
      if (rule) {
        assert.equal(t.readable, false, kind.name);
        assert.match(t.problem ?? '', rule[1], kind.name);
      }
      if (READABLE.test(kind.name)) assert.equal(t.readable, true, `${kind.name}: ${t.problem}`);
      if (!t.readable) assert.ok(t.problem, kind.name);
    }
  }
});

test('sealed frames with no room for the robust mark still verify authentic with the site key', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir, 'DX-KINDS-1');
  const trust = parseCertificates(readFileSync(ids.trustPem));
  const frames = [
    ['all zero 256 x 256', { rows: 256, cols: 256, bitsStored: 12, pixels: new Uint16Array(256 * 256) }],
    ['one row of 4096', noiseFrame(1, 4096, 12, 256, rand)],
    ['64 x 64 noise', noiseFrame(64, 64, 12, 256, rand)],
    ['512 x 512 noise', noiseFrame(512, 512, 12, 256, rand)],
  ] as const;
  for (const [name, frame] of frames) {
    const key = randomBytes(32);
    const bytes = await sealTo(join(dir, 'f.dcm'), { ...frame, pixels: frame.pixels.slice() }, ids.device, { watermark: { key }, meta: META });
    const r = verifyObject(name, bytes, trust, { watermarkKey: key });
    assert.equal(r.verdict, 'authentic', `${name}: ${r.reasons.join('; ')}`);
    assert.equal(r.watermark?.payloadMatchesAttestation, true, name);
    assert.deepEqual(r.watermark?.blocks.tampered, [], name);
  }
});
