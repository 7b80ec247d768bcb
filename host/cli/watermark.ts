// `radseal watermark keygen | embed | detect`: the options; the file I/O is in
// watermark-actions.ts and the work in host/watermark. Exit codes: 0 present (or success),
// 1 absent, 2 usage or I/O error.
import type { Command } from 'commander';
import type { DetectOptions, EmbedOptions } from './watermark-actions.js';

export function register(program: Command): void {
  const wm = program.command('watermark').description('keyed spread-spectrum watermark: keygen, embed, detect');

  wm.command('keygen')
    .description('create a 256-bit site watermark key (file mode 0600; never overwrites)')
    .requiredOption('--out <file>', 'key file to create')
    .action(async (o: { out: string }) => (await import('./watermark-actions.js')).keygen(o));

  wm.command('embed')
    .description('embed the mark; IN is 16-bit/8-bit grayscale PNG, DICOM (native pixel data, first frame) or raw uint16 LE (with --rows/--cols); OUT is PNG, or raw uint16 LE when IN is raw or OUT ends in .raw (DICOM is re-written by `radseal seal`, not here)')
    .requiredOption('--key <file>', 'watermark key (32 bytes, mode 0600)')
    .requiredOption('--payload <hex>', 'payload, up to 8 bytes as hex')
    .requiredOption('--in <file>', 'input image')
    .requiredOption('--out <file>', 'output image')
    .option('--rows <n>', 'rows (raw input)')
    .option('--cols <n>', 'columns (raw input)')
    .option('--bits-stored <n>', 'bits stored (10-16; default from the file)')
    .option('--psnr <dB>', 'PSNR target at the stored depth (>= 58; default 59, or 58 for a frame whose payload would not read back at 59)')
    .action(async (o: EmbedOptions) => (await import('./watermark-actions.js')).embed(o));

  wm.command('detect')
    .description('detect the mark in a PNG, JPEG, DICOM (native pixel data) or raw uint16 image; exit 0 present, 1 absent')
    .requiredOption('--key <file>', 'watermark key')
    .requiredOption('--in <file>', 'image to test')
    .option('--rows <n>', 'rows (raw input)')
    .option('--cols <n>', 'columns (raw input)')
    .option('--bits-stored <n>', 'bits stored')
    .option('--no-sync', 'do not search crop offsets and scales')
    .option('--no-rotation', 'do not try the rotation search (by default, when the mark is not found as given, flipped, cropped or rescaled, a rotation of up to ±6° is estimated and the frame turned back; the false-positive bound covers it)')
    .option('--rotation', 'accepted for compatibility: the rotation search is on by default')
    .option('--search-budget <ms>', 'time budget for the flip, crop/scale and rotation searches (a search starts only while it lasts; default 10000)')
    .option('--expected-payload <hex>', 'payload the frame should carry (checked with the fragile layer when the robust decoder cannot read it)')
    .option('--json', 'print JSON')
    .action(async (o: DetectOptions) => (await import('./watermark-actions.js')).detect(o));
}
