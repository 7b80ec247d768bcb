// Measures what the gateway's per-object verification costs the event loop: the time to verify
// a few hostile or huge objects, and the longest C-ECHO round trip (DCMTK echoscu, another
// process, another association) while each goes through the gateway. Not a test; run:
//   unshare -n bash -c 'ip link set lo up && node --import tsx test/host/net/measure-gateway.ts'
import { spawn } from 'node:child_process';
import { deflateRawSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditLog } from '../../../host/ingest/audit.js';
import { Ingestor } from '../../../host/ingest/gateway/ingest.js';
import { startGateway } from '../../../host/ingest/gateway/gateway.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { wrapPart10 } from '../../../host/dicom/writer.js';

const DX = '1.2.840.10008.5.1.4.1.1.1.1';
const DEFLATED = '1.2.840.10008.1.2.1.99';
const EXPLICIT = '1.2.840.10008.1.2.1';

function element(group: number, el: number, vr: string, value: Uint8Array): Uint8Array {
  const long = vr === 'OB' || vr === 'OW';
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(el, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}
const ui = (s: string) => Buffer.from(s.length % 2 ? s + '\0' : s, 'latin1');

/** An unsigned DX data set whose Pixel Data is `pixels`. */
function dataSet(uid: string, pixels: Uint8Array): Uint8Array {
  return Buffer.concat([element(0x0008, 0x0016, 'UI', ui(DX)), element(0x0008, 0x0018, 'UI', ui(uid)), element(0x7fe0, 0x0010, 'OW', pixels)]);
}

function objects(): Array<{ name: string; file: Uint8Array }> {
  const mb = 1 << 20;
  const zeros = new Uint8Array(256 * mb);
  // Compresses about 40:1, under the reader's 64:1 ratio limit: a deflated object it must inflate.
  const sparse = new Uint8Array(256 * mb);
  for (let i = 0; i < sparse.length; i += 97) sparse[i] = (i * 2654435761) >>> 24;
  const bomb = deflateRawSync(dataSet('2.25.1', zeros));
  const dense = deflateRawSync(dataSet('2.25.2', sparse));
  return [
    { name: `deflate bomb: 256 MiB of zeros in ${(bomb.length / 1024).toFixed(0)} KiB`, file: wrapPart10({ sopClassUid: DX, sopInstanceUid: '2.25.1', transferSyntaxUid: DEFLATED }, bomb) },
    { name: `deflated 256 MiB at ${(256 * mb / dense.length).toFixed(0)}:1 (${(dense.length / mb).toFixed(1)} MiB)`, file: wrapPart10({ sopClassUid: DX, sopInstanceUid: '2.25.2', transferSyntaxUid: DEFLATED }, dense) },
    { name: '512 MiB uncompressed, unsigned', file: wrapPart10({ sopClassUid: DX, sopInstanceUid: '2.25.3', transferSyntaxUid: EXPLICIT }, dataSet('2.25.3', new Uint8Array(512 * mb))) },
  ];
}

/** Runs echoscu back to back until stopped; returns the round-trip times (ms). */
function echoLoop(port: number): { stop(): Promise<number[]> } {
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      await new Promise<void>((r) => spawn('echoscu', ['-aec', 'RADSEAL', '127.0.0.1', String(port)], { stdio: 'ignore' }).once('exit', () => r()));
      times.push(performance.now() - t0);
    }
  })();
  return { stop: async () => { running = false; await loop; return times; } };
}

const dir = mkdtempSync(join(tmpdir(), 'radseal-measure-gw-'));
try {
  const audit = new AuditLog(join(dir, 'audit.jsonl'));
  const ingestor = new Ingestor({ trust: [], storeDir: join(dir, 'store'), quarantineDir: join(dir, 'q'), audit, onNonAuthentic: 'reject' });
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor, maxObjectBytes: 600 << 20 });
  const idle = echoLoop(gw.port);
  await new Promise((r) => setTimeout(r, 1500));
  const base = await idle.stop();
  console.log(`C-ECHO round trip, gateway idle: median ${base.sort((a, b) => a - b)[base.length >> 1]!.toFixed(0)} ms (echoscu start-up included)`);
  for (const o of objects()) {
    const t0 = performance.now();
    const r = verifyObject('x.dcm', o.file, [], {});
    const verifyMs = performance.now() - t0;
    const echo = echoLoop(gw.port);
    await new Promise((res) => setTimeout(res, 300));
    // Sent by DCMTK storescu (another process), so that only the gateway is measured.
    const f = join(dir, 'o.dcm');
    writeFileSync(f, o.file);
    const s0 = performance.now();
    await new Promise<void>((r) => spawn('storescu', ['-aec', 'RADSEAL', '127.0.0.1', String(gw.port), f], { stdio: 'ignore' }).once('exit', () => r()));
    const storeMs = performance.now() - s0;
    await new Promise((res) => setTimeout(res, 300));
    const times = await echo.stop();
    const rec = audit.head.seq;
    console.log(`${o.name}: verifyObject ${verifyMs.toFixed(0)} ms (${r.verdict}: ${r.reasons[0]?.slice(0, 90)}); storescu → gateway ${storeMs.toFixed(0)} ms (audit #${rec}); longest C-ECHO meanwhile ${Math.max(...times).toFixed(0)} ms (${times.length} echoes)`);
  }
  await gw.close();
  audit.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
