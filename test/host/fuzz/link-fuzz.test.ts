// A deterministic slice of the link codec fuzzer: corrupted packet streams
// through the parser, its timeout and the body decoders. Nothing may throw
// (except a decoder's LinkProtocolError), hang, or let a corrupted packet through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFuzz } from '../../fuzz/pool.js';
import { summarize } from '../../fuzz/report.js';

const SEED = 20261203;
const COUNT = 20000;

test(`link fuzz slice: ${COUNT} corrupted packet streams, seed ${SEED}`, { timeout: 180_000 }, async (t) => {
  const outDir = mkdtempSync(join(tmpdir(), 'radseal-fuzz-link-'));
  const { stats, seconds } = await runFuzz({ target: 'link', seed: SEED, count: COUNT, workers: 2, outDir });
  for (const line of summarize(stats, seconds).split('\n')) t.diagnostic(line);
  const clean = stats.escapes === 0 && stats.hangs === 0 && stats.failures === 0;
  if (clean) rmSync(outDir, { recursive: true, force: true });
  else t.diagnostic(`inputs kept in ${outDir}`);
  assert.equal(stats.inputs, COUNT);
  assert.equal(stats.escapes, 0, 'the parser or a decoder threw');
  assert.equal(stats.hangs, 0, 'the parser took longer than 5 s');
  assert.equal(stats.failures, 0, 'a packet that was never sent was accepted');
});
