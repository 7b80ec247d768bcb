// The real CLI started from the station config alone: the sealing proxy and the ingest gateway
// take every setting from the file (station sections plus their own section), the command line
// still wins, and a mistake in the file stops the command with the field named.
// Runs the built CLI (npm run build); network tests inside a private namespace (test/run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../support/run.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { makeStationFiles, writeStationConfig } from './station-fixture.js';

const CLI = join(ROOT, 'bin', 'radseal.js');
const BUILT = existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js'));

/** Starts a long-running command, waits for `ready` in its output, stops it with SIGTERM. */
async function runService(args: string[], ready: RegExp, whileUp: () => Promise<void> = async () => {}): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no "${ready}" within 20 s:\n${out}`)), 20000);
    const see = (d: Buffer) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        res();
      }
    };
    proc.stdout.on('data', see);
    proc.stderr.on('data', see);
    void exited.then(() => rej(new Error(`exited before ready:\n${out}`)));
  });
  try {
    await whileUp();
    // A SIGTERM in the first instants after ingest's start line can still find Node's default
    // handler (seen 1 in 3 with a 10 ms poll): give the service a moment before stopping it.
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    proc.kill('SIGTERM');
  }
  return { code: await exited, out };
}

test('radseal proxy and radseal ingest run from the station config alone; the command line wins', { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 90000 }, async () => {
  const dir = tempDir('radseal-config-cli-');
  const files = await makeStationFiles(join(dir, 'station'));
  const pacsPort = await freePort();
  const pacs = await startStoreScp(join(dir, 'pacs'), pacsPort, 'PACS');
  const proxyPort = await freePort();
  try {
    const config = join(dir, 'radseal.toml');
    writeStationConfig(config, files, { pacs: `PACS@127.0.0.1:${pacsPort}` });
    for (const d of ['proxy-outbox', 'watch', 'store', 'quarantine']) mkdirSync(join(dir, d));
    writeFileSync(config, `${readFileSync(config, 'utf8')}
[proxy]
listen = "127.0.0.1:${proxyPort}"
ae = "RADSEAL-PX"
outbox = "${join(dir, 'proxy-outbox')}"
status-every = 3600

[ingest]
watch = "${join(dir, 'watch')}"
store = "${join(dir, 'store')}"
quarantine = "${join(dir, 'quarantine')}"
audit = "${join(dir, 'audit.jsonl')}"
on-failure = "flag"
`);

    const proxy = await runService(['proxy', '--config', config], /proxy: listening on/, async () => {
      const echo = spawnSync('echoscu', ['-aet', 'MODALITY', '-aec', 'RADSEAL-PX', '127.0.0.1', String(proxyPort)], { encoding: 'utf8' });
      assert.equal(echo.status, 0, `the proxy answers C-ECHO at the AE and port of its section: ${echo.stderr}`);
    });
    assert.equal(proxy.code, 0, proxy.out);
    assert.match(proxy.out, new RegExp(`proxy: listening on 127\\.0\\.0\\.1:${proxyPort} as RADSEAL-PX; device DX-ROOM-1; outbox ${join(dir, 'proxy-outbox')}; forwarding to PACS@127\\.0\\.0\\.1:${pacsPort}`));

    const ingest = await runService(['ingest', '--config', config], /radseal ingest: watching/);
    assert.equal(ingest.code, 0, ingest.out);
    assert.match(ingest.out, new RegExp(`watching ${join(dir, 'watch')} \\(policy flag, audit ${join(dir, 'audit.jsonl')}\\)`), 'trust from [keys], the rest from [ingest]');
    const cli = await runService(['ingest', '--config', config, '--on-failure', 'reject'], /radseal ingest: watching/);
    assert.match(cli.out, /\(policy reject,/, 'the command line wins over the file');

    writeFileSync(config, `${readFileSync(config, 'utf8')}watch-dir = "/tmp"\n`);
    const bad = spawnSync(process.execPath, [CLI, 'ingest', '--config', config], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /\[ingest\] watch-dir: radseal ingest has no option --watch-dir/);
  } finally {
    await pacs.stop();
  }
});
