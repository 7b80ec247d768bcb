// A real syslog repository for tests: Debian rsyslogd with imtcp over TLS (gtls driver, mutual
// TLS: x509/certvalid) and imudp, started on loopback, writing every message it receives to
// received.log (%rawmsg%, one per line). Run the tests inside a private network namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface Rsyslog {
  tcpPort: number;
  udpPort: number;
  received: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  lines(): string[];
}

export const waitFor = async (what: string, cond: () => boolean, ms = 15000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const tcpOpen = (port: number) => new Promise<boolean>((res) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => {
    s.destroy();
    res(true);
  });
  s.once('error', () => res(false));
});

/** dir must hold CA.pem, NAME.pem and NAME.key (the repository's server certificate, SAN IP:127.0.0.1). */
export function rsyslog(dir: string, o: { ca: string; cert: string; key: string; tcpPort?: number; udpPort?: number }): Rsyslog {
  const work = join(dir, 'rsyslog-work');
  mkdirSync(work, { recursive: true });
  const received = join(dir, 'received.log');
  const tcpPort = o.tcpPort ?? 6514;
  const udpPort = o.udpPort ?? 5514;
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(conf, `global(workDirectory="${work}" maxMessageSize="64k"
  DefaultNetstreamDriverCAFile="${join(dir, o.ca)}" DefaultNetstreamDriverCertFile="${join(dir, o.cert)}" DefaultNetstreamDriverKeyFile="${join(dir, o.key)}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" port="${tcpPort}" address="127.0.0.1")
module(load="imudp")
input(type="imudp" port="${udpPort}" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\\n")
action(type="omfile" file="${received}" template="raw")
`);
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  return {
    tcpPort, udpPort, received,
    async start() {
      // stderr kept, not shown: the readiness probe below is a plain TCP connect, which gtls reports as a failed handshake.
      proc = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslog.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
      const p = proc;
      let stderr = '';
      p.stderr!.on('data', (d) => (stderr += d));
      exited = new Promise((res) => p.once('exit', () => res()));
      const end = Date.now() + 15000;
      while (!(await tcpOpen(tcpPort))) {
        if (p.exitCode !== null) throw new Error(`rsyslogd exited with ${p.exitCode}: ${stderr}`);
        if (Date.now() > end) throw new Error(`rsyslogd did not start listening: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (!proc || proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await exited;
      proc = null;
    },
    lines() {
      return existsSync(received) ? readFileSync(received, 'utf8').split('\n').filter(Boolean) : [];
    },
  };
}

/** Spool sequence numbers of the radseal messages in received lines (in arrival order). */
export const spoolSeqs = (lines: string[]) => lines.map((l) => /\[radseal@32473 spool="(\d+)"\]/.exec(l)).filter((m) => m).map((m) => Number(m![1]));
