// Archive audit throughput on 3072×3072 objects (19 MB each), the size of a DX
// radiograph, and where one object's time goes:
// - one object, in this thread, phase by phase (median over objects and rounds):
//   read (from the page cache), parse (Part 10 reader), file SHA-256 (the result
//   key), the hashes verify computes (SHA-512 MAC stream over Pixel Data; the
//   64-px tile table in the core, whose digest is the attested pixel hash; plain
//   SHA-256 of Pixel Data for comparison), Ed25519 verify, and verifyObject whole;
// - the verify pool with 1 and 2 worker threads, rounds alternating so both see the
//   same load: objects/s and MB/s, in total and per worker;
// - the embedded audit end to end (folder source, SQLite results) with 2 workers.
//
//   npm run bench:archive     (RADSEAL_BENCH_OBJECTS, default 8; RADSEAL_BENCH_ROUNDS, default 3)
import { createHash, verify as edVerify, generateKeyPairSync, sign as edSign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeIdentities, sealTo, testFrame } from '../test/host/dicom/fixtures.js';
import { readPart10 } from '../host/dicom/reader.js';
import { findElement, tag } from '../host/dicom/model.js';
import { parseCertificates } from '../host/keys/certs.js';
import { verifyObject } from '../host/ingest/verify.js';
import { tileHashes } from '../host/core/tiles.js';
import { verifyFiles } from '../host/ingest/pool/verify-pool.js';
import { openSource } from '../host/archive/sources.js';
import { openResultsStore } from '../host/archive/store.js';
import { runEmbedded } from '../host/archive/embedded.js';
import { DEFAULT_POLICY } from '../host/ingest/policy.js';
import { machineLine, median } from './support.js';

const N = Math.max(2, Number(process.env.RADSEAL_BENCH_OBJECTS ?? 8));
const ROUNDS = Math.max(1, Number(process.env.RADSEAL_BENCH_ROUNDS ?? 3));
const SIZE = 3072;
const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

console.log(`radseal archive benchmark · ${machineLine()} · load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
const dir = mkdtempSync(join(tmpdir(), 'radseal-bench-archive-'));
try {
  const ids = await makeIdentities(join(dir, 'ids'));
  const files: string[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const f = join(dir, 'archive', `s${i % 2}`, `IM${i}`);
    mkdirSync(join(dir, 'archive', `s${i % 2}`), { recursive: true });
    await sealTo(f, testFrame(SIZE, SIZE, 14, i + 1), ids.device, { frameSerial: 9000 + i });
    files.push(f);
  }
  const bytes = statSync(files[0]!).size;
  console.log(`${N} sealed ${SIZE}² 14-bit objects of ${fmt(bytes / 1e6)} MB in ${fmt(ms(t0) / 1000)} s`);

  // Phases of one object, in this thread.
  const trust = parseCertificates(readFileSync(ids.trustPem));
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const digest = createHash('sha512').update('x').digest();
  const sig = edSign(null, digest, privateKey);
  const phase: Record<string, number[]> = { read: [], parse: [], fileSha256: [], macSha512: [], pixelSha256: [], tileTable: [], ed25519: [], verifyObject: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const f of files) {
      let t = process.hrtime.bigint();
      const b = readFileSync(f);
      phase.read!.push(ms(t));
      t = process.hrtime.bigint();
      const parsed = readPart10(b);
      phase.parse!.push(ms(t));
      t = process.hrtime.bigint();
      createHash('sha256').update(b).digest();
      phase.fileSha256!.push(ms(t));
      const px = findElement(parsed.dataSet, tag(0x7fe0, 0x0010))!.value!;
      t = process.hrtime.bigint();
      createHash('sha512').update(px).digest();
      phase.macSha512!.push(ms(t));
      t = process.hrtime.bigint();
      createHash('sha256').update(px).digest();
      phase.pixelSha256!.push(ms(t));
      t = process.hrtime.bigint();
      tileHashes(px, SIZE, SIZE, 64); // format 3: the pixel hash is the digest of this table
      phase.tileTable!.push(ms(t));
      t = process.hrtime.bigint();
      for (let k = 0; k < 3; k++) edVerify(null, digest, publicKey, sig); // a sealed object holds 2–3 signatures
      phase.ed25519!.push(ms(t));
      t = process.hrtime.bigint();
      const rep = verifyObject(f, b, trust);
      phase.verifyObject!.push(ms(t));
      if (rep.verdict !== 'authentic') throw new Error(`${f}: ${rep.verdict} ${rep.reasons.join('; ')}`);
    }
  }
  console.log('\n| one object, this thread (median) | ms |\n|---|---:|');
  for (const [k, v] of Object.entries(phase)) console.log(`| ${k} | ${fmt(median(v), 2)} |`);
  const perObject = median(phase.read!) + median(phase.fileSha256!) + median(phase.verifyObject!) + median(phase.parse!); // + attributes parse in the worker
  console.log(`| a pool worker's object (read + file SHA-256 + verifyObject + attribute parse) | ${fmt(perObject, 2)} |`);

  // The pool, 1 and 2 workers, rounds alternating.
  const runs: Record<number, number[]> = { 1: [], 2: [] };
  // CPU time of the whole process (the worker threads included) per object: what capacity planning
  // needs, and far less disturbed by other load on a shared machine than wall time.
  const cpu: Record<number, number[]> = { 1: [], 2: [] };
  const inputs = [...files, ...files]; // each object twice: 2N objects per run
  for (let r = 0; r < ROUNDS; r++) {
    for (const w of r % 2 ? [2, 1] : [1, 2]) {
      const t = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      let n = 0;
      for await (const res of verifyFiles(inputs, { trust: ids.trustPem, workers: w })) {
        if (res.report?.verdict !== 'authentic') throw new Error(`pool: ${res.path}: ${res.error ?? res.report?.verdict}`);
        n++;
      }
      const c = process.cpuUsage(c0);
      runs[w]!.push(n / (ms(t) / 1000));
      cpu[w]!.push((c.user + c.system) / 1000 / n);
    }
  }
  console.log('\n| verify pool (median of rounds, incl. thread start) | objects/s | MB/s | objects/s per worker | MB/s per worker | CPU ms per object |\n|---|---:|---:|---:|---:|---:|');
  for (const w of [1, 2]) {
    const ops = median(runs[w]!);
    console.log(`| ${w} worker${w > 1 ? 's' : ''} | ${fmt(ops)} | ${fmt((ops * bytes) / 1e6)} | ${fmt(ops / w)} | ${fmt((ops * bytes) / 1e6 / w)} | ${fmt(median(cpu[w]!))} |`);
  }
  console.log(`ratio 2 workers / 1 worker: ${fmt(median(runs[2]!) / median(runs[1]!), 2)}`);

  // The embedded audit end to end: folder walk, pool, SQLite.
  const store = await openResultsStore(join(dir, 'results.sqlite'));
  try {
    const source = openSource(join(dir, 'archive'));
    const { audit } = await store.openAudit({ source: source.name, trustPem: readFileSync(ids.trustPem), policy: DEFAULT_POLICY, revocation: {}, watermarkKeyId: null }, {});
    const t = process.hrtime.bigint();
    const out = await runEmbedded({ source, store, audit, pool: { workers: 2 } });
    const s = ms(t) / 1000;
    console.log(`\nembedded audit, 2 workers, SQLite: ${out.processed} objects in ${fmt(s, 2)} s = ${fmt(out.processed / s)} objects/s, ${fmt((out.processed * bytes) / 1e6 / s)} MB/s (${JSON.stringify(out.counts.verdicts)})`);
  } finally {
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
