// radseal viewer: OHIF Viewer behind radseal's same-origin front end (host/web/viewer). Argument
// parsing and wiring only; the work is loaded when the command runs.
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { hostPort } from './args.js';
import { withVerifyOptions, type VerifyOptionValues } from './verify-options.js';

const defaultCache = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'radseal');

export function register(program: Command): void {
  withVerifyOptions(program.command('viewer')
    .description('serve the OHIF Viewer (@ohif/app, pinned) with each image\'s provenance verdict as a viewport overlay, DICOMweb proxied to the PACS')
    .requiredOption('--pacs <url>', 'DICOMweb root of the PACS, e.g. http://127.0.0.1:8042/dicom-web')
    .requiredOption('--listen <host:port>', 'address of the viewer, e.g. 127.0.0.1:8451')
    .option('--ohif-dir <dir>', 'an unpacked OHIF dist/ folder to serve instead of the pinned release')
    .option('--cache <dir>', 'where the pinned OHIF release is kept once fetched (default ~/.cache/radseal)')
    .option('--allow-remote', 'listen beyond loopback: the viewer shows PACS images to whoever reaches it, so only behind the site\'s authenticating proxy'))
    .action(async (o: VerifyOptionValues & { pacs: string; listen: string; ohifDir?: string; cache?: string; allowRemote?: boolean }) => {
      const [{ startViewer }, { ensureOhif, OHIF_PACKAGE, OHIF_VERSION }, { verifySettings }, { isLoopback }] = await Promise.all([
        import('../web/viewer/server.js'), import('../web/viewer/ohif-package.js'), import('./verify-settings.js'), import('../ingest/service.js'),
      ]);
      const { host, port } = hostPort(o.listen);
      if (!isLoopback(host) && !o.allowRemote) throw new Error(`the viewer listens on loopback unless --allow-remote is given (it serves PACS images without a sign-in of its own; asked for ${host})`);
      if (!/^https?:\/\//i.test(o.pacs)) throw new Error(`--pacs must be an http(s):// DICOMweb root, got "${o.pacs}"`);
      const settings = verifySettings(o);
      const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
      const ohifDir = o.ohifDir ?? await ensureOhif(o.cache ?? defaultCache(), log);
      const viewer = await startViewer({ host, port, pacs: o.pacs, ohifDir, trust: settings.trust, verify: { policy: settings.policy, watermarkKey: settings.watermarkKey }, log });
      console.log(`radseal viewer: ${viewer.url} (OHIF ${o.ohifDir ? `from ${o.ohifDir}` : `${OHIF_PACKAGE}@${OHIF_VERSION}`}; PACS ${o.pacs})`);
      await new Promise<void>((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
      await viewer.close();
    });
}
