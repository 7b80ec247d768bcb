// The demo's in-process link: the real capture service listening on
// 127.0.0.1 (an ephemeral port) and the real device side of the link protocol
// sending each frame to it. Frames cross a TCP socket in CRC-checked chunks,
// are hashed in the core as they arrive, sealed, written durably to the
// outbox, and only then ACKed — the path a detector's frames take.
import { loadBoard, withOverrides } from '../boards/board.js';
import { CaptureService } from '../capture/service.js';
import { LinkDevice } from '../link/device.js';
import { connectTcp } from '../link/transport.js';
import type { DeviceIdentity } from '../seal/seal.js';
import type { GrayImage } from '../image/png.js';
import type { OutboxEntry } from '../net/outbox.js';

export interface CapturedFrame {
  name: string;
  entry: OutboxEntry;
}

export async function captureOverLoopback(
  frames: Array<{ name: string; image: GrayImage }>,
  device: DeviceIdentity,
  outboxDir: string,
  watermarkKey: Uint8Array,
  log: (s: string) => void,
): Promise<CapturedFrame[]> {
  const rows = Math.max(...frames.map((f) => f.image.rows));
  const cols = Math.max(...frames.map((f) => f.image.cols));
  // The TCP bridge board, on loopback and an ephemeral port, sized to the largest demo frame.
  const board = withOverrides(loadBoard('gige-tcp-bridge'), {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } },
    detector: { deviceId: device.deviceId, rows, cols },
  });
  const service = new CaptureService({ board, device, outboxDir, watermarkKey });
  const sealed = new Map<number, OutboxEntry>();
  service.on('sealed', (e: { entry: OutboxEntry; serial: number }) => sealed.set(e.serial, e.entry));
  await service.start();
  const port = service.connector.boundPort;
  if (port === null) throw new Error('demo: capture service did not bind a port');
  log(`link: capture service listening on 127.0.0.1:${port} (board ${board.id}, link protocol over TCP)`);

  const l = board.link;
  const detector = new LinkDevice({
    deviceId: device.deviceId, chunkBytes: l.chunkBytes, framesInFlight: 1,
    ackTimeoutMs: l.ackTimeoutMs, maxAckTimeoutMs: l.maxAckTimeoutMs, maxRetries: l.maxRetries,
  });
  const out: CapturedFrame[] = [];
  try {
    detector.attach(await connectTcp('127.0.0.1', port));
    // Serials from the millisecond clock (uint32), so a later demo run never reuses one the
    // outbox has sealed: the capture service would rightly take it for a resent frame.
    let serial = (Date.now() >>> 0) & 0x7fffffff;
    for (const { name, image } of frames) {
      serial++;
      const data = new Uint8Array(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
      const t0 = performance.now();
      const { duplicate } = await detector.send({ serial, rows: image.rows, cols: image.cols, bitsStored: image.bitsStored, data });
      const entry = sealed.get(serial);
      if (!entry) throw new Error(`demo: frame ${serial} was ACKed ${duplicate ? 'as one the outbox had already sealed' : ''} but no new sealed object was reported`);
      log(`link: ${name} (${image.rows}x${image.cols}, ${image.bitsStored} bits) sent as frame ${serial}, ACKed durable after ${(performance.now() - t0).toFixed(0)} ms → ${entry.path}`);
      out.push({ name, entry });
    }
  } finally {
    detector.close();
    await service.stop();
  }
  return out;
}
