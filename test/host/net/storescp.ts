// Starts DCMTK storescp for a test and always stops it. storescp 3.6.7 has no
// bind-address option: it listens on every interface, on a random high port,
// for the few seconds a test runs; the SCU connects to 127.0.0.1 only.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdirSync } from 'node:fs';

export async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

export interface StoreScp {
  proc: ChildProcess;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * `extra`: more storescp options, e.g. TLS (`+tls KEY CERT +cf CA`). `bitPreserving` false drops
 * +B, which storescp does not allow with some options (sorting into study folders, -ss).
 */
export async function startStoreScp(dir: string, port: number, aet = 'PACS', extra: string[] = [], bitPreserving = true): Promise<StoreScp> {
  mkdirSync(dir, { recursive: true });
  // +B: write data exactly as received, so the test can compare bytes.
  const proc = spawn('storescp', [...(bitPreserving ? ['+B'] : []), '-aet', aet, ...extra, '-od', dir, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  // Wait until it accepts connections.
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`storescp exited: ${err}`);
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    // Something answered: make sure it is our storescp and not another test's listener that
    // took the port first (storescp 3.6.7 exits when it cannot bind).
    if (ok) {
      await new Promise((r) => setTimeout(r, 50));
      if (proc.exitCode !== null) throw new Error(`storescp exited (port ${port} taken?): ${err}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (proc.exitCode !== null) throw new Error(`storescp exited: ${err}`);
  return {
    proc, port, dir,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
