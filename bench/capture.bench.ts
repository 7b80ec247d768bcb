// Capture benchmark (not a test): `npm run bench:capture` (docs/BENCHMARKS.md, Capture frame arena).
// Latency from a 3072x3072 14-bit frame's last byte to a durable sealed object (device ACKed), and
// the capture process's peak RSS, with and without the site watermark. Each run is its own process
// (bench/capture.child.ts) so RSS is per run. BENCH_BASELINE=/path/to/another/radseal/tree (with
// its build/core.wasm and node_modules) runs that tree too, alternating with this one run by run,
// so both see the same machine load. BENCH_REPS runs per tree and mode (default 3), BENCH_FRAMES
// frames per run (default 5).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { machineLine, median } from './support.js';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const FRAMES = Number(process.env.BENCH_FRAMES ?? 5);
const here = join(import.meta.dirname, '..');
const trees = [{ name: 'this tree', root: here }, ...(process.env.BENCH_BASELINE ? [{ name: 'baseline', root: process.env.BENCH_BASELINE }] : [])];

interface Run { lat: number[]; rssBaseMb: number; rssPeakMb: number }
const results = new Map<string, Run[]>();
console.log(`capture benchmark · ${machineLine()} · load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (let r = 0; r < REPS; r++) {
  for (const mode of ['plain', 'wm']) {
    for (const t of r % 2 ? [...trees].reverse() : trees) {
      const c = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'bench', 'capture.child.ts'), t.root, mode, String(FRAMES)], { encoding: 'utf8', cwd: here });
      if (c.status !== 0) throw new Error(`capture bench run (${t.name}, ${mode}) failed: ${c.stderr}`);
      const run = JSON.parse(c.stdout.trim().split('\n').pop()!) as Run;
      const k = `${t.name}|${mode}`;
      results.set(k, [...(results.get(k) ?? []), run]);
      console.log(`  run ${r + 1} ${t.name}, ${mode === 'wm' ? 'watermark' : 'no watermark'}: ${run.lat.map((l) => l.toFixed(0)).join(', ')} ms; RSS ${run.rssBaseMb.toFixed(0)} -> peak ${run.rssPeakMb.toFixed(0)} MiB`);
    }
  }
}
for (const [k, runs] of results) {
  const [name, mode] = k.split('|');
  const lat = runs.flatMap((x) => x.lat);
  console.log(`${name}, ${mode === 'wm' ? 'with' : 'no'} watermark: last byte -> durable sealed object median ${median(lat).toFixed(0)} ms over ${lat.length} frames;` +
    ` peak RSS median ${median(runs.map((x) => x.rssPeakMb)).toFixed(0)} MiB, peak above start median ${median(runs.map((x) => x.rssPeakMb - x.rssBaseMb)).toFixed(0)} MiB`);
}
