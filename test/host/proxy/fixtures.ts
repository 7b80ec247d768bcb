// What the proxy tests share: objects as modalities send them (pydicom, then
// DCMTK's and OpenJPEG's encoders for the other transfer syntaxes), the real
// modality (storescu / dcmsend) and waiting for files to arrive.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON, ROOT } from '../support/run.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { ProxyService } from '../../../host/proxy/service.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { freePort, startStoreScp, type StoreScp } from '../net/storescp.js';

const HERE = join(ROOT, 'test', 'host', 'proxy');

export function tool(cmd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (test/run.sh installs dcmtk, libopenjp2-tools, python3-pydicom)`);
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

function must(cmd: string, args: string[]): void {
  const r = tool(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.out}`);
}

/** Native Explicit VR LE objects of every SOP class the proxy must seal (see make_objects.py). */
export function makeObjects(dir: string, rows = 96, cols = 128): string[] {
  must(PYTHON, [join(HERE, 'make_objects.py'), dir, String(rows), String(cols)]);
  return readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().map((f) => join(dir, f));
}

export interface Variants {
  implicit: string[];
  implicitWithPrivate: string;
  encapsulated: string[];
  bigEndian: string;
}

/** Other encodings of the native objects: Implicit VR, JPEG Lossless, JPEG-LS, RLE (multi-frame), JPEG 2000, Big Endian. */
export function makeVariants(native: string, out: string): Variants {
  const src = (n: string) => join(native, n);
  const dst = (n: string) => join(out, n);
  must('dcmconv', ['+ti', src('cr.dcm'), dst('cr-implicit.dcm')]);
  must('dcmconv', ['+ti', src('xa-multi.dcm'), dst('xa-multi-implicit.dcm')]);
  must('dcmconv', ['+ti', src('dx-pres.dcm'), dst('dx-private-implicit.dcm')]);
  must('dcmcjpeg', [src('cr.dcm'), dst('cr-jpeg-lossless.dcm')]);
  must('dcmcjpls', [src('mg-pres.dcm'), dst('mg-jpeg-ls.dcm')]);
  must('dcmcrle', [src('rf-multi.dcm'), dst('rf-multi-rle.dcm')]);
  must(PYTHON, [join(HERE, 'encode_j2k.py'), src('io-pres.dcm'), dst('io-j2k.dcm')]);
  must('dcmconv', ['+tb', src('dx-proc.dcm'), dst('dx-big-endian.dcm')]);
  // Each variant is its own instance (a new SOP Instance UID), as a modality would send it.
  for (const f of readdirSync(out)) must('dcmodify', ['-nb', '-gin', join(out, f)]);
  return {
    implicit: [dst('cr-implicit.dcm'), dst('xa-multi-implicit.dcm')],
    implicitWithPrivate: dst('dx-private-implicit.dcm'),
    encapsulated: [dst('cr-jpeg-lossless.dcm'), dst('mg-jpeg-ls.dcm'), dst('rf-multi-rle.dcm'), dst('io-j2k.dcm')],
    bigEndian: dst('dx-big-endian.dcm'),
  };
}

/** A tool run without blocking the event loop (the proxy under test may live in this process). */
export function toolAsync(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** The modality: storescu, one association for all files. `-xi` proposes Implicit VR only, `-R` only the files' own syntaxes. */
export function storescu(port: number, files: string[], extra: string[] = [], callingAe = 'MODALITY1'): Promise<{ code: number; out: string }> {
  return toolAsync('storescu', ['-v', '-aet', callingAe, '-aec', 'RADPROXY', ...extra, '127.0.0.1', String(port), ...files]);
}

/** The modality sending compressed files as they are (never decompressed). */
export function dcmsend(port: number, files: string[]): Promise<{ code: number; out: string }> {
  return toolAsync('dcmsend', ['-v', '-dn', '-aet', 'MODALITY1', '-aec', 'RADPROXY', '127.0.0.1', String(port), ...files]);
}

export async function waitFor(what: string, ok: () => boolean, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.') && !f.endsWith('.json')).map((f) => join(dir, f)) : [];
}

export function sopInstanceUidOf(file: string): string {
  return decodeString(findElement(readPart10(readFileSync(file)).dataSet, tag(0x0008, 0x0018))?.value);
}

/** Pixel Data as stored: the native value, or the encapsulated fragments joined. */
export function pixelBytesOf(file: string): Buffer {
  const el = findElement(readPart10(readFileSync(file)).dataSet, tag(0x7fe0, 0x0010));
  if (!el) throw new Error(`${file} has no Pixel Data`);
  return el.fragments ? Buffer.concat(el.fragments.flatMap((f) => [Buffer.from(String(f.length) + ':'), f])) : Buffer.from(el.value!);
}

/**
 * dcmdump lines of the data set with what only encoding changes taken out: lengths in the comment
 * column, defined vs undefined sequence and item lengths, delimitation items, group lengths, Pixel Data.
 */
export function attributeLines(file: string): string[] {
  const r = tool('dcmdump', ['-q', '+L', '+U8', file]);
  if (r.code !== 0) throw new Error(`dcmdump ${file}: ${r.out}`);
  const body = r.out.split('\n');
  const start = body.findIndex((l) => l.startsWith('# Dicom-Data-Set'));
  return body.slice(start + 1)
    .filter((l) => l.trim() && !l.startsWith('#'))
    .filter((l) => !/\((fffe,e00d|fffe,e0dd)\)/.test(l) && !/^\s*\(\w{4},0000\)/.test(l) && !/\(7fe0,0010\)/.test(l) && !/\(fffe,e000\) pi /.test(l))
    .map((l) => l.replace(/\s+#.*$/, '').replace(/\((Sequence|Item) with (explicit|undefined) length #=(\d+)\)/, '($1 #=$3)').trimEnd());
}

/**
 * A device key named `deviceId` in `dir`/keys, DCMTK storescp as PACS (taking compressed transfer
 * syntaxes too: +xa), and the proxy (AE RADPROXY) forwarding to it, its log lines into `logs`.
 */
export async function startProxyToStoreScp(dir: string, deviceId: string, logs: string[]): Promise<{ key: string; cert: string; pacs: StoreScp; proxy: ProxyService; port: number }> {
  const keys = await generateDeviceKey(deviceId, join(dir, 'keys'));
  const pacs = await startStoreScp(join(dir, 'pacs'), await freePort(), 'PACS', ['+xa']);
  const proxy = new ProxyService({
    host: '127.0.0.1', port: 0, aeTitle: 'RADPROXY', device: loadDeviceIdentity(keys.key, keys.cert, 'dicom-proxy'),
    outboxDir: join(dir, 'outbox'), forward: { calledAe: 'PACS', host: '127.0.0.1', port: pacs.port }, log: (m) => logs.push(m),
    forwardBackoffMs: { min: 50, max: 200 },
  });
  return { key: keys.key, cert: keys.cert, pacs, proxy, port: await proxy.start() };
}

/** Top-level element blocks of a dcmdump listing, keyed by tag, nested lines included. */
export function dumpBlocks(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  let current = '';
  for (const l of lines) {
    const m = /^\((\w{4},\w{4})\)/.exec(l);
    if (m) {
      current = m[1]!;
      out.set(current, l);
    } else out.set(current, `${out.get(current)}\n${l}`);
  }
  return out;
}
