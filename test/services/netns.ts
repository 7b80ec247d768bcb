// A private network namespace holding only loopback, for tests that start real servers (Orthanc
// binds 0.0.0.0 with no option to change that): commands and long-running processes inside it,
// their output gathered with a [name] prefix, and everything torn down by stop().
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((res) => {
    const p = execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    if (input !== undefined) p.stdin!.end(input);
  });
}

export interface Netns {
  ns: string;
  /** Runs a command inside the namespace to its end. */
  inNs(cmd: string, args: string[], input?: string): Promise<Run>;
  /** Starts a long-running process inside the namespace (cwd: the project); stopped by stop(). */
  start(name: string, cmd: string, args: string[]): ChildProcess;
  /** Polls `check` until it holds; fails with the gathered output if `proc` exits or time runs out. */
  waitFor(check: () => Promise<boolean>, what: string, proc: ChildProcess, timeoutMs?: number): Promise<void>;
  /** Everything the started processes printed, each line prefixed with its [name]. */
  logs(): string;
  /** SIGTERM (SIGKILL after 5 s) to every started process, newest first, then the namespace goes. */
  stop(): Promise<void>;
}

export async function openNetns(prefix = 'radseal'): Promise<Netns> {
  const ns = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const add = await exec('ip', ['netns', 'add', ns]);
  if (add.code !== 0) throw new Error(`ip netns add failed (tests that run servers in a namespace need root): ${add.stderr}`);
  await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const procs: ChildProcess[] = [];
  let log = '';
  return {
    ns,
    inNs: (cmd, args, input) => exec('ip', ['netns', 'exec', ns, cmd, ...args], input),
    start(name, cmd, args) {
      const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (d: Buffer) => (log += String(d).replace(/^(?=.)/gm, `[${name}] `));
      p.stdout!.on('data', keep);
      p.stderr!.on('data', keep);
      procs.push(p);
      return p;
    },
    async waitFor(check, what, proc, timeoutMs = 30_000) {
      for (const end = Date.now() + timeoutMs; Date.now() < end;) {
        if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode})\n${log}`);
        if (await check()) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`${what} did not come up within ${timeoutMs} ms\n${log}`);
    },
    logs: () => log,
    async stop() {
      for (const p of [...procs].reverse()) {
        if (p.exitCode !== null || p.signalCode !== null) continue;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      await exec('ip', ['netns', 'del', ns]);
    },
  };
}
