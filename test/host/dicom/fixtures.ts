// Shared set-up for the DICOM conformance tests: keys, frames, sealed
// objects, temp folders and the real tools (dcmtk, dicom3tools, pydicom).
// A missing tool fails the test that needs it: test/run.sh installs them.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealFrame, type SealRequest, type DeviceIdentity, type TechnologistIdentity } from '../../../host/seal/seal.js';
import { loadDeviceIdentity, loadTechnologist, withEcdsa } from '../../../host/seal/device.js';
import { generateDeviceKey, generateEcdsaDeviceKey, generateTechnologistKey } from '../../../host/keys/provision.js';
import { sha256 } from '../../../host/core/hash.js';
import { pixelBytes, type DxFrame, type CaptureMeta } from '../../../host/dicom/dx.js';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'radseal-dicom-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A deterministic frame with smooth structure, edges and noise, independent of host/image. */
export function testFrame(rows: number, cols: number, bitsStored = 14, seed = 1): DxFrame {
  const pixels = new Uint16Array(rows * cols);
  const max = 2 ** bitsStored - 1;
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const dx = (x - cols / 2) / cols, dy = (y - rows / 2) / rows;
      let v = 0.35 + 0.3 * Math.cos(6 * dx) * Math.cos(5 * dy) + (Math.abs(dx) < 0.08 ? 0.2 : 0);
      v += (rnd() - 0.5) * 0.02;
      pixels[y * cols + x] = Math.max(0, Math.min(max, Math.round(v * max)));
    }
  }
  return { rows, cols, bitsStored, pixels };
}

export interface Identities {
  dir: string;
  device: DeviceIdentity;
  deviceWithEcdsa: DeviceIdentity;
  technologist: TechnologistIdentity;
  certs: { device: string; ecdsa: string; technologist: string; ecdsaKey: string; deviceKey: string; techKey: string };
  /** PEM bundle of all three certificates. */
  trustPem: string;
}

export const TECH_PIN = 'pin-4711';

export async function makeIdentities(dir: string, deviceId = 'DX-ROOM-3', operatorId = 'tech042'): Promise<Identities> {
  const p = await generateDeviceKey(deviceId, join(dir, 'keys'));
  const e = await generateEcdsaDeviceKey(deviceId, join(dir, 'keys'));
  const t = await generateTechnologistKey(operatorId, join(dir, 'keys'), TECH_PIN);
  const device = loadDeviceIdentity(p.key, p.cert);
  const deviceWithEcdsa = withEcdsa(device, e.key, e.cert);
  const technologist = loadTechnologist(t.key, t.cert, TECH_PIN, 'Doe^Jane');
  const trustPem = join(dir, 'trust.pem');
  writeFileSync(trustPem, [p.cert, e.cert, t.cert].map((f) => readFileSync(f, 'utf8')).join(''));
  return { dir, device, deviceWithEcdsa, technologist, certs: { device: p.cert, ecdsa: e.cert, technologist: t.cert, ecdsaKey: e.key, deviceKey: p.key, techKey: t.key }, trustPem };
}

export const META: CaptureMeta = {
  patientName: 'Test^Patient', patientId: 'PID-0001', patientBirthDate: '19700101', patientSex: 'F',
  accessionNumber: 'ACC-1', studyId: 'S1', bodyPartExamined: 'CHEST', viewPosition: 'PA', institutionName: 'radseal General',
  stationName: 'DXROOM3', referringPhysicianName: 'Ref^Doctor',
  patientOrientation: ['L', 'F'], // as the console says for a PA chest: radseal never defaults it
};

export async function sealTo(path: string, frame: DxFrame, device: DeviceIdentity, extra: Partial<SealRequest> = {}): Promise<Uint8Array> {
  const sealed = await sealFrame({ frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 7, meta: META, ...extra }, device);
  writeFileSync(path, sealed.bytes);
  return sealed.bytes;
}

/** Runs a tool; throws (failing the test) when it is not installed. */
export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, input: opts.input, maxBuffer: 64 << 20 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${cmd} is not installed (Debian: ${TOOL_PACKAGES[cmd] ?? cmd}); test/run.sh installs it`);
  }
  if (r.error) throw r.error;
  return r;
}

const TOOL_PACKAGES: Record<string, string> = {
  dcmsign: 'dcmtk', dcmdump: 'dcmtk', dcmconv: 'dcmtk', dcmodify: 'dcmtk', dcmcjpeg: 'dcmtk', dciodvfy: 'dicom3tools', '/usr/bin/python3': 'python3-pydicom',
};

/** The Python that has pydicom (Debian's), as test/run.sh checks it. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function python(script: string, args: string[] = []): string {
  const r = run(PYTHON, ['-c', script, ...args]);
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function opensslKey(dir: string, kind: 'rsa' | 'ec', cn: string, extendedKeyUsage?: string): { key: string; cert: string } {
  const key = join(dir, `${cn}.key`), cert = join(dir, `${cn}.crt`);
  const alg = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  // A signer's certificate, not a CA (openssl req -x509 makes CA:TRUE by default, and a CA never signs images).
  const ext = ['-addext', 'basicConstraints=critical,CA:FALSE', ...(extendedKeyUsage ? ['-addext', `extendedKeyUsage=${extendedKeyUsage}`] : [])];
  execFileSync('openssl', ['req', '-x509', ...alg, '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${cn}`, '-days', '30', ...ext], { stdio: 'ignore' });
  return { key, cert };
}
