// The HTML verification report: self-contained (no scripts, no external
// resources), verdict in plain words, capture details, what was checked, and
// the tamper map's outlines exactly on the changed tile; PHI only on request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { decode as decodePng } from 'fast-png';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects } from '../../services/ingest-fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const cli = (...a: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'host', 'cli', 'main.ts'), ...a], { encoding: 'utf8', cwd: ROOT });

test('radseal report: tampered and authentic pages, tamper map on the changed tile, no PHI by default', async (t) => {
  const dir = tempDir(t, 'radseal-report-');
  const objs = await makeObjects(dir, 2, 256, 320);
  const tf = join(dir, 'tampered.dcm');
  writeFileSync(tf, objs.tampered);

  const out = join(dir, 'tampered.html');
  let r = cli('report', tf, '--trust', objs.ids.trustPem, '--out', out);
  assert.equal(r.status, 1, r.stderr); // not authentic
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<h1>Changed after capture/);
  assert.match(html, /This image was CHANGED after device DX-ROOM-3 captured it/);
  assert.match(html, /1 region of the image no longer match/);
  // Tile [1,2] of 64 px: x = 128, y = 64.
  const rects = [...html.matchAll(/<rect class="tile" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"/g)].map((m) => m.slice(1).map(Number));
  assert.deepEqual(rects, [[128, 64, 64, 64]]);
  assert.doesNotMatch(html, /<script|src="http|href="http/i, 'self-contained');
  const png = /data:image\/png;base64,([A-Za-z0-9+/=]+)/.exec(html)![1]!;
  const img = decodePng(Buffer.from(png, 'base64'));
  assert.deepEqual([img.width, img.height], [320, 256]);
  assert.ok(new Set(img.data).size > 50, 'a real image, not a flat fill');
  for (const phi of ['Test^Patient', 'PID-0001', '19700101']) assert.ok(!html.includes(phi), `no ${phi} by default`);
  assert.match(html, /Pixels match the hash recorded at capture<\/td><td>different \(rehashed\)/);

  const out2 = join(dir, 'sealed.html');
  r = cli('report', join(dir, 'sealed-0.dcm'), '--trust', objs.ids.trustPem, '--out', out2, '--include-patient');
  assert.equal(r.status, 0, r.stderr);
  const ok = readFileSync(out2, 'utf8');
  assert.match(ok, /<h1>Authentic/);
  assert.match(ok, /exactly what X-ray device DX-ROOM-3 captured/);
  assert.doesNotMatch(ok, /<rect class="tile"/);
  assert.match(ok, /Pixels match the hash recorded at capture<\/td><td>identical \(proven by device signature 1, which covers Pixel Data and that hash; not rehashed\)/);
  assert.match(ok, /Test\^Patient/, '--include-patient shows the name');

  const out3 = join(dir, 'unsigned.html');
  writeFileSync(join(dir, 'unsigned.dcm'), objs.unsigned);
  assert.equal(cli('report', join(dir, 'unsigned.dcm'), '--trust', objs.ids.trustPem, '--out', out3).status, 1);
  assert.match(readFileSync(out3, 'utf8'), /<h1>No provenance/);
});
