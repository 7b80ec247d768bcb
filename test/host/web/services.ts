// The built radseal CLI as a service inside a test's network namespace (beside Orthanc), stopped
// when the test ends; waits until it prints its address.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface CliService {
  output(): string;
  stop(): Promise<void>;
}

export async function startCliInNs(t: { after(fn: () => Promise<void> | void): void }, ns: string, args: string[], ready: RegExp, timeoutMs = 30000): Promise<CliService> {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, join(ROOT, 'bin', 'radseal.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  t.after(stop);
  const end = Date.now() + timeoutMs;
  while (!ready.test(out)) {
    if (proc.exitCode !== null) throw new Error(`radseal ${args[0]} exited (${proc.exitCode}):\n${out}`);
    if (Date.now() > end) throw new Error(`radseal ${args[0]} did not start within ${timeoutMs} ms:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { output: () => out, stop };
}
