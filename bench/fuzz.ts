// Long fuzz runs (not CI): npm run fuzz -- --count N --seed S [--target dicom|link] [--out DIR] [--workers W]
// [--seconds T: stop handing out inputs after T s]
// Every input is reproducible from (seed, index) and the corpus, which is saved under the output
// folder with the findings: --corpus OUT/bases --seed S --start I --count 1 runs input I again.
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runFuzz, type FuzzTarget } from '../test/fuzz/pool.js';
import { loadCorpus, makeCorpus, saveCorpus } from '../test/fuzz/bases.js';
import { summarize } from '../test/fuzz/report.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    start: { type: 'string', default: '0' },
    target: { type: 'string', default: 'dicom' },
    out: { type: 'string' },
    workers: { type: 'string', default: String(availableParallelism()) },
    'hang-ms': { type: 'string', default: '5000' },
    corpus: { type: 'string' },
    seconds: { type: 'string' },
  },
});
const target = values.target as FuzzTarget;
if (target !== 'dicom' && target !== 'link') throw new Error(`--target must be dicom or link, not ${target}`);
const seed = Number(values.seed) >>> 0;
const count = Number(values.count);
const workers = Number(values.workers);
const outDir = values.out ?? join(tmpdir(), 'radseal-fuzz', `${target}-${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);

console.log(`fuzz ${target}: ${count} inputs from index ${values.start}, seed ${seed}, ${workers} workers; findings in ${outDir}`);
const corpus = target !== 'dicom' ? undefined : values.corpus ? loadCorpus(values.corpus) : await makeCorpus();
if (corpus) saveCorpus(corpus, join(outDir, 'bases'));
const { stats, seconds } = await runFuzz({
  target, seed, count, start: Number(values.start), workers, outDir, hangMs: Number(values['hang-ms']),
  ...(values.seconds ? { maxSeconds: Number(values.seconds) } : {}),
  ...(corpus ? { corpus } : {}),
  onProgress: (s, t) => console.log(`  ${t.toFixed(0)} s: ${s.inputs} inputs (${(s.inputs / t).toFixed(0)}/s), escapes ${s.escapes}, hangs ${s.hangs}, failures ${s.failures}, genuine non-authentic ${s.genuineNonAuthentic}`),
});
const text = summarize(stats, seconds);
console.log(text);
writeFileSync(join(outDir, 'summary.txt'), `fuzz ${target} seed ${seed} count ${count} workers ${workers}${values.seconds ? ` seconds ${values.seconds}` : ''}\n${text}\n`);
writeFileSync(join(outDir, 'summary.json'), JSON.stringify({ target, seed, count, workers, seconds, stats }, null, 1));
process.exit(stats.escapes || stats.hangs || stats.failures ? 1 : 0);
