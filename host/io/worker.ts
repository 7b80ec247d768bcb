// A worker thread for a module that runs as built JavaScript (the CLI) or as TypeScript under tsx
// (tests, benchmarks). A thread does not inherit the main thread's loader, so under tsx a small
// bootstrap registers tsx's ES module and CommonJS hooks first (both: modules that load on use do
// so through require()), then imports the worker module.
import { statSync } from 'node:fs';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Which module of worker `name` to run beside the caller: under tsx the TypeScript (`name`); built,
 * its bundle (`name.bundle`, scripts/bundle-cli.mjs: the worker and what it imports in one file,
 * which a worker loads in about half the time) when there is one at least as new as the module tsc
 * wrote, else that module (a bundle older than the last tsc run would run old code).
 */
export function workerModule(callerUrl: string, name: string): string {
  if (callerUrl.endsWith('.ts')) return name;
  try {
    const built = statSync(new URL(`./${name}.js`, callerUrl)).mtimeMs;
    return statSync(new URL(`./${name}.bundle.js`, callerUrl)).mtimeMs >= built ? `${name}.bundle` : name;
  } catch {
    return name;
  }
}

/**
 * Start the worker module `name` (no extension) that sits beside the caller whose
 * import.meta.url is `callerUrl`: name.ts when the caller is TypeScript, name.js (or its bundle,
 * workerModule) when built.
 */
export function startWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${workerModule(callerUrl, name)}.js`, callerUrl), options);
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `Promise.all([import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}), import(${JSON.stringify(import.meta.resolve('tsx/cjs/api'))})])
    .then(([esm, cjs]) => { esm.register(); cjs.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
