// npm run package builds a Debian package; installed into a fresh, empty root with
// `dpkg --root DIR` (maintainer scripts chroot-free), it runs on the system's Node.js with only
// what it carries: `radseal --help`, and `radseal doctor` passing against a station with a real
// PACS (storescp) and TSA. The installed units pass systemd-analyze verify there.
// Network: run inside a private namespace (test/run.sh does; alone: npm run test:package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './support/run.js';
import { startTsa } from './support/tsa.js';
import { freePort, startStoreScp } from './net/storescp.js';
import { makeStationFiles, writeStationConfig } from './config/station-fixture.js';

const BUILT = existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js')) && existsSync(join(ROOT, 'build', 'core.wasm'));
const DPKG = spawnSync('dpkg-deb', ['--version']).status === 0;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  // Asynchronous: the test TSA answers from this process.
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: '/' });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  return new Promise((res) => proc.once('close', (code) => res({ code: code ?? -1, stdout, stderr })));
}

test('the Debian package installs into a fresh root and its radseal runs there: --help, doctor against a good station', { skip: !BUILT ? 'dist/ or build/core.wasm missing: run npm run build first' : !DPKG ? 'dpkg-deb missing' : false, timeout: 120000 }, async (t) => {
  const dir = tempDir('radseal-package-');
  const t0 = Date.now();
  const built = await run('bash', [join(ROOT, 'scripts', 'package.sh'), '--no-build', '--out', join(dir, 'out')]);
  assert.equal(built.code, 0, built.stderr);
  const deb = built.stdout.trim().split('\n').at(-1)!;
  assert.match(deb, /radseal_\d+\.\d+\.\d+_[a-z0-9]+\.deb$/);
  t.diagnostic(`package built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${(statSync(deb).size / 2 ** 20).toFixed(1)} MiB`);

  const root = join(dir, 'root');
  for (const d of ['var/lib/dpkg/updates', 'var/lib/dpkg/info']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  const t1 = Date.now();
  // nodejs and adduser are the system's, outside this root: dependencies are forced.
  const installed = await run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '-i', deb]);
  assert.equal(installed.code, 0, installed.stdout + installed.stderr);
  t.diagnostic(`installed in ${((Date.now() - t1) / 1000).toFixed(1)} s`);

  for (const f of ['usr/bin/radseal', 'opt/radseal/bin/radseal.js', 'opt/radseal/dist/host/cli/main.js', 'opt/radseal/build/core.wasm', 'opt/radseal/node_modules/commander/package.json',
    'opt/radseal/node_modules/smol-toml/package.json', 'opt/radseal/boards/sim-pty.json', 'opt/radseal/host/config/station.schema.json', 'etc/radseal/radseal.example.toml',
    'lib/systemd/system/radseal-capture.service', 'lib/systemd/system/radseal-proxy.service', 'lib/systemd/system/radseal-ingest.service', 'usr/share/doc/radseal/INSTALL.md']) {
    assert.ok(existsSync(join(root, f)), `${f} installed`);
  }
  assert.ok(!existsSync(join(root, 'opt/radseal/node_modules/typescript')), 'no dev dependencies');
  assert.ok(!existsSync(join(root, 'opt/radseal/node_modules/tsx')), 'no dev dependencies');
  // postinst made the folders the units may write, owner-only; the radseal group may pass
  // through to capture's worklist socket and no further.
  for (const d of ['var/lib/radseal/proxy-outbox', 'var/lib/radseal/store', 'var/lib/radseal/quarantine', 'var/log/radseal', 'etc/radseal/keys']) {
    assert.equal(statSync(join(root, d)).mode & 0o777, 0o700, d);
  }
  for (const d of ['var/lib/radseal', 'var/lib/radseal/outbox']) assert.equal(statSync(join(root, d)).mode & 0o777, 0o750, d);

  // The installed CLI on the system's node, with no path into this checkout.
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir };
  const help = await run(join(root, 'usr/bin/radseal'), ['--help'], env);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /doctor/);
  assert.match(help.stdout, /capture/);

  const files = await makeStationFiles(join(dir, 'station'));
  const pacsPort = await freePort();
  const pacs = await startStoreScp(join(dir, 'pacs'), pacsPort, 'PACS');
  const tsa = await startTsa(join(dir, 'tsa'));
  try {
    const config = join(dir, 'radseal.toml');
    writeStationConfig(config, files, { pacs: `PACS@127.0.0.1:${pacsPort}`, tsa: tsa.url });
    const doctor = await run(join(root, 'usr/bin/radseal'), ['doctor', '--config', config], env);
    t.diagnostic(doctor.stdout);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /all \d+ configured checks passed/);
    const example = await run(join(root, 'usr/bin/radseal'), ['doctor', '--config', join(root, 'etc/radseal/radseal.example.toml'), '--json', '--timeout', '1'], env);
    const checks = (JSON.parse(example.stdout) as { checks: Array<{ name: string; status: string }> }).checks;
    assert.equal(checks.find((c) => c.name === 'config')?.status, 'pass', 'the shipped example config is valid');
  } finally {
    await pacs.stop();
    await tsa.stop();
  }

  if (spawnSync('systemd-analyze', ['--version']).status === 0) {
    const unitDir = join(root, 'lib/systemd/system');
    for (const f of readdirSync('/lib/systemd/system').filter((f) => f.endsWith('.target'))) copyFileSync(join('/lib/systemd/system', f), join(unitDir, f));
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync('/bin/kill', join(root, 'bin/kill'));
    for (const unit of ['radseal-capture.service', 'radseal-proxy.service', 'radseal-ingest.service']) {
      const v = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, `/lib/systemd/system/${unit}`], { encoding: 'utf8' });
      assert.equal(v.status, 0, `${unit}: ${v.stderr}`);
      assert.equal(v.stderr.trim(), '', `${unit}: ${v.stderr}`);
    }
  } else {
    t.diagnostic('systemd-analyze not installed: installed units not verified here (package-units.test.ts parses them)');
  }
});
