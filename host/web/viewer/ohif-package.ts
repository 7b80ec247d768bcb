// The OHIF Viewer radseal serves: the prebuilt `dist/` of the npm package @ohif/app, at one pinned
// version, checked against its pinned registry integrity (SHA-512) before use. It is not a
// dependency in package.json on purpose: the tarball holds the finished web application (about
// 200 MB unpacked), while its dependency list is the toolchain that built it (webpack loaders,
// React sources), which a viewer never needs. Fetched once with the system's npm (`npm pack`,
// the registry the site already uses), unpacked into a cache folder; no fork, no rebuild.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeDirs } from '../../io/dirs.js';

export const OHIF_PACKAGE = '@ohif/app';
export const OHIF_VERSION = '3.13.2';
/** The registry's dist.integrity of @ohif/app 3.13.2. */
export const OHIF_INTEGRITY = 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';

// Under `npm run`/`npm test`, node_modules/.bin leads PATH, and a dev dependency ships npm 6 there,
// which has no --pack-destination: run the system's npm.
const systemPath = () => (process.env.PATH ?? '').split(':').filter((p) => !p.endsWith('/node_modules/.bin')).join(':');

const run = (cmd: string, args: string[], cwd: string) => new Promise<string>((resolve, reject) => {
  execFile(cmd, args, { cwd, maxBuffer: 16 << 20, env: { ...process.env, PATH: systemPath() } }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim().split('\n').pop() || err.message}`)) : resolve(stdout)));
});

/** Where the unpacked viewer lives under a cache folder. */
export const ohifDistDir = (cacheDir: string) => join(cacheDir, `ohif-app-${OHIF_VERSION}`, 'dist');

/**
 * The unpacked dist/ of the pinned OHIF release under `cacheDir`, fetched and checked first when
 * absent. Throws, naming the cause, when npm cannot fetch it or the bytes are not the pinned ones.
 */
export async function ensureOhif(cache: string, log: (m: string) => void = () => {}): Promise<string> {
  const cacheDir = resolve(cache);
  const dist = ohifDistDir(cacheDir);
  if (existsSync(join(dist, 'index.html'))) return dist;
  makeDirs(cacheDir);
  const work = mkdtempSync(join(cacheDir, '.fetch-'));
  try {
    log(`fetching ${OHIF_PACKAGE}@${OHIF_VERSION} with npm pack`);
    await run('npm', ['pack', `${OHIF_PACKAGE}@${OHIF_VERSION}`, '--silent', '--pack-destination', work], work);
    const tgz = join(work, `ohif-app-${OHIF_VERSION}.tgz`);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    if (integrity !== OHIF_INTEGRITY) throw new Error(`${OHIF_PACKAGE}@${OHIF_VERSION} from the registry is not the pinned release (integrity ${integrity.slice(0, 24)}…, expected ${OHIF_INTEGRITY.slice(0, 24)}…)`);
    await run('tar', ['-xzf', tgz, '-C', work, 'package/dist'], work);
    if (!existsSync(join(work, 'package', 'dist', 'index.html'))) throw new Error(`${OHIF_PACKAGE}@${OHIF_VERSION} holds no dist/index.html`);
    makeDirs(join(dist, '..'));
    try {
      renameSync(join(work, 'package', 'dist'), dist);
    } catch (err) {
      if (!existsSync(join(dist, 'index.html'))) throw err; // else another process unpacked it first
    }
    return dist;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
