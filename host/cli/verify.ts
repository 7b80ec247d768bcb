// radseal verify: one object, a list of them, or whole folders (DICOM recognised by content),
// verified on all cores. Reports are written as files finish, in the order the files were named
// (folders in sorted order), so two runs over the same tree print the same thing; with a
// terminal on stderr a progress line says how far it is; several files end with a summary line.
// Only commander and the option definitions load at start-up: the action (verify-action.ts, in
// its own bundle when built) loads when it runs.
import { Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { VerifyOptionValues } from './verify-options.js';
import { withVerifyOptions } from './verify-options.js';
import { nonNegativeInt } from './args.js';
import { withAuditSyslogOptions, type AuditSyslogOptionValues } from '../audit/cli-options.js';

export interface VerifyCliOptions extends VerifyOptionValues, AuditSyslogOptionValues {
  json?: boolean;
  workers?: number;
  progress: boolean;
  fullPixelCheck?: boolean;
}

export function register(program: Command): void {
  withAuditSyslogOptions(withVerifyOptions(program.command('verify')
    .description('verify DICOM objects: signatures, trust, capture attestation. Folders are searched recursively; DICOM files are recognised by content ("DICM" at byte 128), not by name. Exit 0: every object authentic; 1: some object is not; 2: some file could not be read, or nothing to verify')
    .argument('<paths...>', 'DICOM files and folders')
    .option('--json', 'print one JSON report per file, one per line (JSON Lines), as files finish')
    .option('--workers <n>', `worker threads for several files (default: the number of cores, ${availableParallelism()} here; 0 verifies in this thread)`, nonNegativeInt('--workers'))
    .option('--full-pixel-check', 'recompute the capture attestation\'s pixel hash and tile table for every object; by default they are recomputed only when a signature fails or cannot prove the pixels (a valid, trusted device signature over Pixel Data and the pixel hash already proves them; the JSON report\'s pixelCheck says which was done)')
    .addOption(new Option('--no-progress', 'no progress line on a terminal'))))
    .action(async (paths: string[], o: VerifyCliOptions) => (await import('./verify-action.js')).verifyAction(paths, o));
}
