// radseal doctor on a station that forwards to two PACS and reaches its RIS over DICOM TLS: every
// PACS target is C-ECHOed on its own (one down fails by name, the other still passes), the
// worklist and MPPS are C-ECHOed over TLS with their own [ris] identities, and their TLS keys are
// held to the key-file rules. Real peers: DCMTK storescp (as PACS, and as a TLS SCP answering
// C-ECHO for the RIS). Network: run inside a private namespace
//   unshare -n bash -c 'ip link set lo up && exec node --import tsx --test --test-force-exit test/host/config/doctor-targets.test.ts'
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { makeStationFiles, writeStationConfig } from './station-fixture.js';
import { loadStationConfig } from '../../../host/config/station.js';
import { keyFiles, mppsReachable, pacsReachable, runChecks, worklistReachable } from '../../../host/config/checks.js';
import { cEcho } from '../../../host/net/echo.js';
import { makePki } from '../support/openssl-pki.js';

test('doctor: each PACS target answers C-ECHO or fails by name; worklist and MPPS over TLS with their [ris] identities', { timeout: 60000 }, async (t) => {
  const dir = tempDir('radseal-doctor-targets-');
  const files = await makeStationFiles(join(dir, 'station'));
  makePki(dir, 'ris-ca', [{ name: 'ris', san: 'IP:127.0.0.1' }, { name: 'station-ris' }]);
  const [portA, portDown, risPort] = [await freePort(), await freePort(), await freePort()];
  const pacsA = await startStoreScp(join(dir, 'pacs-a'), portA, 'PACS_A');
  t.after(() => pacsA.stop());
  // The RIS over TLS: a DCMTK SCP that answers C-ECHO (Verification) only to a client certificate of its CA.
  const ris = await startStoreScp(join(dir, 'ris'), risPort, 'RIS', ['+tls', join(dir, 'ris.key'), join(dir, 'ris.pem'), '+cf', join(dir, 'ris-ca.pem')]);
  t.after(() => ris.stop());

  const config = join(dir, 'radseal.toml');
  writeStationConfig(config, files, { pacs: `PACS_A@127.0.0.1:${portA}` });
  const risTls = (what: string) => `${what}-tls-key = "${join(dir, 'station-ris.key')}"\n${what}-tls-cert = "${join(dir, 'station-ris.pem')}"\n${what}-tls-ca = "${join(dir, 'ris-ca.pem')}"\n`;
  writeFileSync(config, readFileSync(config, 'utf8')
    .replace(/forward = ".*"\n/, `forward = ["PACS_A@127.0.0.1:${portA}", "PACS_B@127.0.0.1:${portDown}"]\n`)
    + `\n[ris]\nworklist = "RIS@127.0.0.1:${risPort}"\nmpps = "RIS@127.0.0.1:${risPort}"\n${risTls('worklist')}${risTls('mpps')}`);
  const ctx = () => ({ config: loadStationConfig(config), echo: cEcho, uid: process.getuid!(), timeoutMs: 3000, now: new Date() });

  const [pacs, worklist, mpps, keys] = await runChecks(ctx(), [pacsReachable, worklistReachable, mppsReachable, keyFiles]);
  assert.equal(pacs!.status, 'fail', 'one PACS target down fails the check');
  assert.match(pacs!.detail, new RegExp(`PACS_B@127\\.0\\.0\\.1:${portDown}`), pacs!.detail);
  assert.doesNotMatch(pacs!.detail, /PACS_A/, 'the target that answers is not blamed');
  assert.equal(worklist!.status, 'pass', worklist!.detail);
  assert.match(worklist!.detail, /over TLS answered C-ECHO/);
  assert.equal(mpps!.status, 'pass', mpps!.detail);
  assert.match(mpps!.detail, /over TLS answered C-ECHO/);
  assert.equal(keys!.status, 'pass', keys!.detail);
  assert.match(keys!.detail, /station-ris\.key/, 'the RIS TLS key is among the key files checked');

  // Both targets up: pass, each named.
  const pacsB = await startStoreScp(join(dir, 'pacs-b'), portDown, 'PACS_B');
  t.after(() => pacsB.stop());
  const [both] = await runChecks(ctx(), [pacsReachable]);
  assert.equal(both!.status, 'pass', both!.detail);
  assert.match(both!.detail, /PACS_A@.* answered C-ECHO.*; PACS_B@.* answered C-ECHO/);

  // The RIS TLS key readable by others: key-files fails naming it, and the worklist check refuses it.
  chmodSync(join(dir, 'station-ris.key'), 0o644);
  const [keys2, worklist2] = await runChecks(ctx(), [keyFiles, worklistReachable]);
  assert.equal(keys2!.status, 'fail');
  assert.match(keys2!.detail, /worklist TLS key .*station-ris\.key: mode 0644/);
  assert.equal(worklist2!.status, 'fail', worklist2!.detail);
  assert.match(worklist2!.detail, /\[ris\] worklist-tls-\*/);
  chmodSync(join(dir, 'station-ris.key'), 0o600);
  // Plain DICOM to the TLS port (no [ris] TLS): no answer, a failure naming the worklist.
  writeFileSync(config, readFileSync(config, 'utf8').replace(/^(worklist|mpps)-tls-.*\n/gm, ''));
  const [plain] = await runChecks(ctx(), [worklistReachable]);
  assert.equal(plain!.status, 'fail');
  assert.match(plain!.detail, new RegExp(`RIS@127\\.0\\.0\\.1:${risPort}`));
});
