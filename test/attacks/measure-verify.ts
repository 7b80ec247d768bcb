// Child process for the resource tests: verifies one file through the library
// and prints the verdict, reasons, elapsed time and peak resident memory
// (VmHWM), so a runaway allocation shows up in the numbers, not in the test runner.
import { readFileSync } from 'node:fs';
import * as verifyModule from '../../host/ingest/verify.js';
import { parseCertificates } from '../../host/keys/certs.js';

const [file, trustFile] = process.argv.slice(2) as [string, string];
type Verify = (f: string, b: Uint8Array, t: unknown, o?: unknown) => { verdict: string; reasons: string[] };
const verifyObject = (verifyModule as Record<string, unknown>).verifyObject as Verify | undefined;
const legacy = (verifyModule as Record<string, unknown>).verifyBytes as Verify;
const verify: Verify = verifyObject ? (f, b, t) => verifyObject(f, b, t, {}) : (f, b, t) => legacy(f, b, t);
const trust = parseCertificates(readFileSync(trustFile));
const bytes = readFileSync(file);
const start = performance.now();
let out: { verdict: string; reasons: string[] };
try {
  out = verify(file, bytes, trust);
} catch (err) {
  out = { verdict: 'THREW', reasons: [String((err as Error).stack ?? err)] };
}
const ms = performance.now() - start;
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
console.log(JSON.stringify({ ...out, ms, peakRss: hwm }));
