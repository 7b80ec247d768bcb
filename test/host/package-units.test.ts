// deploy/systemd: the capture, proxy and ingest units run as the radseal user, read the station
// config, and carry the hardening the install runbook promises; systemd itself checks them
// (systemd-analyze verify and its offline security score) where systemd is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './support/run.js';

const UNITS_DIR = join(ROOT, 'deploy', 'systemd');
const SERVICES = { 'radseal-capture.service': 'capture', 'radseal-proxy.service': 'proxy', 'radseal-ingest.service': 'ingest' } as const;
/** The only folders each service may write: its outbox, or the gateway's store, quarantine and audit log. */
const WRITABLE: Record<string, string[]> = {
  capture: ['/var/lib/radseal/outbox'],
  proxy: ['/var/lib/radseal/proxy-outbox'],
  ingest: ['/var/lib/radseal/store', '/var/lib/radseal/quarantine', '/var/log/radseal'],
};

type Unit = Map<string, Map<string, string[]>>;

/** systemd unit syntax: [Section] headers, Key=Value lines (keys may repeat), # and ; comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(section && eq > 0, `not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

const HARDENING: Record<string, string> = {
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  CapabilityBoundingSet: '',
  AmbientCapabilities: '',
  RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
  RestrictNamespaces: 'yes',
  RestrictSUIDSGID: 'yes',
  LockPersonality: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectControlGroups: 'yes',
  SystemCallArchitectures: 'native',
  SystemCallFilter: '@system-service',
  UMask: '0077',
  User: 'radseal',
  ReadOnlyPaths: '/etc/radseal',
};

test('each unit runs its command from the station config as radseal, hardened, writing only its own folders', () => {
  assert.deepEqual(readdirSync(UNITS_DIR).sort(), Object.keys(SERVICES).sort());
  for (const [file, command] of Object.entries(SERVICES)) {
    const unit = parseUnit(readFileSync(join(UNITS_DIR, file), 'utf8'));
    const service = unit.get('Service')!;
    const one = (key: string) => {
      const v = service.get(key);
      assert.ok(v, `${file}: ${key} missing`);
      return v.at(-1)!; // the last assignment is the one systemd uses
    };
    assert.equal(one('ExecStart'), `/usr/bin/radseal ${command} --config /etc/radseal/radseal.toml`, file);
    for (const [key, value] of Object.entries(HARDENING)) assert.equal(one(key), value, `${file}: ${key}`);
    assert.deepEqual(one('ReadWritePaths').split(/\s+/).sort(), [...WRITABLE[command]!].sort(), `${file}: ReadWritePaths`);
    assert.equal(one('Restart'), 'on-failure', file);
    assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target', file);
  }
});

const SYSTEMD_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;

test('systemd-analyze verify accepts the units without a warning; offline security exposure stays low', { skip: SYSTEMD_ANALYZE ? false : 'systemd-analyze not installed (Debian package systemd)' }, (t) => {
  // A root holding what the units refer to: the radseal wrapper, kill, and systemd's own targets.
  const root = tempDir('radseal-units-');
  const unitDir = join(root, 'lib', 'systemd', 'system');
  mkdirSync(unitDir, { recursive: true });
  for (const f of readdirSync('/lib/systemd/system').filter((f) => f.endsWith('.target'))) copyFileSync(join('/lib/systemd/system', f), join(unitDir, f));
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'usr', 'bin', 'radseal'), '#!/bin/sh\n');
  chmodSync(join(root, 'usr', 'bin', 'radseal'), 0o755);
  copyFileSync('/bin/kill', join(root, 'bin', 'kill'));
  chmodSync(join(root, 'bin', 'kill'), 0o755);
  for (const file of Object.keys(SERVICES)) {
    copyFileSync(join(UNITS_DIR, file), join(unitDir, file));
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, `/lib/systemd/system/${file}`], { encoding: 'utf8' });
    assert.equal(v.status, 0, `${file}: ${v.stderr}`);
    assert.equal(v.stderr.trim(), '', `${file}: systemd-analyze verify warned`);
    const s = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, '--no-pager', `/lib/systemd/system/${file}`], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(s.stdout + s.stderr)?.[1]);
    assert.ok(score <= 2.5, `${file}: exposure ${score} (systemd-analyze security)`);
    t.diagnostic(`${file}: systemd-analyze security exposure ${score}`);
  }
});
