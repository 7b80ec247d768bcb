// radseal doctor against a good station and a broken one, with real peers: DCMTK storescp as
// PACS, DCMTK wlmscpfs as the worklist, an OpenSSL TSA. Runs the built CLI (npm run build).
// Network: run inside a private namespace (test/run.sh does; by hand:
//   unshare -n bash -c 'ip link set lo up && exec node --import tsx --test --test-force-exit test/host/doctor.test.ts').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './support/run.js';
import { startTsa } from './support/tsa.js';
import { freePort, startStoreScp } from './net/storescp.js';
import { makeStationFiles, writeStationConfig } from './config/station-fixture.js';
import { loadStationConfig } from '../../host/config/station.js';
import { crlFresh, deviceCertificate, keyFiles, outbox, pacsReachable, runChecks, servicePaths } from '../../host/config/checks.js';
import { cEcho } from '../../host/net/echo.js';
import { loadEd25519Seed } from '../../host/keys/filestore.js';
import { seedSigner } from '../../host/keys/ed25519.js';
import { issueCertificate } from '../../host/keys/x509.js';
import { toPem } from '../../host/keys/pem.js';
import { makePki } from './support/openssl-pki.js';

const BUILT = existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js'));

interface DoctorJson {
  ok: boolean;
  checks: Array<{ name: string; status: 'pass' | 'fail' | 'skip'; detail: string; description: string }>;
}

async function startWorklist(dir: string, port: number): Promise<ChildProcess> {
  mkdirSync(join(dir, 'WL'), { recursive: true });
  const proc = spawn('wlmscpfs', ['-dfp', dir, String(port)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return proc;
}

/** The built CLI, asynchronously: the test TSA answers from this process, so it must not block. */
function radseal(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'radseal.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  return new Promise((res) => proc.once('close', (code) => res({ code: code ?? -1, stdout, stderr })));
}

function statusOf(r: DoctorJson): Record<string, string> {
  return Object.fromEntries(r.checks.map((c) => [c.name, c.status]));
}

test('doctor: a good station passes every configured check; a broken one fails each problem by name', { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 60000 }, async (t) => {
  const dir = tempDir('radseal-doctor-');
  const files = await makeStationFiles(join(dir, 'station'));
  const pacsPort = await freePort();
  const pacs = await startStoreScp(join(dir, 'pacs'), pacsPort, 'PACS');
  const wlPort = await freePort();
  const worklist = await startWorklist(join(dir, 'wl'), wlPort);
  const tsa = await startTsa(join(dir, 'tsa'));
  try {
    const config = join(dir, 'radseal.toml');
    writeStationConfig(config, files, { pacs: `PACS@127.0.0.1:${pacsPort}`, worklist: `WL@127.0.0.1:${wlPort}`, tsa: tsa.url });

    const good = await radseal('doctor', '--config', config, '--json');
    const report = JSON.parse(good.stdout) as DoctorJson;
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(report.ok, true);
    assert.deepEqual(statusOf(report), {
      config: 'pass', 'key-files': 'pass', 'device-certificate': 'pass', 'trust-chain': 'pass', 'crl-fresh': 'pass', board: 'pass',
      outbox: 'pass', 'ingest-folders': 'skip', 'service-paths': 'skip', pacs: 'pass', worklist: 'pass', mpps: 'skip', tsa: 'pass',
    });
    assert.match(report.checks.find((c) => c.name === 'pacs')!.detail, /answered C-ECHO/);
    assert.ok(tsa.answered >= 1, 'the TSA was asked');
    const text = await radseal('doctor', '--config', config);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /PASS {2}trust-chain/);
    assert.match(text.stdout, /all 10 configured checks passed/);
    t.diagnostic(text.stdout);

    // Break it: a key others can read, an expired certificate, PACS gone.
    chmodSync(files.key, 0o644);
    await pacs.stop();
    const signer = seedSigner(seedFor(files.key));
    const expired = await issueCertificate({ subject: { commonName: 'DX-ROOM-1' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, notBefore: new Date(Date.now() - 40 * 86_400_000), validDays: 10 });
    writeFileSync(files.cert, toPem('CERTIFICATE', expired));

    const broken = await radseal('doctor', '--config', config, '--json');
    assert.equal(broken.code, 1, broken.stdout + broken.stderr);
    const b = JSON.parse(broken.stdout) as DoctorJson;
    assert.equal(b.ok, false);
    const s = statusOf(b);
    assert.equal(s['key-files'], 'fail');
    assert.equal(s['device-certificate'], 'fail');
    assert.equal(s['trust-chain'], 'fail');
    assert.equal(s.pacs, 'fail');
    for (const still of ['config', 'crl-fresh', 'board', 'outbox', 'worklist', 'tsa']) assert.equal(s[still], 'pass', still);
    const detail = (name: string) => b.checks.find((c) => c.name === name)!.detail;
    assert.match(detail('key-files'), /mode 0644, others can read it; run: chmod 600 /);
    assert.match(detail('device-certificate'), /expired at /);
    assert.match(detail('trust-chain'), /not valid at/);
    assert.match(detail('pacs'), /PACS@127\.0\.0\.1:\d+: /);
    const text2 = await radseal('doctor', '--config', config);
    assert.match(text2.stdout, /FAIL {2}key-files/);
    assert.match(text2.stdout, /4 check\(s\) failed/);
    t.diagnostic(text2.stdout);
  } finally {
    await pacs.stop();
    worklist.kill('SIGKILL');
    await tsa.stop();
  }
});

/** The Ed25519 seed of a key file whatever its mode (the test broke the mode on purpose). */
function seedFor(path: string): Uint8Array {
  chmodSync(path, 0o600);
  try {
    return loadEd25519Seed(path);
  } finally {
    chmodSync(path, 0o644);
  }
}

test('doctor: a revocation list past its next update fails crl-fresh, and a certificate not yet valid is named', async () => {
  const dir = tempDir('radseal-doctor-crl-');
  const files = await makeStationFiles(dir);
  const config = join(dir, 'radseal.toml');
  writeStationConfig(config, files, { pacs: 'PACS@127.0.0.1:1' });
  const ctx = { config: loadStationConfig(config), echo: async () => ({ roundTripMs: 0 }), uid: process.getuid!(), timeoutMs: 1000 };
  const later = await runChecks({ ...ctx, now: new Date(Date.now() + 400 * 86_400_000) }, [crlFresh]);
  assert.equal(later[0]!.status, 'fail');
  assert.match(later[0]!.detail, /revocation list of CA Test Hospital.* expired at .*install a fresh trust bundle/);
  const earlier = await runChecks({ ...ctx, now: new Date(Date.now() - 86_400_000) }, [deviceCertificate]);
  assert.equal(earlier[0]!.status, 'fail');
  assert.match(earlier[0]!.detail, /not valid before .*check this station's clock/);
});

test('doctor: capture and proxy may not share one outbox', async () => {
  const dir = tempDir('radseal-doctor-outbox-');
  const files = await makeStationFiles(dir);
  const config = join(dir, 'radseal.toml');
  writeStationConfig(config, files, { pacs: 'PACS@127.0.0.1:1' });
  writeFileSync(config, `${readFileSync(config, 'utf8')}\n[proxy]\nae = "RADSEAL-PROXY"\n`);
  const ctx = { echo: async () => ({ roundTripMs: 0 }), uid: process.getuid!(), timeoutMs: 1000, now: new Date() };
  const shared = await runChecks({ ...ctx, config: loadStationConfig(config) }, [outbox]);
  assert.equal(shared[0]!.status, 'fail');
  assert.match(shared[0]!.detail, /capture and proxy would share the outbox .*give \[proxy\] outbox its own folder/);
  mkdirSync(join(dir, 'proxy-outbox'));
  writeFileSync(config, `${readFileSync(config, 'utf8')}outbox = "${join(dir, 'proxy-outbox')}"\n`);
  const own = await runChecks({ ...ctx, config: loadStationConfig(config) }, [outbox]);
  assert.equal(own[0]!.status, 'pass', own[0]!.detail);
  assert.match(own[0]!.detail, /proxy-outbox: writable/);
});

test('doctor: PACS over TLS answers C-ECHO with the station certificate; another CA, or a TLS key others can read, fails', { timeout: 60000 }, async () => {
  const dir = tempDir('radseal-doctor-tls-');
  const files = await makeStationFiles(join(dir, 'station'));
  makePki(dir, 'site-ca', [{ name: 'pacs', san: 'IP:127.0.0.1' }, { name: 'station' }]);
  makePki(dir, 'rogue-ca', []);
  const port = await freePort();
  const pacs = await startStoreScp(join(dir, 'pacs'), port, 'PACS', ['+tls', join(dir, 'pacs.key'), join(dir, 'pacs.pem'), '+cf', join(dir, 'site-ca.pem')]);
  try {
    const config = join(dir, 'radseal.toml');
    const withTls = (ca: string) => {
      writeStationConfig(config, files, { pacs: `PACS@127.0.0.1:${port}` });
      writeFileSync(config, readFileSync(config, 'utf8').replace('[pacs]\n', `[pacs]\ntls-key = "${join(dir, 'station.key')}"\ntls-cert = "${join(dir, 'station.pem')}"\ntls-ca = "${join(dir, ca)}"\n`));
      return { config: loadStationConfig(config), echo: cEcho, uid: process.getuid!(), timeoutMs: 5000, now: new Date() };
    };
    const [ok] = await runChecks(withTls('site-ca.pem'), [pacsReachable]);
    assert.equal(ok!.status, 'pass', ok!.detail);
    assert.match(ok!.detail, /over TLS answered C-ECHO/);
    const [rogue] = await runChecks(withTls('rogue-ca.pem'), [pacsReachable]);
    assert.equal(rogue!.status, 'fail');
    assert.match(rogue!.detail, /certificate|self.signed/i);
    chmodSync(join(dir, 'station.key'), 0o644);
    const ctx = withTls('site-ca.pem');
    const [keys, echo] = await runChecks(ctx, [keyFiles, pacsReachable]);
    assert.equal(keys!.status, 'fail');
    assert.match(keys!.detail, /TLS key .*station\.key: mode 0644/);
    assert.equal(echo!.status, 'fail', 'radseal refuses a TLS key others can read');
  } finally {
    await pacs.stop();
  }
});

test('doctor: a folder the config names outside an installed unit\'s ReadWritePaths fails, until a drop-in adds it', async () => {
  const dir = tempDir('radseal-doctor-units-');
  const unitDir = join(dir, 'system');
  mkdirSync(unitDir);
  for (const unit of ['radseal-capture.service', 'radseal-ingest.service']) copyFileSync(join(ROOT, 'deploy', 'systemd', unit), join(unitDir, unit));
  const config = join(dir, 'radseal.toml');
  const check = async (toml: string) => {
    writeFileSync(config, `[station]\ndevice-id = "DX-1"\n${toml}`);
    const [r] = await runChecks({ config: loadStationConfig(config), echo: async () => ({ roundTripMs: 0 }), uid: 0, timeoutMs: 1000, now: new Date(), unitDirs: [unitDir] }, [servicePaths]);
    return r!;
  };
  const packaged = await check('[outbox]\ndir = "/var/lib/radseal/outbox"\n[ingest]\nstore = "/var/lib/radseal/store"\nquarantine = "/var/lib/radseal/quarantine"\naudit = "/var/log/radseal/audit.jsonl"\n');
  assert.equal(packaged.status, 'pass', packaged.detail);
  const elsewhere = await check('[outbox]\ndir = "/data/radseal/outbox"\n');
  assert.equal(elsewhere.status, 'fail');
  assert.match(elsewhere.detail, /radseal-capture\.service cannot write its outbox \/data\/radseal\/outbox .*systemctl edit radseal-capture/);
  mkdirSync(join(unitDir, 'radseal-capture.service.d'));
  writeFileSync(join(unitDir, 'radseal-capture.service.d', 'outbox.conf'), '[Service]\nReadWritePaths=/data/radseal\n');
  const dropIn = await check('[outbox]\ndir = "/data/radseal/outbox"\n');
  assert.equal(dropIn.status, 'pass', dropIn.detail);
  const proxyNotInstalled = await check('[outbox]\ndir = "/var/lib/radseal/outbox"\n[proxy]\noutbox = "/elsewhere"\n');
  assert.equal(proxyNotInstalled.status, 'pass', 'a service whose unit is not installed is not judged');
});
