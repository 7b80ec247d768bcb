// A fuzz worker thread: takes batches of input indices from the pool and
// sends back their counters. The shared clock slot tells the pool which
// input is in the verifier and since when, so a hang can be caught from outside.
import { parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificates } from './verifier.js';
import { PydicomOracle } from './pydicom-oracle.js';
import { runDicomInput, type DicomContext } from './dicom-oracle.js';
import { runLinkInput, type LinkContext } from './link-oracle.js';
import { emptyStats } from './stats.js';
import type { WorkerSetup, ToWorker, FromWorker } from './pool-messages.js';

const setup = workerData as WorkerSetup;
const clock = new Float64Array(setup.clock);
const slot = setup.slot * 2;

/** [index, start time] while an input is in the code under test; start time 0 when idle. */
const onVerify = (index: number, running: boolean) => {
  clock[slot] = index;
  clock[slot + 1] = running ? Date.now() : 0;
};

const scratch = mkdtempSync(join(tmpdir(), 'radseal-fuzz-worker-'));
let pydicom: PydicomOracle | undefined;
let dicom: DicomContext | undefined;
let link: LinkContext | undefined;
if (setup.target === 'dicom') {
  pydicom = new PydicomOracle(scratch);
  const corpus = setup.corpus!;
  dicom = { seed: setup.seed, bases: corpus.bases, trust: parseCertificates(Buffer.from(corpus.trustPem)), pydicom, outDir: setup.outDir, onVerify };
} else {
  link = { seed: setup.seed, outDir: setup.outDir, onVerify };
}

const post = (m: FromWorker) => parentPort!.postMessage(m);

parentPort!.on('message', async (m: ToWorker) => {
  if (m.type === 'stop') {
    pydicom?.close();
    rmSync(scratch, { recursive: true, force: true });
    process.exit(0);
  }
  const stats = emptyStats();
  for (let i = m.start; i < m.end; i++) {
    if (dicom) await runDicomInput(dicom, i, stats);
    else runLinkInput(link!, i, stats);
  }
  post({ type: 'done', start: m.start, end: m.end, stats });
});
post({ type: 'ready' });
