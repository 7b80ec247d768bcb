// One capture benchmark run (bench/capture.bench.ts starts it): the capture service of the radseal
// tree at argv[2] over TCP loopback, a simulator sending argv[4] 3072x3072 14-bit frames, the site
// watermark on when argv[3] is "wm". Prints one JSON line: latencies (frame's last byte -> sealed
// object durable + ACK) and this process's RSS before and at its peak (sampled every 5 ms).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, mode, framesArg] = process.argv.slice(2);
const load = (p: string) => import(pathToFileURL(join(root!, p)).href);
const { CaptureService } = await load('host/capture/service.ts');
const { runSimulator } = await load('host/sim/sim.ts');
const { generateDeviceKey } = await load('host/keys/provision.ts');
const { generateWatermarkKey, loadWatermarkKey } = await load('host/keys/watermark-key.ts');
const { loadDeviceIdentity } = await load('host/seal/device.ts');
const { loadBoard, withOverrides } = await load('host/boards/board.ts');

const dir = mkdtempSync(join(tmpdir(), 'radseal-capture-bench-'));
try {
  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'bench');
  let watermarkKey: Uint8Array | undefined;
  if (mode === 'wm') {
    generateWatermarkKey(join(dir, 'wm.key'));
    watermarkKey = loadWatermarkKey(join(dir, 'wm.key'));
  }
  const board = withOverrides(loadBoard('gige-tcp-bridge'), {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } },
    detector: { deviceId: 'SIM-0001', rows: 3072, cols: 3072, bitsStored: 14, pixelSpacingMm: [0.139, 0.139] },
  });
  const svc = new CaptureService({ board, device, outboxDir: join(dir, 'outbox'), watermarkKey });
  const lat: number[] = [];
  svc.on('sealed', (e: { latencyMs: number }) => lat.push(e.latencyMs));
  global.gc?.();
  const rssBase = process.memoryUsage().rss;
  let rssPeak = rssBase;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
  await svc.start();
  try {
    await runSimulator(board, { frames: Number(framesArg ?? 5), startSerial: 1, port: `127.0.0.1:${svc.connector.boundPort}`, distinctFrames: 1 });
  } finally {
    clearInterval(sampler);
    await svc.stop();
  }
  console.log(JSON.stringify({ lat, rssBaseMb: rssBase / 2 ** 20, rssPeakMb: rssPeak / 2 ** 20 }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
