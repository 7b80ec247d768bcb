// radseal doctor with the device key on a PKCS#11 token (SoftHSM): it logs in with the PIN from
// the environment, as the service does, and checks the key there belongs to the certificate;
// a wrong or missing PIN fails by name, and the PIN appears nowhere in the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './support/run.js';
import { SOFTHSM_MODULE, useSoftHsm } from './support/softhsm.js';
import { initCa, issueDevice, writeBundle } from '../../host/keys/pki/ca.js';
import { formatPkcs11Uri } from '../../host/keys/pkcs11.js';
import { loadStationConfig } from '../../host/config/station.js';
import { deviceCertificate, keyFiles, runChecks, trustChain } from '../../host/config/checks.js';

const dir = tempDir('radseal-doctor-token-');
useSoftHsm(dir);
const TOKEN = 'DX Room 7';
const PIN = '73915-doctor-pin';

test('doctor: a device key on a token is checked by logging in with the PIN from the environment', { skip: existsSync(SOFTHSM_MODULE) ? false : 'SoftHSM not installed (softhsm2)' }, async () => {
  const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '12345678'], { encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  const ca = await initCa({ site: 'Token Hospital', dir: join(dir, 'ca') });
  const ref = { module: SOFTHSM_MODULE, token: TOKEN, keyLabel: 'device' };
  await issueDevice({ caDir: ca.dir, deviceId: 'DX-ROOM-7', outDir: join(dir, 'keys'), pkcs11: ref, pin: PIN });
  await writeBundle({ caDir: ca.dir, out: join(dir, 'trust.pem') });
  const config = join(dir, 'radseal.toml');
  writeFileSync(config, `[station]
device-id = "DX-ROOM-7"
[keys]
key = "${formatPkcs11Uri(ref)}"
cert = "${join(dir, 'keys', 'device.crt')}"
pin-env = "RADSEAL_DOCTOR_PIN"
trust = "${join(dir, 'trust.pem')}"
`);
  const ctx = { config: loadStationConfig(config), echo: async () => ({ roundTripMs: 0 }), uid: process.getuid!(), timeoutMs: 1000, now: new Date() };
  const checks = [keyFiles, deviceCertificate, trustChain];

  process.env.RADSEAL_DOCTOR_PIN = PIN;
  const good = await runChecks(ctx, checks);
  assert.deepEqual(good.map((r) => r.status), ['skip', 'pass', 'pass'], JSON.stringify(good));
  assert.match(good[1]!.detail, /matches the device key on its token/);

  process.env.RADSEAL_DOCTOR_PIN = '00000-wrong';
  const wrong = await runChecks(ctx, [deviceCertificate]);
  assert.equal(wrong[0]!.status, 'fail');
  assert.doesNotMatch(JSON.stringify(wrong), /00000-wrong|73915/, 'no PIN in the result');

  delete process.env.RADSEAL_DOCTOR_PIN;
  const unset = await runChecks(ctx, [deviceCertificate]);
  assert.equal(unset[0]!.status, 'fail');
  assert.match(unset[0]!.detail, /environment variable RADSEAL_DOCTOR_PIN \(the token PIN\) is not set/);
});
