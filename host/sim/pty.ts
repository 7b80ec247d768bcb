// A pty pair from socat, standing in for a USB-CDC cable between detector and host.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PtyPair {
  hostPath: string;
  devicePath: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B` and waits for both links. */
export async function spawnPtyPair(hostPath: string, devicePath: string, timeoutMs = 5000): Promise<PtyPair> {
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const t0 = Date.now();
  while (!(existsSync(hostPath) && existsSync(devicePath) && stderr.includes('starting data transfer loop'))) {
    if (proc.exitCode !== null) throw new Error(`socat exited (${proc.exitCode}): ${stderr.trim()}`);
    if (Date.now() - t0 > timeoutMs) {
      proc.kill('SIGKILL');
      throw new Error(`socat did not create ${hostPath} and ${devicePath} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    hostPath, devicePath, proc,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}
