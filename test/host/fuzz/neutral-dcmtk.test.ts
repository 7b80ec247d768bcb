// The fuzzer's "neutral" class checked against DCMTK: every neutral mutation
// of an object with an ECDSA signature (which dcmsign can verify) leaves that
// signature valid for dcmsign --verify, as the standard's MAC rules say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCorpus } from '../../fuzz/bases.js';
import { mutate } from '../../fuzz/dicom-mutator.js';
import { run, tempDir } from '../dicom/fixtures.js';

test('neutral mutations keep the ECDSA signature valid for dcmsign', async (t) => {
  const dir = tempDir(t, 'radseal-fuzz-dcmtk-');
  const ecdsa = (await makeCorpus()).bases.filter((b) => b.name.includes('ecdsa'));
  assert.equal(ecdsa.length, 1);
  const seen = new Set<string>();
  let checked = 0;
  for (let index = 0; checked < 60; index++) {
    const m = mutate(ecdsa, 4242, index);
    if (m.kind !== 'neutral') continue;
    checked++;
    m.operators.forEach((op) => seen.add(op));
    const file = join(dir, `${index}.dcm`);
    writeFileSync(file, m.bytes);
    const r = run('dcmsign', ['--verify', file]);
    assert.match(r.stdout + r.stderr, /Signature Verification : signature is OK/, `${m.operators.join('+')} (${m.details.join('; ')}): ${r.stderr}`);
  }
  t.diagnostic(`neutral operators checked: ${[...seen].sort().join(', ')}`);
  assert.ok(seen.size >= 6, 'most neutral operators were exercised');
});
