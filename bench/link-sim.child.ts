// Child process for bench/link.bench.ts: the simulator on its own core, like a real detector.
import { loadBoard, withOverrides } from '../host/boards/board.js';
import { runSimulator } from '../host/sim/sim.js';
const [patch, frames, port] = process.argv.slice(2);
const b = withOverrides(loadBoard('sim-pty'), JSON.parse(patch));
const rep = await runSimulator(b, { frames: Number(frames), port, startSerial: 1, distinctFrames: 2 });
process.stdout.write(JSON.stringify({ elapsedMs: rep.elapsedMs, payloadBytes: rep.payloadBytes, failed: rep.failed.length }) + '\n');
