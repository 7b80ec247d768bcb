// Delivery of the spool to the Audit Record Repository, in order, one connection at a time:
// syslog over TLS (RFC 5425: octet-counted frames, mutual TLS with the site's certificates) or
// over UDP (RFC 5426: one message per datagram).
//
// TLS syslog has no acknowledgements. A message counts as delivered once it has been written
// on a connection that then stayed up for CONFIRM_MS, or that the repository closed in order
// after we ended it (its TLS close comes after it read everything before it). When a
// connection fails, whatever was written on it and not yet confirmed is sent again on the next
// one: delivery is at least once, and a repeat is recognisable by its spool sequence number
// (structured data radseal@32473 spool="N"). UDP has neither acknowledgements nor
// retransmission: a datagram sent counts as delivered (an ICMP "port unreachable" seen on the
// connected socket stops the sending and the message is tried again later).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import tls from 'node:tls';
import { clientTlsOptions, type DicomTls } from '../net/tls.js';
import type { AuditSpool } from './spool.js';
import { Nap } from '../io/nap.js';

export type SyslogTarget =
  | { protocol: 'tls'; host: string; port: number; tls: DicomTls }
  | { protocol: 'udp'; host: string; port: number };

const CONFIRM_MS = 1500;
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

export interface SenderStats {
  /** Messages written to a connection or datagram socket (a resent one counts again). */
  written: number;
  delivered: number;
  resent: number;
  connects: number;
  lastError: string | null;
}

/** Parses tls://HOST:PORT or udp://HOST:PORT ([v6]:port too). */
export function parseSyslogUrl(url: string): { protocol: 'tls' | 'udp'; host: string; port: number } {
  const m = /^(tls|udp):\/\/(?:\[([^\]]+)\]|([^:/]+)):(\d{1,5})\/?$/i.exec(url.trim());
  if (!m) throw new Error(`--audit-syslog must be tls://HOST:PORT (RFC 5425, e.g. tls://arr.example:6514) or udp://HOST:PORT (RFC 5426), got "${url}"`);
  const port = Number(m[4]);
  if (port < 1 || port > 65535) throw new Error(`--audit-syslog: port ${port} out of range`);
  return { protocol: m[1]!.toLowerCase() as 'tls' | 'udp', host: (m[2] ?? m[3])!, port };
}

export class SpoolSender {
  readonly stats: SenderStats = { written: 0, delivered: 0, resent: 0, connects: 0, lastError: null };
  private running = false;
  private readonly nap = new Nap();
  private loop: Promise<void> | null = null;
  private socket: tls.TLSSocket | null = null;
  private udp: UdpSocket | null = null;
  /** How many of the spool's oldest messages were written on the current connection; and when. */
  private writtenAt: number[] = [];
  private highestSeqWritten = 0;

  constructor(private readonly spool: AuditSpool, private readonly target: SyslogTarget, private readonly log: (m: string) => void = () => {}) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New messages are in the spool. */
  kick(): void {
    this.nap.wake();
  }

  /**
   * Stops: waits up to `flushMs` for the spool to drain (a TLS connection is ended in order,
   * which confirms what was written on it); what is left stays spooled for the next start.
   */
  async stop(flushMs = 3000): Promise<void> {
    const deadline = Date.now() + flushMs;
    while (this.spool.pending > this.writtenAt.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.running = false;
    this.nap.wake();
    await this.loop;
    await this.closeConnection(true);
  }

  private confirm(olderThan: number): void {
    let n = 0;
    while (n < this.writtenAt.length && this.writtenAt[n]! <= olderThan) n++;
    if (!n) return;
    this.writtenAt.splice(0, n);
    this.spool.markDelivered(n);
    this.stats.delivered += n;
  }

  private connectTls(t: Extract<SyslogTarget, { protocol: 'tls' }>): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: t.host, port: t.port, ...clientTlsOptions(t.tls, t.host) });
      const fail = (e: Error) => {
        s.destroy();
        reject(e);
      };
      s.once('error', fail);
      s.setTimeout(10_000, () => fail(new Error('TLS handshake timed out')));
      s.once('secureConnect', () => {
        s.off('error', fail);
        s.setTimeout(0);
        s.setNoDelay(true);
        resolve(s);
      });
    });
  }

  private connectUdp(t: Extract<SyslogTarget, { protocol: 'udp' }>): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      const s = createSocket(t.host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.connect(t.port, t.host, () => {
        s.off('error', reject);
        resolve(s);
      });
    });
  }

  /** Ends the connection; `orderly`: a clean TLS close confirms everything written on it. */
  private async closeConnection(orderly: boolean): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) {
      if (orderly && !s.destroyed) {
        const closedCleanly = await new Promise<boolean>((res) => {
          const timer = setTimeout(() => res(false), 3000);
          s.once('close', (hadError) => {
            clearTimeout(timer);
            res(!hadError);
          });
          s.once('error', () => undefined);
          s.end();
        });
        if (closedCleanly) this.confirm(Infinity);
      }
      s.destroy();
    }
    if (this.udp) {
      this.udp.close();
      this.udp = null;
    }
    this.forgetUnconfirmed();
  }

  /** What was written on a lost connection and not confirmed goes again on the next one. */
  private forgetUnconfirmed(): void {
    this.writtenAt = [];
  }

  private async run(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    let lost: Error | null = null;
    while (this.running) {
      try {
        if (this.target.protocol === 'tls' && !this.socket) {
          if (this.spool.pending === 0) {
            await this.nap.sleep(1000);
            continue;
          }
          this.socket = await this.connectTls(this.target);
          this.stats.connects++;
          lost = null;
          const s = this.socket;
          s.on('error', (e) => {
            lost = e;
          });
          s.on('close', () => {
            lost ??= new Error('the repository closed the connection');
            this.nap.wake();
          });
          s.on('data', () => undefined); // a syslog receiver sends nothing; read to keep the socket flowing
          this.log(`audit: connected to tls://${this.target.host}:${this.target.port}${this.spool.pending ? `, ${this.spool.pending} message(s) spooled` : ''}`);
        } else if (this.target.protocol === 'udp' && !this.udp) {
          this.udp = await this.connectUdp(this.target);
          this.stats.connects++;
        }
        backoff = MIN_BACKOFF_MS;
        if (lost) throw lost;
        this.confirm(Date.now() - CONFIRM_MS);
        const next = this.spool.frame(this.writtenAt.length);
        if (!next) {
          await this.nap.sleep(this.writtenAt.length ? 200 : 1000);
          continue;
        }
        if (this.socket) {
          const ok = this.socket.write(next.frame);
          if (!ok) await drained(this.socket);
          this.writtenAt.push(Date.now());
        } else if (this.udp) {
          // The datagram is the message itself: strip the octet count the spool keeps.
          const body = next.frame.subarray(next.frame.indexOf(0x20) + 1);
          await new Promise<void>((res, rej) => this.udp!.send(body, (e) => (e ? rej(e) : res())));
          this.writtenAt.push(0);
          this.confirm(0);
        }
        if (next.seq <= this.highestSeqWritten) this.stats.resent++;
        this.highestSeqWritten = Math.max(this.highestSeqWritten, next.seq);
        this.stats.written++;
      } catch (e) {
        const err = e as Error;
        if (this.stats.lastError !== err.message) this.log(`audit: repository ${this.target.protocol}://${this.target.host}:${this.target.port} unavailable (${err.message}); ${this.spool.pending} message(s) kept in the spool, retrying`);
        this.stats.lastError = err.message;
        lost = null;
        await this.closeConnection(false);
        if (!this.running) break;
        await this.nap.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }
}

/** Resolves when the socket can take more, or is gone. */
function drained(s: tls.TLSSocket): Promise<void> {
  return new Promise((res) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      res();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
