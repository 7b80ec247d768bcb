// Sweep of frame kinds the watermark was never tuned on (bench/watermark-kinds.ts): for each kind, many
// fresh keys, payloads and frames: embed, then detect as `radseal watermark detect` does (every search,
// no attestation); for a few per kind, seal with the site key and verify through verifyObject.
// A genuine freshly marked frame must never show a tampered block or a wrong payload; where the robust
// layer has no room the embed must say so (robust.readable false) and verify must still be authentic.
//   npm run bench:watermark-sweep            (WM_SWEEP_TRIALS fresh keys per kind, default 300; large
//                                             frames WM_SWEEP_LARGE, default 20; WM_SWEEP_VERIFY per kind, default 3;
//                                             at most WM_SWEEP_SECONDS per kind, default 45: the trials run are printed)
//   WM_SWEEP_ONLY=noise npm run bench:watermark-sweep   (kinds whose name contains the text)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { frameKinds, runTrial, type Trial } from './watermark-kinds.js';
import { freshRandom } from './watermark-set.js';
import { sealFrame } from '../host/seal/seal.js';
import { loadDeviceIdentity } from '../host/seal/device.js';
import { generateDeviceKey } from '../host/keys/provision.js';
import { parseCertificates } from '../host/keys/certs.js';
import { verifyObject } from '../host/ingest/verify.js';
import { sha256 } from '../host/core/hash.js';
import { pixelBytes, type CaptureMeta } from '../host/dicom/dx.js';

const TRIALS = Number(process.env.WM_SWEEP_TRIALS ?? 300);
const LARGE = Number(process.env.WM_SWEEP_LARGE ?? 20);
const VERIFY = Number(process.env.WM_SWEEP_VERIFY ?? 3);
/** Time box per kind (s): kinds with no room run every search on each detection (~0.3-1 s a trial), so fewer trials. */
const SECONDS = Number(process.env.WM_SWEEP_SECONDS ?? 45);
const ONLY = process.env.WM_SWEEP_ONLY;

const META: CaptureMeta = {
  patientName: 'Sweep^Frame', patientId: 'PID-SWEEP', patientBirthDate: '19700101', patientSex: 'O',
  accessionNumber: 'ACC-SW', studyId: 'S1', bodyPartExamined: 'CHEST', viewPosition: 'PA', institutionName: 'radseal bench',
  stationName: 'SWEEP', referringPhysicianName: 'Ref^Doctor', patientOrientation: ['L', 'F'],
};

const dir = mkdtempSync(join(tmpdir(), 'radseal-wm-sweep-'));
const paths = await generateDeviceKey('DX-SWEEP-1', join(dir, 'keys'));
const device = loadDeviceIdentity(paths.key, paths.cert);
const trust = parseCertificates(readFileSync(paths.cert));

const median = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[a.length >> 1]! : NaN);
const rand = freshRandom();
let commit = '?';
try { commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
console.log(`watermark sweep: commit ${commit}, ${new Date().toISOString().slice(0, 10)}, ${TRIALS} trials per kind (${LARGE} for large frames), ${VERIFY} sealed + verified per kind`);
console.log('| kind | trials | robust readable | declared no room | failures | exact payload | bit errors median (max) | score min | PSNR min (dB) | positions boosted, median | verify authentic | ms/trial |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
let totalFail = 0;
const problems = new Map<string, number>();
try {
  for (const kind of frameKinds()) {
    if (ONLY && !kind.name.includes(ONLY)) continue;
    const n = kind.large ? LARGE : TRIALS;
    const trials: Trial[] = [];
    const fails: string[] = [];
    const t0 = performance.now();
    for (let k = 0; k < n && (k < 10 || performance.now() - t0 < SECONDS * 1000); k++) {
      const t = runTrial(kind.make(rand), randomBytes(32), randomBytes(8));
      trials.push(t);
      if (t.failure) fails.push(t.failure);
      if (t.problem) problems.set(t.problem.replace(/\d+(\.\d+)?/g, '#'), (problems.get(t.problem.replace(/\d+(\.\d+)?/g, '#')) ?? 0) + 1);
    }
    const ms = (performance.now() - t0) / trials.length;
    let authentic = 0, verified = 0;
    const verdicts: string[] = [];
    for (let k = 0; k < VERIFY; k++) {
      const frame = kind.make(rand);
      const key = randomBytes(32);
      const sealed = await sealFrame({ frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 1000 + k, meta: META, watermark: { key } }, device);
      const r = verifyObject(`${kind.name} #${k}`, sealed.bytes, trust, { watermarkKey: key });
      verified++;
      if (r.verdict === 'authentic') authentic++;
      else verdicts.push(`${r.verdict}: ${r.reasons.join('; ')}`);
    }
    const ok = trials.filter((t) => !t.failure);
    const exact = trials.filter((t) => t.payloadHex !== null && !t.failure).length;
    const readable = trials.filter((t) => t.readable);
    const be = readable.map((t) => t.bitErrors ?? 0);
    const psnr = trials.map((t) => t.psnrDb).filter(Number.isFinite);
    totalFail += fails.length + (verified - authentic);
    console.log(`| ${kind.name} | ${trials.length} | ${readable.length} | ${trials.length - readable.length} | ${fails.length} | ${exact} | ${be.length ? `${median(be)} (${Math.max(...be)})` : '–'} | ${readable.length ? Math.min(...readable.map((t) => t.score)).toFixed(1) : '–'} | ${psnr.length ? Math.min(...psnr).toFixed(2) : '∞'} | ${median(trials.map((t) => t.boosted))} | ${authentic}/${verified} | ${ms.toFixed(0)} |`);
    for (const f of [...new Set(fails)].slice(0, 3)) console.log(`    failure: ${f}`);
    for (const v of [...new Set(verdicts)].slice(0, 2)) console.log(`    verify: ${v}`);
    void ok;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log('\nwhy the robust layer had no room (embed robust.problem, counts):');
for (const [p, c] of problems) console.log(`  ${c} x ${p}`);
console.log(`\n${totalFail === 0 ? 'no failures' : `${totalFail} FAILURES`}`);
process.exitCode = totalFail === 0 ? 0 : 1;
