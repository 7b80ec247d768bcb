// The proxy's work on one received 3072x3072 16-bit DX object, in-process, split where the modality
// feels it: on the receiving thread while the fragments arrive (the digester fed 16 KB pieces, as
// the SCP hands them over: journal key, pixel hash, tile rows to the tile thread, the MAC when it can
// be predicted) and after the last fragment (finish, then the seal encoded around the received
// pixels: what the modality waits for beyond the transfer, before the durable write). No network
// and no disk, so less at the mercy of a loaded machine than `bench:proxy`.
//
// BENCH_BASELINE=/path/to/another/radseal/tree (with node_modules and build/core.wasm) runs that
// tree's digester and seal in a child process, alternating with this tree's, round after round.
//
//   npm run bench:proxy-seal    [RADSEAL_BENCH_OBJECTS=8 RADSEAL_BENCH_REPS=3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineLine, median } from './support.js';

const OBJECTS = Math.max(2, Number(process.env.RADSEAL_BENCH_OBJECTS ?? 8));
const REPS = Math.max(1, Number(process.env.RADSEAL_BENCH_REPS ?? 3));
const ROOT = resolve(import.meta.dirname, '..');
const BASELINE = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;

interface Round { receiveMs: number[]; afterLastMs: number[]; streamedMac: number }

/** One round in `root`'s code: OBJECTS objects through its digester and seal. */
async function round(root: string): Promise<Round> {
  const load = (m: string) => import(pathToFileURL(join(root, m)).href);
  const { DataSetDigester } = await load('host/proxy/stream-digest.ts');
  const { sealReceived } = await load('host/proxy/seal-received.ts');
  const { warmTileThread } = await load('host/proxy/tile-thread.ts');
  const { buildDx } = await load('host/dicom/dx.ts');
  const { makePhantom } = await load('host/image/phantom.ts');
  const { encodePart10 } = await load('host/dicom/writer.ts');
  const { readPart10Meta } = await load('host/dicom/reader.ts');
  const { generateDeviceKey } = await load('host/keys/provision.ts');
  const { loadDeviceIdentity } = await load('host/seal/device.ts');
  const { UID } = await load('host/dicom/uids.ts');
  warmTileThread();
  const dir = mkdtempSync(join(tmpdir(), 'radseal-bench-proxy-seal-'));
  try {
    const keys = await generateDeviceKey('BENCH-DX', join(dir, 'keys'));
    const device = loadDeviceIdentity(keys.key, keys.cert, 'dicom-proxy');
    const dx = buildDx(makePhantom({ rows: 3072, cols: 3072, bitsStored: 14, seed: 1 }), { patientName: 'Bench^Proxy', patientId: 'B1' }, [], new Date());
    const file: Uint8Array = encodePart10({ sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: dx.sopInstanceUid }, dx.dataSet);
    const head = readPart10Meta(file);
    const out: Round = { receiveMs: [], afterLastMs: [], streamedMac: 0 };
    for (let i = 0; i < OBJECTS; i++) {
      // In a buffer with room around it, as the SCP keeps one (the seal encodes the file around the pixels there).
      const part10 = new Uint8Array(new ArrayBuffer(65536 + file.length + 65536 + 200000), 65536, file.length);
      part10.set(file);
      const digester = new DataSetDigester(head.transferSyntaxUid, 64, { technologist: () => undefined });
      const body = part10.subarray(head.dataSetOffset);
      const t0 = performance.now();
      for (let at = 0; at < body.length; at += 16384) digester.update(body.subarray(at, Math.min(at + 16384, body.length)));
      const t1 = performance.now();
      const digest = await digester.finish();
      const sealed = await sealReceived({
        part10, callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: i + 1, mayOverwrite: true,
        streamed: digest.pixels && { pixels: digest.pixels, dataSetOffset: head.dataSetOffset },
      }, { device });
      out.receiveMs.push(t1 - t0);
      out.afterLastMs.push(performance.now() - t1);
      if (sealed.macOnArrival === 'streamed') out.streamedMac++;
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--round') {
  // A child's round in another tree: its figures as one JSON line.
  console.log(JSON.stringify(await round(resolve(process.argv[3]!))));
  process.exit(0);
}

function childRound(root: string): Round {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'proxy-seal.bench.ts'), '--round', root], { cwd: root, encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`round in ${root} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Round;
}

console.log(`radseal proxy seal benchmark · ${machineLine()}`);
console.log(`${OBJECTS} objects per round, 3072x3072 14-bit (18.9 MB each), ${REPS} round(s)${BASELINE ? `, alternating with ${BASELINE}` : ''}; load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const trees: Array<[string, string]> = [['this tree', ROOT], ...(BASELINE ? [['baseline tree', BASELINE] as [string, string]] : [])];
const all = new Map<string, Round[]>(trees.map(([name]) => [name, []]));
for (let rep = 0; rep < REPS; rep++) for (const [name, root] of trees) all.get(name)!.push(childRound(root));
console.log('| tree | receiving thread while the object arrives (ms, median) | after the last fragment (ms, median) | MAC hashed on arrival |');
console.log('|---|---|---|---|');
for (const [name, rounds] of all) {
  const receive = median(rounds.flatMap((r) => r.receiveMs));
  const after = median(rounds.flatMap((r) => r.afterLastMs));
  console.log(`| ${name} | ${receive.toFixed(0)} | ${after.toFixed(0)} | ${rounds.reduce((n, r) => n + r.streamedMac, 0)} of ${rounds.length * OBJECTS} |`);
}
