// radseal command line: argument parsing and wiring only. Every command module keeps its
// top-level imports light (commander and its option definitions) and loads its work when it
// runs, so `radseal --help` or one command never pays for all the others.
import { Command, CommanderError } from 'commander';
import { register as registerWatermark } from './watermark.js';
import { register as registerLink } from './link.js';
import { register as registerIngest } from './ingest.js';
import { register as registerPki } from './pki.js';
import { register as registerReconcile } from './reconcile.js';
import { register as registerTech } from './tech.js';
import { register as registerDoctor } from './doctor.js';
import { register as registerWorklist } from './worklist.js';
import { register as registerProxy } from './proxy.js';
import { register as registerDesk } from './desk.js';
import { register as registerViewer } from './viewer.js';
import { register as registerAnomalies } from './anomalies.js';
import { register as registerKeygen } from './keygen.js';
import { register as registerSeal } from './seal.js';
import { register as registerVerify } from './verify.js';
import { register as registerDemo } from './demo.js';
import { register as registerArchive } from './archive.js';
import { useStationConfig } from '../config/command-defaults.js';

export function buildProgram(): Command {
  const program = new Command('radseal')
    .description('Seal X-ray frames at capture (hash, sign, DICOM) and verify them at PACS ingest')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride(); // before subcommands are added, so they inherit it: usage errors exit 2, not 1
  useStationConfig(program); // the station config file supplies every command's option defaults

  registerKeygen(program);

  registerSeal(program);
  registerVerify(program);
  registerDemo(program);
  registerWatermark(program);
  registerLink(program);
  registerIngest(program);
  registerPki(program);
  registerReconcile(program);
  registerTech(program);
  registerDoctor(program);
  registerWorklist(program);
  registerProxy(program);
  registerDesk(program);
  registerViewer(program);
  registerAnomalies(program);
  registerArchive(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    // Expected failures get one clear line; keys and secrets never appear in these messages.
    const message = err instanceof Error ? err.message : String(err);
    console.error(`radseal: ${message}`);
    if (process.env.RADSEAL_DEBUG && err instanceof Error) console.error(err.stack);
    return 2;
  }
}

process.exitCode = await main(process.argv);
