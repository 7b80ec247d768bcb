// Run inside an Orthanc test namespace (ip netns exec): sends each file by STOW-RS and prints one
// JSON line per file, {file, ok} or {file, error, retryable}.
import { readFileSync } from 'node:fs';
import { stowRs } from '../../host/net/stow.js';
import { DicomNetError } from '../../host/net/cstore.js';

const [url, ...files] = process.argv.slice(2);
for (const file of files) {
  try {
    await stowRs({ url: url!, timeoutMs: 20000 }, new Uint8Array(readFileSync(file)));
    console.log(JSON.stringify({ file, ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ file, ok: false, error: (e as Error).message, retryable: e instanceof DicomNetError ? e.retryable : null }));
  }
}
