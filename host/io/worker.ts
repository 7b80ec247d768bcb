// A worker thread for a module that runs as built JavaScript (the CLI) or as TypeScript under tsx
// (tests, benchmarks). A thread does not inherit the main thread's loader, so under tsx a small
// bootstrap registers tsx's ES module and CommonJS hooks first (both: modules that load on use do
// so through require()), then imports the worker module.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Start the worker module `name` (no extension) that sits beside the caller whose
 * import.meta.url is `callerUrl`: name.ts when the caller is TypeScript, name.js when built.
 */
export function startWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `Promise.all([import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}), import(${JSON.stringify(import.meta.resolve('tsx/cjs/api'))})])
    .then(([esm, cjs]) => { esm.register(); cjs.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
