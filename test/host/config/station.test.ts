// The station config file: schema with field-named errors, and the one hook that turns it into
// option defaults for every command (command line first, then the command's section, then the
// station sections), through each option's own parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { Command, CommanderError, Option } from 'commander';
import { checkStationConfig, commandDefaults, loadStationConfig, StationConfigError } from '../../../host/config/station.js';
import { useStationConfig } from '../../../host/config/command-defaults.js';

const dir = mkdtempSync(join(tmpdir(), 'radseal-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function configFile(text: string): string {
  const path = join(dir, `c${++n}.toml`);
  writeFileSync(path, text);
  return path;
}

/** A program shaped like radseal's: a sealing service, a gateway, a PACS-side signer, a nested command. */
function program(seen: Record<string, unknown>[]): Command {
  const p = new Command('radseal').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  useStationConfig(p);
  const keep = (o: Record<string, unknown>) => void seen.push(o);
  p.command('capture')
    .requiredOption('--key <file>', 'device key').requiredOption('--cert <file>', 'cert').requiredOption('--outbox <dir>', 'outbox')
    .option('--board <b>', 'board').option('--forward <t>', 'pacs', (v: string, prev: string[] = []) => [...prev, v]).option('--tsa <url>', 'tsa')
    .option('--status-every <s>', 'interval', (v) => Number(v), 30)
    .action(keep);
  p.command('ingest')
    .option('--trust <f>', 'trust').option('--store <d>', 'store').option('--forward <t>', 'pacs')
    .addOption(new Option('--on-failure <p>', 'policy').choices(['flag', 'reject']).default('reject'))
    .option('--allow-ae <ae>', 'callers', (v: string, prev: string[] = []) => [...prev, ...v.split(',')])
    .option('--max-object-bytes <n>', 'limit', (v) => {
      const m = /^(\d+)MiB$/.exec(v);
      if (!m) throw new Error(`--max-object-bytes must be like 512MiB, got "${v}"`);
      return Number(m[1]) * 2 ** 20;
    })
    .option('--allow-missing-crl', 'switch')
    .action(keep);
  p.command('reconcile').requiredOption('--key <file>', 'PACS signer key').option('--trust <f>', 'trust').action(keep);
  p.command('tech').command('login').option('--outbox <dir>', 'session socket folder').option('--key <file>', 'technologist key').option('--id <op>', 'operator').action(keep);
  return p;
}

async function runWith(args: string[]): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown>[] = [];
  await program(seen).parseAsync(['node', 'radseal', ...args]);
  return seen[0]!;
}

const STATION = `
[station]
device-id = "DX-1"
board = "sim-pty"
[keys]
key = "keys/device.key"
cert = "/etc/radseal/keys/device.crt"
trust = "/etc/radseal/trust.pem"
[pacs]
forward = "PACS@pacs.hospital:11112"
[tsa]
url = "http://tsa.hospital/tsa"
[technologist]
idle-minutes = 15
[outbox]
dir = "/var/lib/radseal/outbox"
`;

test('station settings become option defaults by option name; paths are relative to the config file', async () => {
  const file = configFile(STATION);
  const o = await runWith(['capture', '--config', file]);
  assert.equal(o.key, join(dir, 'keys/device.key'));
  assert.equal(o.cert, '/etc/radseal/keys/device.crt');
  assert.equal(o.outbox, '/var/lib/radseal/outbox');
  assert.equal(o.board, 'sim-pty');
  assert.deepEqual(o.forward, ['PACS@pacs.hospital:11112']);
  assert.equal(o.tsa, 'http://tsa.hospital/tsa');
  assert.equal(o.statusEvery, 30, 'built-in default kept when the file is silent');
  const t = await runWith(['tech', 'login', '--config', file]);
  assert.equal(t.outbox, '/var/lib/radseal/outbox', 'a subcommand gets the station settings it has options for');
  assert.equal(t.key, undefined, "but never the device's key");
});

test('the command line wins over the command section, which wins over the station sections', async () => {
  const file = configFile(`${STATION}
[capture]
forward = "OTHER@10.0.0.9:104"
status-every = 5
`);
  const fromFile = await runWith(['capture', '--config', file]);
  assert.deepEqual(fromFile.forward, ['OTHER@10.0.0.9:104']);
  assert.equal(fromFile.statusEvery, 5, 'a TOML number goes through the option parser like the argv string');
  const fromCli = await runWith(['capture', '--config', file, '--forward', 'CLI@127.0.0.1:1', '--status-every', '7', '--key', '/k']);
  assert.deepEqual(fromCli.forward, ['CLI@127.0.0.1:1']);
  assert.equal(fromCli.statusEvery, 7);
  assert.equal(fromCli.key, '/k');
});

test("config values go through each option's parser: choices, lists, sizes, switches", async () => {
  const good = configFile(`[ingest]
on-failure = "flag"
allow-ae = ["MODALITY1", "MODALITY2@10.1.1.2"]
max-object-bytes = "64MiB"
allow-missing-crl = true
`);
  const o = await runWith(['ingest', '--config', good]);
  assert.equal(o.onFailure, 'flag');
  assert.deepEqual(o.allowAe, ['MODALITY1', 'MODALITY2@10.1.1.2']);
  assert.equal(o.maxObjectBytes, 64 * 2 ** 20);
  assert.equal(o.allowMissingCrl, true);

  const badChoice = configFile('[ingest]\non-failure = "explode"\n');
  await assert.rejects(runWith(['ingest', '--config', badChoice]), (e: Error) => e instanceof StationConfigError && /\[ingest\] on-failure: .*flag, reject/.test(e.message) && e.message.includes(badChoice));
  const badSize = configFile('[ingest]\nmax-object-bytes = "lots"\n');
  await assert.rejects(runWith(['ingest', '--config', badSize]), /\[ingest\] max-object-bytes: --max-object-bytes must be like 512MiB, got "lots"/);
  const badSwitch = configFile('[ingest]\nallow-missing-crl = "yes"\n');
  await assert.rejects(runWith(['ingest', '--config', badSwitch]), /\[ingest\] allow-missing-crl: --allow-missing-crl is a switch: write true or false/);
  const badList = configFile('[capture]\ntsa = ["http://a/", "http://b/"]\n');
  await assert.rejects(runWith(['capture', '--config', badList, '--key', 'k', '--cert', 'c', '--outbox', 'o']), /\[capture\] tsa: --tsa takes a single value/);
});

test('a required option may come from the file; when it comes from nowhere, the error names the section to put it in', async () => {
  const file = configFile(STATION);
  const o = await runWith(['capture', '--config', file]);
  assert.ok(o.key && o.cert && o.outbox);
  const empty = configFile('[station]\ndevice-id = "DX-1"\n');
  await assert.rejects(runWith(['capture', '--config', empty]), (e: Error) => e instanceof CommanderError && /required option '--key <file>' not specified .*\[capture\] section/.test(e.message));
});

test("the device's key is never another signer's default: reconcile (PACS) and tech login get no [keys] key", async () => {
  const file = configFile(STATION);
  await assert.rejects(runWith(['reconcile', '--config', file]), /required option '--key <file>'/);
  const r = await runWith(['reconcile', '--config', file, '--key', '/etc/pacs/pacs.key']);
  assert.equal(r.trust, '/etc/radseal/trust.pem', 'station settings that are not the device identity still apply');
  assert.deepEqual(commandDefaults(loadStationConfig(file), ['tech', 'login']).get('key'), undefined);
  assert.ok(commandDefaults(loadStationConfig(file), ['capture']).get('key'));
});

test('[pacs] TLS is a default for capture only: proxy and ingest would also demand it of the modality on their listener', () => {
  const config = loadStationConfig(configFile(`${STATION.replace('[pacs]\n', '[pacs]\ntls-key = "/k"\ntls-cert = "/c"\ntls-ca = "/ca"\n')}`));
  assert.equal(commandDefaults(config, ['capture']).get('tls-key')?.value, '/k');
  for (const command of ['proxy', 'ingest']) {
    assert.equal(commandDefaults(config, [command]).get('tls-key'), undefined, command);
    assert.equal(commandDefaults(config, [command]).get('forward')?.value, 'PACS@pacs.hospital:11112', command);
  }
});

test('a misspelt command section or option is refused by name', async () => {
  const file = configFile(`${STATION}
[captur]
board = "x"
[ingest]
stor = "/srv/store"
[tech.logn]
id = "x"
`);
  await assert.rejects(runWith(['ingest', '--config', file]), (e: Error) => {
    assert.match(e.message, /\[captur\]: no command "captur"/);
    assert.match(e.message, /\[ingest\] stor: radseal ingest has no option --stor/);
    assert.match(e.message, /\[tech\.logn\]: radseal tech has no subcommand "logn"/);
    return true;
  });
});

test('schema errors name every failing field, with what is expected', () => {
  assert.throws(() => checkStationConfig({
    station: { 'devic-id': 'X' },
    keys: { key: '/k' },
    pacs: { forward: 'nope' },
    technologist: { 'when-nobody-logged-in': 'maybe', 'idle-minutes': 0 },
    outbox: { dir: '/o', 'min-free': 'plenty' },
    ris: { worklist: 'RIS@ris:104', 'worklist-station': 'A\\B' },
  }, 'radseal.toml'), (e: Error) => {
    const lines = e.message.split('\n').slice(1).map((l) => l.trim());
    assert.deepEqual(lines.sort(), [
      'keys.cert: required field missing (keys.key needs it)',
      'outbox.min-free: must be bytes: 1073741824, "512MiB", "2GiB", got "plenty"',
      'pacs.forward: must be AE@HOST:PORT (C-STORE) or an http(s)://…/studies URL (STOW-RS), or a list of them, got "nope"',
      'ris.worklist-station: must be DICOM AE title: 1 to 16 printable ASCII characters, no backslash, not only spaces, got "A\\\\B"',
      'station.devic-id: unknown field',
      'station.device-id: required field missing',
      'technologist.idle-minutes: must be >= 1, got 0',
      'technologist.when-nobody-logged-in: must be equal to one of the allowed values (device-only, hold), got "maybe"',
    ].sort());
    return true;
  });
});

test('a TOML syntax error names the line; a missing file says so', () => {
  const file = configFile('[station]\ndevice-id = "DX-1\n');
  assert.throws(() => loadStationConfig(file), /not valid TOML at line 2/);
  assert.throws(() => loadStationConfig(join(dir, 'absent.toml')), /cannot read station config .*absent\.toml: no such file/);
});

test('without --config, $RADSEAL_CONFIG names the file', async () => {
  const file = configFile(STATION);
  process.env.RADSEAL_CONFIG = file;
  try {
    const o = await runWith(['capture']);
    assert.deepEqual(o.forward, ['PACS@pacs.hospital:11112']);
  } finally {
    delete process.env.RADSEAL_CONFIG;
  }
});

test('a PKCS#11 key URI is kept as written, not read as a path', () => {
  const config = loadStationConfig(configFile('[station]\ndevice-id = "DX-1"\n[keys]\nkey = "pkcs11:token=DX%201;object=device"\ncert = "device.crt"\npin-env = "PIN"\n'));
  assert.equal(config.keys?.key, 'pkcs11:token=DX%201;object=device');
  assert.equal(config.keys?.cert, join(dir, 'device.crt'));
});

test('[pacs] forward takes a list of targets: each reaches --forward in order; a bad item is named by its place', async () => {
  const file = configFile(STATION.replace('forward = "PACS@pacs.hospital:11112"', 'forward = ["PACS@pacs.hospital:11112", "VNA@vna.hospital:104", "https://cloud.example/dicomweb/studies"]'));
  const o = await runWith(['capture', '--config', file]);
  assert.deepEqual(o.forward, ['PACS@pacs.hospital:11112', 'VNA@vna.hospital:104', 'https://cloud.example/dicomweb/studies']);
  const cli = await runWith(['capture', '--config', file, '--forward', 'ONLY@127.0.0.1:1']);
  assert.deepEqual(cli.forward, ['ONLY@127.0.0.1:1'], 'the command line replaces the list, it does not add to it');
  assert.throws(() => checkStationConfig({ pacs: { forward: ['PACS@pacs:104', 'pacs02'] } }, 'radseal.toml'),
    /invalid station config:\n {2}pacs\.forward\[1\]: must be AE@HOST:PORT \(C-STORE\) or an http\(s\):\/\/…\/studies URL \(STOW-RS\), got "pacs02"$/);
  assert.throws(() => checkStationConfig({ pacs: { forward: ['PACS@pacs:104', 'PACS@pacs:104'] } }, 'radseal.toml'), /invalid station config:\n {2}pacs\.forward: must NOT have duplicate items[^\n]*$/);
  assert.throws(() => checkStationConfig({ pacs: { forward: [] } }, 'radseal.toml'), /pacs\.forward: must NOT have fewer than 1 items/);
});

test('[ris] worklist and MPPS TLS: all three files or none, each with its peer; they reach capture\'s options as paths', () => {
  assert.throws(() => checkStationConfig({ ris: { worklist: 'RIS@ris:104', 'worklist-tls-key': 'k', 'mpps-tls-ca': 'ca' } }, 'radseal.toml'), (e: Error) => {
    const lines = e.message.split('\n').slice(1).map((l) => l.trim()).sort();
    assert.deepEqual(lines, [
      'ris.mpps-tls-cert: required field missing (ris.mpps-tls-ca needs it)',
      'ris.mpps-tls-key: required field missing (ris.mpps-tls-ca needs it)',
      'ris.worklist-tls-ca: required field missing (ris.worklist-tls-key needs it)',
      'ris.worklist-tls-cert: required field missing (ris.worklist-tls-key needs it)',
    ]);
    return true;
  });
  const config = loadStationConfig(configFile(`${STATION}
[ris]
worklist = "RIS@ris.hospital:104"
mpps = "RIS@ris.hospital:104"
worklist-tls-key = "keys/ris-client.key"
worklist-tls-cert = "keys/ris-client.crt"
worklist-tls-ca = "/etc/radseal/ris-ca.pem"
mpps-tls-key = "keys/ris-client.key"
mpps-tls-cert = "keys/ris-client.crt"
mpps-tls-ca = "/etc/radseal/ris-ca.pem"
`));
  const d = commandDefaults(config, ['capture']);
  assert.equal(d.get('worklist-tls-key')?.value, join(dir, 'keys/ris-client.key'));
  assert.equal(d.get('worklist-tls-ca')?.value, '/etc/radseal/ris-ca.pem');
  assert.equal(d.get('mpps-tls-cert')?.value, join(dir, 'keys/ris-client.crt'));
  assert.equal(d.get('mpps-tls-cert')?.from, '[ris] mpps-tls-cert');
});
