// The detector simulator: the device side of the link, sending realistic
// frames with optional fault injection. `radseal sim` is a thin CLI over runSimulator().
import { createHash } from 'node:crypto';
import type { Board } from '../boards/board.js';
import { LinkDevice, chunkCrcs } from '../link/device.js';
import { Connector, type LinkEndpointSettings } from '../link/transport.js';
import { baseFor, exposeFrame } from './frames.js';
import { FaultInjector, parseFaults } from './faults.js';
import { spawnPtyPair, type PtyPair } from './pty.js';

export interface SimOptions {
  frames: number;
  faults?: string;
  /** First frame serial; default is time-based so separate runs never reuse serials. */
  startSerial?: number;
  /** Distinct exposures generated and cycled (generation costs ~0.25 s per 3072² frame). */
  distinctFrames?: number;
  /** Overrides the device-side port (serial path) or TCP endpoint. */
  port?: string;
  log?: (m: string) => void;
  /** Called with each frame's serial and SHA-256 (hex) as it is queued. */
  onQueued?: (serial: number, sha256hex: string) => void;
  signal?: AbortSignal;
}

export interface SimReport {
  framesAcked: number;
  duplicatesAcked: number;
  failed: Array<{ serial: number; error: string }>;
  sent: Array<{ serial: number; sha256: string }>;
  elapsedMs: number;
  /** CPU (user + system, whole process) used while sending, from the first frame queued. */
  cpuMs: number;
  payloadBytes: number;
  device: LinkDevice['stats'];
  faults: FaultInjector['counters'];
  frameSource: string;
}

export function deviceEndpoint(board: Board, port?: string): LinkEndpointSettings {
  const l = board.link;
  if (l.transport === 'tcp') {
    const t = l.tcp!;
    if (port) {
      const m = /^(.*):(\d+)$/.exec(port);
      if (!m) throw new Error(`sim: --port for a TCP board is HOST:PORT, got ${port}`);
      return { transport: 'tcp', host: m[1], port: Number(m[2]), role: t.captureRole === 'listen' ? 'connect' : 'listen' };
    }
    return { transport: 'tcp', host: t.host, port: t.port, role: t.captureRole === 'listen' ? 'connect' : 'listen' };
  }
  const path = port ?? l.serial!.devicePath;
  if (!path) throw new Error(`sim: board ${board.id} has no link.serial.devicePath; give the device-side port with --port`);
  return { transport: 'serial', path, baudRate: l.serial!.baudRate };
}

export async function runSimulator(board: Board, o: SimOptions): Promise<SimReport> {
  const log = o.log ?? (() => {});
  const d = board.detector;
  const spec = parseFaults(o.faults);
  let pty: PtyPair | null = null;
  const endpoint = deviceEndpoint(board, o.port);
  const ownPty = board.link.transport === 'pty' && !o.port;
  if (ownPty) {
    pty = await spawnPtyPair(board.link.serial!.path, board.link.serial!.devicePath!);
    log(`sim: pty pair ${pty.hostPath} <-> ${pty.devicePath}`);
  }
  const connector = new Connector(endpoint, { minDelayMs: 50, maxDelayMs: 1000, log });
  const device = new LinkDevice({
    deviceId: d.deviceId, chunkBytes: board.link.chunkBytes, framesInFlight: board.link.framesInFlight,
    ackTimeoutMs: board.link.ackTimeoutMs, maxAckTimeoutMs: board.link.maxAckTimeoutMs, maxRetries: board.link.maxRetries,
    bytesPerSec: board.link.deviceBytesPerSec, log,
  });
  const faults = new FaultInjector(spec, {
    onStall: (ms) => {
      log(`sim: fault: stalling ${ms} ms`);
      device.pause(ms);
    },
    onDisconnect: () => {
      log('sim: fault: disconnecting');
      connector.drop();
    },
  });
  if (faults.active) {
    device.writer = faults.writer;
    device.rxFilter = (b) => faults.corruptRx(b);
    log(`sim: faults ${JSON.stringify(spec)}`);
  }
  connector.on('up', (t) => device.attach(t));
  // Aborting gives up the frames still unACKed (their promises reject) so the run ends now.
  const onAbort = () => device.close();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  // A pty pair dies with its socat (like a USB device unplugged); bring it back.
  let stopping = false;
  const watchPty = () => {
    pty?.proc.once('exit', async () => {
      if (stopping || !ownPty) return;
      log('sim: socat exited; recreating the pty pair');
      pty = await spawnPtyPair(board.link.serial!.path, board.link.serial!.devicePath!);
      watchPty();
    });
  };
  watchPty();
  await connector.start();

  const base = baseFor(d.rows, d.cols);
  const distinct = Math.max(1, Math.min(o.distinctFrames ?? 4, o.frames));
  // Exposures are made before the clock starts: a detector has the frame in memory before it
  // sends, and generating one (~0.3 s for 3072²) must not count as link time. Its SHA-256 and
  // per-chunk CRC-32Cs too: a detector's readout computes them as the frame is read out.
  const pool: Array<{ data: Uint8Array; sha: string; digest: Uint8Array; crcs: Uint32Array }> = [];
  const start = o.startSerial ?? Math.floor(Date.now() / 100) % 2 ** 32;
  for (let n = 0; n < distinct; n++) {
    const data = exposeFrame(base, d.bitsStored, start + n + 1);
    const digest = new Uint8Array(createHash('sha256').update(data).digest());
    pool.push({ data, sha: Buffer.from(digest).toString('hex'), digest, crcs: chunkCrcs(data, board.link.chunkBytes) });
  }
  const report: SimReport = {
    framesAcked: 0, duplicatesAcked: 0, failed: [], sent: [], elapsedMs: 0, cpuMs: 0, payloadBytes: 0, device: device.stats, faults: faults.counters, frameSource: base.source,
  };
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  try {
    for (let n = 0; n < o.frames; n++) {
      if (o.signal?.aborted) break;
      const fr = pool[n % distinct];
      const serial = (start + n) >>> 0;
      await device.room();
      faults.planFrame(serial, Math.ceil(fr.data.length / board.link.chunkBytes));
      report.sent.push({ serial, sha256: fr.sha });
      o.onQueued?.(serial, fr.sha);
      report.payloadBytes += fr.data.length;
      pending.push(
        device.send({ serial, rows: d.rows, cols: d.cols, bitsStored: d.bitsStored, data: fr.data, sha256: fr.digest, chunkCrcs: fr.crcs }).then(
          (r) => {
            report.framesAcked++;
            if (r.duplicate) report.duplicatesAcked++;
            log(`sim: frame #${serial} ACKed${r.duplicate ? ' (duplicate)' : ''}`);
          },
          (e: Error) => {
            report.failed.push({ serial, error: e.message });
            log(`sim: frame #${serial} FAILED: ${e.message}`);
          },
        ),
      );
    }
    await Promise.all(pending);
  } finally {
    report.elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    report.cpuMs = (cpu.user + cpu.system) / 1e3;
    stopping = true;
    o.signal?.removeEventListener('abort', onAbort);
    device.close();
    await connector.stop();
    await pty?.stop();
  }
  return report;
}
