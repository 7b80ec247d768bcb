// A station for doctor and package tests: site CA, CA-issued device key and certificate, trust
// bundle with its CRL, watermark key, outbox, and a station config pointing at real peers
// (DCMTK storescp as PACS, wlmscpfs as worklist, OpenSSL TSA) that the test starts.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initCa, issueDevice, writeBundle } from '../../../host/keys/pki/ca.js';

export interface StationFiles {
  dir: string;
  key: string;
  cert: string;
  trust: string;
  wmKey: string;
  outbox: string;
}

export async function makeStationFiles(dir: string, deviceId = 'DX-ROOM-1'): Promise<StationFiles> {
  const ca = await initCa({ site: 'Test Hospital', dir: join(dir, 'ca') });
  const keys = join(dir, 'keys');
  await issueDevice({ caDir: ca.dir, deviceId, outDir: keys });
  const trust = join(dir, 'trust.pem');
  await writeBundle({ caDir: ca.dir, out: trust });
  const wmKey = join(keys, 'watermark.key');
  copyFileSync(ca.watermarkKey, wmKey);
  const outbox = join(dir, 'outbox');
  mkdirSync(outbox, { recursive: true });
  return { dir, key: join(keys, 'device.key'), cert: join(keys, 'device.crt'), trust, wmKey, outbox };
}

export interface Peers {
  pacs: string;
  worklist?: string;
  tsa?: string;
}

export function writeStationConfig(path: string, f: StationFiles, peers: Peers, deviceId = 'DX-ROOM-1'): void {
  writeFileSync(path, `# radseal station config written by a test
[station]
device-id = "${deviceId}"
calling-ae = "DXROOM1"
board = "sim-pty"

[keys]
key = "${f.key}"
cert = "${f.cert}"
trust = "${f.trust}"
wm-key = "${f.wmKey}"

[pacs]
forward = "${peers.pacs}"
${peers.worklist ? `\n[ris]\nworklist = "${peers.worklist}"\n` : ''}${peers.tsa ? `\n[tsa]\nurl = "${peers.tsa}"\n` : ''}
[outbox]
dir = "${f.outbox}"
min-free = "1MiB"
`);
}
