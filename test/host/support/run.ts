// Shared test plumbing: run the built CLI and real tools, make temp folders.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after } from 'node:test';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const SHARED_RADIOGRAPHS = resolve(ROOT, '..', 'shared', 'data', 'radiographs');
/** Debian's Python, where python3-pydicom lives (a pyenv python3 may shadow it on PATH). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, input: opts.input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The compiled CLI, as a user runs it (`npm run build` first; test/run.sh does). */
export function radseal(...args: string[]): Run {
  const main = join(ROOT, 'dist', 'host', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error('CLI not built: run `npm run build` (test/run.sh does it)');
  return run(process.execPath, [join(ROOT, 'bin', 'radseal.js'), ...args]);
}

export interface RunningCli {
  proc: ChildProcess;
  /** Resolves at exit; `out` is stdout and stderr as they interleaved; code -1 when a signal ended it. */
  done: Promise<Run & { out: string }>;
  /** What it has printed so far (stdout and stderr). */
  output(): string;
}

/**
 * The compiled CLI in the background: a service the test stops itself, or a client fed `input` on
 * stdin. Pushed onto `children` when given; killed (SIGKILL) after the test file if still running.
 */
export function startRadseal(args: string[], opts: { input?: string; children?: ChildProcess[] } = {}): RunningCli {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'radseal.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  opts.children?.push(proc);
  after(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let stdout = '', stderr = '', out = '';
  proc.stdout!.on('data', (d) => { stdout += d; out += d; });
  proc.stderr!.on('data', (d) => { stderr += d; out += d; });
  proc.stdin!.end(opts.input ?? '');
  return { proc, output: () => out, done: new Promise((res) => proc.once('exit', (code) => res({ code: code ?? -1, stdout, stderr, out }))) };
}

/** JSON Lines output (`--json` of verify and other batch commands): one parsed value per line. */
export function jsonLines<T = unknown>(text: string): T[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

/** A temp folder removed after the test file finishes. */
export function tempDir(prefix = 'radseal-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
