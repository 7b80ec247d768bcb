// The radseal program: every command and its options. Every command module keeps its top-level
// imports light (commander and its option definitions) and loads its work when it runs, so
// `radseal --help` or one command never pays for all the others.
import { Command } from 'commander';
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

/**
 * Every command's register function with the top-level commands it adds, in help order (a test
 * checks the names). A command line naming one of them builds only that one: the others' options
 * cost a few milliseconds of every start.
 */
export const COMMANDS: readonly { names: readonly string[]; register: (program: Command) => void }[] = [
  { names: ['keygen'], register: registerKeygen },
  { names: ['seal'], register: registerSeal },
  { names: ['verify'], register: registerVerify },
  { names: ['demo'], register: registerDemo },
  { names: ['watermark'], register: registerWatermark },
  { names: ['sim', 'capture'], register: registerLink },
  { names: ['ingest', 'verify-service', 'audit', 'report'], register: registerIngest },
  { names: ['pki'], register: registerPki },
  { names: ['reconcile', 'reconcile-service'], register: registerReconcile },
  { names: ['tech'], register: registerTech },
  { names: ['doctor'], register: registerDoctor },
  { names: ['worklist'], register: registerWorklist },
  { names: ['proxy'], register: registerProxy },
  { names: ['desk'], register: registerDesk },
  { names: ['viewer'], register: registerViewer },
  { names: ['anomalies'], register: registerAnomalies },
  { names: ['archive-audit', 'archive-worker', 'archive-report'], register: registerArchive },
];

/** The program with every command, or with only the one named by `command` (anything else: all, for help and suggestions). */
export function buildProgram(command?: string): Command {
  const program = new Command('radseal')
    .description('Seal X-ray frames at capture (hash, sign, DICOM) and verify them at PACS ingest')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride(); // before subcommands are added, so they inherit it: usage errors exit 2, not 1
  const named = COMMANDS.find((c) => command !== undefined && c.names.includes(command));
  // The station config file supplies every command's option defaults; its sections are checked against every command.
  useStationConfig(program, named ? () => buildProgram() : undefined);
  for (const c of named ? [named] : COMMANDS) c.register(program);
  return program;
}
