// Byte transports behind one interface: a serial port (serialport 13: USB-CDC,
// or a pty from socat) and TCP (node:net). A Connector keeps one transport up,
// reopening with backoff after a disconnect, so the protocol layer above only
// sees "connected(transport)" and "disconnected".
import { EventEmitter } from 'node:events';
import { closeSync, constants as fsc, openSync } from 'node:fs';
import net from 'node:net';
import tty from 'node:tty';
import { SerialPort } from 'serialport';

export interface Transport extends EventEmitter {
  readonly description: string;
  /**
   * Queues bytes; returns false when the caller should wait for 'drain'. The bytes must not be
   * changed until `done` is called (they are written from the caller's buffer).
   */
  write(data: Uint8Array, done?: (err?: Error | null) => void): boolean;
  /** Closes; 'close' is emitted once, whoever closed it. */
  close(): void;
  readonly closed: boolean;
  // events: 'data' (Uint8Array), 'drain', 'close', 'error' (Error)
}

export type LinkEndpointSettings =
  | { transport: 'serial' | 'pty'; path: string; baudRate: number }
  | { transport: 'tcp'; host: string; port: number; role: 'listen' | 'connect' };

class StreamTransport extends EventEmitter implements Transport {
  closed = false;
  constructor(
    readonly description: string,
    private readonly stream: NodeJS.ReadWriteStream & { destroy(): void; write(b: Uint8Array, cb?: (err?: Error | null) => void): boolean },
    private readonly closer: () => void = () => stream.destroy(),
    /** Where bytes come from, when not from `stream` itself (serial ports: see openSerial). */
    readable: NodeJS.ReadableStream = stream,
  ) {
    super();
    readable.on('data', (d: Buffer) => this.emit('data', new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
    if (readable !== stream) {
      // A read error (EIO: the pty's other side or the USB device is gone) or end is a disconnect.
      readable.on('error', (e: Error) => {
        this.emit('error', e);
        this.close();
      });
      readable.on('end', () => this.close());
    }
    stream.on('drain', () => this.emit('drain'));
    stream.on('error', (e: Error) => this.emit('error', e));
    stream.on('close', () => this.markClosed());
    stream.on('end', () => this.markClosed());
  }
  write(data: Uint8Array, done?: (err?: Error | null) => void): boolean {
    if (this.closed) return false;
    return done ? this.stream.write(data, done) : this.stream.write(data);
  }
  close(): void {
    if (this.closed) return;
    this.closer();
    this.markClosed();
  }
  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/**
 * Opens a serial port (USB-CDC, RS-232, a pty). serialport configures the line (raw mode, baud
 * rate, exclusive lock) and writes; reads go through a libuv tty stream on a second descriptor
 * of the same device (docs/LINK.md §6a): a tty hands over at most 4 KiB per read(), and
 * serialport does every read as a thread-pool round trip (~65 µs of main-thread CPU each),
 * while a libuv stream reads on the event loop's own epoll wakeup, several reads per wakeup.
 * RADSEAL_SERIAL_READ=serialport selects serialport's own reads.
 */
export async function openSerial(path: string, baudRate: number): Promise<Transport> {
  // The read descriptor is opened first: serialport's exclusive lock (TIOCEXCL) refuses later opens.
  const viaTty = process.env.RADSEAL_SERIAL_READ !== 'serialport';
  const rfd = viaTty ? openSync(path, fsc.O_RDONLY | fsc.O_NOCTTY | fsc.O_NONBLOCK) : -1;
  const port = new SerialPort({ path, baudRate, autoOpen: false, highWaterMark: 256 * 1024 });
  try {
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  } catch (e) {
    if (rfd >= 0) closeSync(rfd);
    throw e;
  }
  fixSerialPoller(port);
  const reader = viaTty ? new tty.ReadStream(rfd) : null;
  // close() (not destroy()) releases the port's lock, so the same path can be reopened at once.
  const closer = () => {
    reader?.destroy();
    if (port.isOpen) port.close(() => {});
    else port.destroy();
  };
  // serialport reports a vanished device (USB unplug, socat gone) as an error then close; the
  // tty reader as EIO or end.
  return new StreamTransport(`serial ${path}`, port as unknown as ConstructorParameters<typeof StreamTransport>[1], closer, reader ?? undefined);
}

/** uv_poll event bits as @serialport/bindings-cpp uses them. */
const UV_READABLE = 1;
const UV_WRITABLE = 2;

interface SerialPoller {
  poll(flags?: number): void;
  listenerCount(event: string): number;
}

/**
 * Works around a fault in @serialport/bindings-cpp's Unix poller (one uv_poll_t per fd, shared
 * by reads and writes) that stalls a port which reads and writes at once:
 * `Poller::poll(events)` calls `uv_poll_start(handle, events)` with only the *new* events.
 * A read that hits EAGAIN re-arms READABLE alone, silently dropping a pending WRITABLE wait:
 * a writer blocked on a full pty then resumes only when the next byte arrives from the other
 * side. Over the link the device's chunk stream moved only when a CREDIT/STATUS packet came
 * back (the "credit round trip" cost once blamed on the protocol). Fix: every poll() also re-arms whatever events still have a waiter.
 * (Upstream serialport/bindings-cpp#239 describes a second stall, poller events delivered
 * outside a MakeCallback scope; scheduling a setImmediate per event to drain microtasks
 * measured slower here on Node 20, so it is not applied.)
 */
export function fixSerialPoller(port: SerialPort): boolean {
  const poller = (port as unknown as { port?: { poller?: SerialPoller } }).port?.poller;
  if (!poller || typeof poller.poll !== 'function' || typeof poller.listenerCount !== 'function') return false;
  const orig = poller.poll.bind(poller);
  poller.poll = (flags = 0) => {
    if (poller.listenerCount('readable') > 0) flags |= UV_READABLE;
    if (poller.listenerCount('writable') > 0) flags |= UV_WRITABLE;
    orig(flags);
  };
  return true;
}

export async function connectTcp(host: string, port: number): Promise<Transport> {
  const sock = await new Promise<net.Socket>((res, rej) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.off('error', rej);
      res(s);
    });
    s.once('error', rej);
  });
  sock.setNoDelay(true);
  return new StreamTransport(`tcp ${host}:${port}`, sock);
}

export function wrapSocket(sock: net.Socket): Transport {
  sock.setNoDelay(true);
  return new StreamTransport(`tcp ${sock.remoteAddress}:${sock.remotePort}`, sock);
}

export interface ConnectorOptions {
  /** First reconnect delay; doubles up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  log?: (msg: string) => void;
}

/**
 * Keeps one transport open. Emits 'up' (Transport) and 'down' (reason).
 * TCP in 'listen' mode accepts one peer at a time (a new peer replaces the old one).
 */
export class Connector extends EventEmitter {
  private current: Transport | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private server: net.Server | null = null;
  private delay: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly log: (msg: string) => void;

  constructor(readonly settings: LinkEndpointSettings, opts: ConnectorOptions = {}) {
    super();
    this.minDelay = opts.minDelayMs ?? 100;
    this.maxDelay = opts.maxDelayMs ?? 5000;
    this.delay = this.minDelay;
    this.log = opts.log ?? (() => {});
  }

  get transport(): Transport | null {
    return this.current;
  }

  /** For a listening TCP connector: the bound port (useful with port 0). */
  get boundPort(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  async start(): Promise<void> {
    const s = this.settings;
    if (s.transport === 'tcp' && s.role === 'listen') {
      this.server = net.createServer((sock) => {
        if (this.current) {
          this.log(`link: new peer ${sock.remoteAddress}:${sock.remotePort} replaces the previous one`);
          this.current.close();
        }
        this.adopt(wrapSocket(sock));
      });
      await new Promise<void>((res, rej) => {
        this.server!.once('error', rej);
        this.server!.listen(s.port, s.host, () => res());
      });
      this.log(`link: listening on tcp ${s.host}:${this.boundPort}`);
      return;
    }
    this.attempt();
  }

  private attempt(): void {
    if (this.stopped) return;
    const s = this.settings;
    const p = s.transport === 'tcp' ? connectTcp(s.host, s.port) : openSerial(s.path, s.baudRate);
    p.then(
      (t) => {
        if (this.stopped) return t.close();
        this.delay = this.minDelay;
        this.adopt(t);
      },
      (e: Error) => {
        this.emit('retry', e);
        this.log(`link: cannot open ${describe(s)} (${e.message}); retrying in ${this.delay} ms`);
        this.schedule();
      },
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.attempt(), this.delay);
    this.delay = Math.min(this.delay * 2, this.maxDelay);
  }

  private adopt(t: Transport): void {
    this.current = t;
    t.on('error', (e: Error) => this.log(`link: ${t.description}: ${e.message}`));
    t.once('close', () => {
      if (this.current === t) this.current = null;
      this.emit('down', t);
      if (!this.server) this.schedule();
    });
    this.log(`link: connected ${t.description}`);
    this.emit('up', t);
  }

  /** Drops the current transport (a simulated unplug); the connector reconnects. */
  drop(): void {
    this.current?.close();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.current?.close();
    if (this.server) await new Promise<void>((res) => this.server!.close(() => res()));
  }
}

function describe(s: LinkEndpointSettings): string {
  return s.transport === 'tcp' ? `tcp ${s.host}:${s.port}` : `${s.transport} ${s.path}`;
}
