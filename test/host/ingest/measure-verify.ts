// Child process for large-file.test.ts: verifies one file and prints the peak
// resident memory it added (VmHWM after minus VmHWM before reading the file).
import { readFileSync } from 'node:fs';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { sha256 } from '../../../host/core/hash.js';
import { tileHashes } from '../../../host/core/tiles.js';

const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const [file, trustFile] = process.argv.slice(2) as [string, string];
const trust = parseCertificates(readFileSync(trustFile));
// Warm up everything verify uses (module code, WebAssembly instances) on a small input.
sha256(new Uint8Array(1024));
tileHashes(new Uint8Array(64 * 64 * 2), 64, 64, 64);
const before = hwm();
const bytes = readFileSync(file);
const report = verifyObject(file, bytes, trust);
const after = hwm();
console.log(JSON.stringify({ verdict: report.verdict, tiles: report.tamperedTiles?.tiles.length ?? 0, fileBytes: bytes.length, addedPeak: after - before }));
