// A deterministic slice of the DICOM fuzzer (bench/fuzz.ts runs the long
// ones): mutated sealed objects through verifyObject. It must always answer,
// within 5 s, and never call a changed object authentic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCorpus } from '../../fuzz/bases.js';
import { runFuzz } from '../../fuzz/pool.js';
import { summarize } from '../../fuzz/report.js';

const SEED = 20261203;
const COUNT = 2000;

test(`DICOM fuzz slice: ${COUNT} mutated sealed objects, seed ${SEED}`, { timeout: 180_000 }, async (t) => {
  const outDir = mkdtempSync(join(tmpdir(), 'radseal-fuzz-slice-'));
  const corpus = await makeCorpus();
  const { stats, seconds } = await runFuzz({ target: 'dicom', seed: SEED, count: COUNT, workers: 2, outDir, corpus });
  const summary = summarize(stats, seconds);
  for (const line of summary.split('\n')) t.diagnostic(line);
  const clean = stats.escapes === 0 && stats.hangs === 0 && stats.failures === 0 && stats.internalErrors === 0;
  if (clean) rmSync(outDir, { recursive: true, force: true });
  else t.diagnostic(`inputs kept in ${outDir}`);
  assert.equal(stats.inputs, COUNT);
  assert.equal(stats.escapes, 0, 'verifyObject threw');
  assert.equal(stats.internalErrors, 0, 'the verifier caught an exception of its own ("internal error")');
  assert.equal(stats.hangs, 0, 'verifyObject took longer than 5 s');
  assert.equal(stats.failures, 0, 'a changed object was called authentic');
});
