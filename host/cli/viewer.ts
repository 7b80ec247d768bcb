// radseal viewer: OHIF Viewer behind radseal's same-origin front end (host/web/viewer). Argument
// parsing and wiring only; the work is loaded when the command runs.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('viewer')
    .description('serve the OHIF Viewer with each image\'s provenance verdict as a viewport overlay, proxying DICOMweb to the PACS')
    .requiredOption('--pacs <url>', 'DICOMweb root of the PACS, e.g. http://127.0.0.1:8042/dicom-web')
    .requiredOption('--listen <host:port>', 'address of the viewer, e.g. 127.0.0.1:8451')
    .action(async () => {
      throw new Error('radseal viewer is not available yet');
    });
}
