// Revocation and signing time with the site PKI (`radseal pki`): a key revoked
// for keyCompromise can date its signatures before the revocation (the date is
// the signer's own claim), a signature can claim a time in the future, and a
// device with two certificates can lose one. Without a certified timestamp
// none of these may come out authentic.
import { test, before, mock } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir, radseal, type Run } from '../support/run.js';
import { sealTo, testFrame } from '../dicom/fixtures.js';
import { loadDeviceIdentity, withEcdsa } from '../../../host/seal/device.js';
import type { DeviceIdentity } from '../../../host/seal/seal.js';
import { startTsa } from '../support/tsa.js';
import { requestTimestamp } from '../../../host/net/tsa-client.js';
import { writeFileSync } from 'node:fs';
import { verifyLib, verifyCli, expectVerdict, expectNotAuthentic, dcmtkValue } from './support.js';
import { t } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-revocation-');
const ca = join(dir, 'ca');
const bundle = join(dir, 'trust.pem');
const ok = (r: Run, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);

function issue(id: string, ecdsa = false): DeviceIdentity {
  const out = join(dir, id);
  ok(radseal('pki', 'issue-device', '--ca', ca, '--id', id, '--out', out, ...(ecdsa ? ['--ecdsa'] : [])), `issue ${id}`);
  const d = loadDeviceIdentity(join(out, 'device.key'), join(out, 'device.crt'));
  return ecdsa ? withEcdsa(d, join(out, 'device-ecdsa.key'), join(out, 'device-ecdsa.crt')) : d;
}

/** Seals with the process clock set to `at` (the signature's Digital Signature DateTime is the signer's clock). */
async function sealAt(name: string, device: DeviceIdentity, at?: Date, tsaUrl?: string): Promise<string> {
  const file = join(dir, `${name}.dcm`);
  if (at) mock.timers.enable({ apis: ['Date'], now: at.getTime() });
  try {
    await sealTo(file, testFrame(48, 64), device, tsaUrl ? { timestamp: (sig) => requestTimestamp(tsaUrl, sig) } : {});
  } finally {
    if (at) mock.timers.reset();
  }
  return file;
}

const files: Record<string, string> = {};
let revokedAt: Date;
let tsaCaPem = '';

before(async () => {
  ok(radseal('pki', 'init', '--site', 'Attack Site', '--out', ca), 'pki init');
  const compromised = issue('DX-COMPROMISED');
  const future = issue('DX-FUTURE');
  const both = issue('DX-BOTH', true);
  // Sealed before the revocation: genuine then, but the key is now known to be compromised.
  files.beforeRevocation = await sealAt('before-revocation', compromised);
  files.both = await sealAt('both', both);
  // The same compromised key, but with a TSA's certified time before the revocation: that evidence holds.
  const tsa = await startTsa(join(dir, 'tsa'));
  files.timestamped = await sealAt('timestamped', compromised, undefined, tsa.url);
  await tsa.stop();
  tsaCaPem = tsa.caPem;
  await new Promise((r) => setTimeout(r, 1500));
  revokedAt = new Date();
  ok(radseal('pki', 'revoke', '--ca', ca, '--cert', join(dir, 'DX-COMPROMISED', 'device.crt'), '--reason', 'keyCompromise', '--time', revokedAt.toISOString()), 'revoke');
  ok(radseal('pki', 'revoke', '--ca', ca, '--cert', join(dir, 'DX-BOTH', 'device.crt'), '--reason', 'superseded'), 'revoke Ed25519 of DX-BOTH');
  // The attacker holding the compromised key signs after the revocation and dates it one second before.
  files.backdated = await sealAt('backdated', compromised, new Date(revokedAt.getTime() - 1000));
  files.future = await sealAt('future', future, new Date(Date.now() + 3600_000));
  ok(radseal('pki', 'bundle', '--ca', ca, '--out', bundle), 'bundle');
});

const REVOKED = /revoked|compromise/i;

test('keyCompromise, signature dated before the revocation, no certified timestamp: untrusted', () => {
  // DCMTK reads the claimed signing time: before the revocation.
  const claimed = dcmtkValue(files.backdated!, t(0x0400, 0x0105))!;
  assert.ok(claimed.replace(/\D/g, '').slice(0, 14) < revokedAt.toISOString().replace(/\D/g, '').slice(0, 14), `${claimed} vs ${revokedAt.toISOString()}`);
  for (const f of [files.beforeRevocation!, files.backdated!]) {
    const cli = verifyCli([f], bundle);
    assert.equal(cli.code, 1);
    expectVerdict(cli.reports[0]!, 'untrusted', REVOKED);
  }
});

test('keyCompromise, backdated signature through the library: untrusted', () => {
  expectVerdict(verifyLib({ ids: { trustPem: bundle } }, new Uint8Array(readFileSync(files.backdated!))), 'untrusted', REVOKED);
});

test('a signature dated 1 h in the future: not authentic, the time named', () => {
  const r = verifyCli([files.future!], bundle).reports[0]!;
  expectNotAuthentic(r);
  assert.ok(r.reasons.some((x) => /future/i.test(x)), r.reasons.join(' | '));
});

test('Ed25519 and ECDSA device certificates, the Ed25519 one revoked, --revocation any: not authentic', () => {
  const r = verifyCli([files.both!], bundle, '--revocation', 'any');
  assert.equal(r.code, 1);
  expectNotAuthentic(r.reports[0]!);
  assert.ok(r.reports[0]!.reasons.some((x) => REVOKED.test(x)), r.reports[0]!.reasons.join(' | '));
  expectNotAuthentic(verifyLib({ ids: { trustPem: bundle } }, new Uint8Array(readFileSync(files.both!)), { revocation: 'any' }));
});

test('positive control: the compromised key with a certified timestamp before the revocation stays authentic', () => {
  const trust = join(dir, 'trust-with-tsa.pem');
  writeFileSync(trust, readFileSync(bundle, 'utf8') + tsaCaPem);
  const r = verifyCli([files.timestamped!], trust).reports[0]!;
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
});
