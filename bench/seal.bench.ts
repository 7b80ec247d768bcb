// Signing and sealing beside the peers, measured in the same run:
// - Ed25519 sign/verify per second: @noble/ed25519 (what radseal verifies with) and node:crypto
//   (what a device or technologist key file signs with, keys/ed25519.ts seedSigner);
// - sealing and verifying one 3072x3072 14-bit frame: radseal in-process, and DCMTK
//   `dcmsign --sign` / `--verify` (RSA 2048, SHA-512 MAC) on the same object, as a process
//   (so dcmsign's figure includes its start-up, which we also report on its own).
//
//   node --import tsx bench/seal.bench.ts        (part of `npm run bench`)
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSeed, seedSigner, signEd25519, verifyEd25519, publicKeyOf } from '../host/keys/ed25519.js';
import { issueCertificate } from '../host/keys/x509.js';
import { EKU_DEVICE } from '../host/keys/pki/profiles.js';
import { parseCertificates } from '../host/keys/certs.js';
import { toPem } from '../host/keys/pem.js';
import { sealFrame } from '../host/seal/seal.js';
import { verifyObject } from '../host/ingest/verify.js';
import { makePhantom } from '../host/image/phantom.js';
import { sha256 } from '../host/core/hash.js';
import { pixelBytes } from '../host/dicom/dx.js';
import { machineLine, medianMs } from './support.js';

const REPS = Math.max(5, Number(process.env.RADSEAL_BENCH_REPS ?? 9));

function opsPerSec(fn: () => void, ms = 600): number {
  for (let i = 0; i < 50; i++) fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  return n / ((performance.now() - t0) / 1000);
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

console.log(`radseal seal benchmark · ${machineLine()}`);

// --- Ed25519 primitives
const msg = new Uint8Array(64).fill(7); // a SHA-512 MAC digest is what radseal signs
const seed = newSeed();
const pub = publicKeyOf(seed);
const sig = signEd25519(msg, seed);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const nodeSig = nodeSign(null, msg, privateKey);
const rates = {
  nobleSign: opsPerSec(() => signEd25519(msg, seed)),
  nobleVerify: opsPerSec(() => verifyEd25519(sig, msg, pub)),
  nodeSign: opsPerSec(() => nodeSign(null, msg, privateKey)),
  nodeVerify: opsPerSec(() => nodeVerify(null, msg, publicKey, nodeSig)),
};
console.log('\nEd25519 over a 64-byte digest (ops/s)');
console.log(`  @noble/ed25519  sign ${fmt(rates.nobleSign).padStart(8)}   verify ${fmt(rates.nobleVerify).padStart(8)}`);
console.log(`  node:crypto     sign ${fmt(rates.nodeSign).padStart(8)}   verify ${fmt(rates.nodeVerify).padStart(8)}`);
console.log(`  noble/node      sign ${fmt(rates.nobleSign / rates.nodeSign, 2).padStart(8)}   verify ${fmt(rates.nobleVerify / rates.nodeVerify, 2).padStart(8)}`);

// --- A whole frame
const dir = mkdtempSync(join(tmpdir(), 'radseal-bench-'));
try {
  const frame = makePhantom({ rows: 3072, cols: 3072, bitsStored: 14, seed: 11 });
  const signer = seedSigner(seed);
  const certificateDer = await issueCertificate({ subject: { commonName: 'BENCH-DX' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [EKU_DEVICE] });
  const trust = parseCertificates(certificateDer);
  const device = { deviceId: 'BENCH-DX', boardId: 'bench', signer, certificateDer };
  const rawFrameSha256 = sha256(pixelBytes(frame.pixels));
  let sealedBytes: Uint8Array = new Uint8Array(0);
  const sealMs = await medianMs(async () => {
    sealedBytes = (await sealFrame({ frame, rawFrameSha256, frameSerial: 1 }, device)).bytes;
  }, REPS);
  const verifyMs = await medianMs(() => {
    const r = verifyObject('bench', sealedBytes, trust);
    if (r.verdict !== 'authentic') throw new Error('bench object did not verify');
  }, REPS);

  const sealedPath = join(dir, 'sealed.dcm');
  writeFileSync(sealedPath, sealedBytes);
  const key = join(dir, 'rsa.key');
  const crt = join(dir, 'rsa.crt');
  const o = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=bench', '-days', '1']);
  const haveDcmsign = o.status === 0 && spawnSync('dcmsign', ['--version']).status === 0;
  console.log(`\nOne 3072x3072 14-bit frame (${fmt(sealedBytes.length / 1e6, 1)} MB object), median of ${REPS}`);
  console.log(`  radseal seal (pixel hash in core + DX build + SHA-512 MAC + Ed25519 + Part 10 encode)  ${fmt(sealMs, 1).padStart(7)} ms`);
  console.log(`  radseal verify (parse + MAC + Ed25519 + trust + pixel hash)                         ${fmt(verifyMs, 1).padStart(7)} ms`);
  if (haveDcmsign) {
    let n = 0;
    const startupMs = await medianMs(() => spawnSync('dcmsign', ['--version']), REPS);
    const dcmSignMs = await medianMs(() => {
      const r = spawnSync('dcmsign', ['--sign', key, crt, '+m5', sealedPath, join(dir, `s${n++}.dcm`)]);
      if (r.status !== 0) throw new Error('dcmsign --sign failed: ' + r.stderr);
    }, REPS);
    const signedByDcmtk = join(dir, `s0.dcm`);
    const dcmVerifyMs = await medianMs(() => spawnSync('dcmsign', ['--verify', signedByDcmtk]), REPS);
    console.log(`  DCMTK dcmsign --sign (RSA-2048, SHA-512 MAC, as a process)                          ${fmt(dcmSignMs, 1).padStart(7)} ms`);
    console.log(`  DCMTK dcmsign --verify (both signatures listed, as a process)                        ${fmt(dcmVerifyMs, 1).padStart(7)} ms`);
    console.log(`  dcmsign process start-up alone                                                      ${fmt(startupMs, 1).padStart(7)} ms`);
    console.log(`  ratio dcmsign sign / radseal seal ${fmt(dcmSignMs / sealMs, 2)}; dcmsign verify / radseal verify ${fmt(dcmVerifyMs / verifyMs, 2)}`);
  } else {
    console.log('  DCMTK dcmsign or openssl not installed: peer figures not measured (apt-get install dcmtk openssl)');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
