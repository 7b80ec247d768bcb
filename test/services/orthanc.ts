// Starts real Orthanc (Debian 1.10.1) and radseal verify-service together in a
// private network namespace for a test, and always tears both down. Orthanc
// binds 0.0.0.0 with no option to change that, so it never runs on the host
// network: the namespace has only a loopback interface, and the test reaches
// both services through `ip netns exec` (storescu, curl).
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openNetns, type Run } from './netns.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const ORTHANC_HTTP = 8042;
export const ORTHANC_DICOM = 4242;
export const VERIFY_PORT = 8043;

export type { Run } from './netns.js';

export interface OrthancEnv {
  ns: string;
  dir: string;
  auditPath: string;
  quarantine: string;
  /** Runs a command inside the namespace. */
  inNs(cmd: string, args: string[]): Promise<Run>;
  /** GET on Orthanc's REST API inside the namespace; parsed JSON. */
  rest(path: string): Promise<unknown>;
  logs(): string;
  stop(): Promise<void>;
}

/** Debian's Python plugin for Orthanc (orthanc-python), or null when it is not installed. */
export function pythonPlugin(): string | null {
  try {
    const f = readdirSync('/usr/lib/orthanc').find((n) => /^libOrthancPython\.so/.test(n));
    return f ? join('/usr/lib/orthanc', f) : null;
  } catch {
    return null;
  }
}

/** Debian's DICOMweb plugin for Orthanc (orthanc-dicomweb), or null when it is not installed. */
export function dicomWebPlugin(): string | null {
  const p = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
  return existsSync(p) ? p : null;
}

/**
 * radseal's shipped orthanc.json (comments dropped) with the test's folders under `dir`, the
 * test ports, loopback-only access and no saved jobs; the caller adds plugins and scripts.
 */
export function orthancTestConfig(dir: string): Record<string, unknown> {
  const template = readFileSync(join(ROOT, 'host', 'ingest', 'orthanc', 'orthanc.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
  return Object.assign(JSON.parse(template) as Record<string, unknown>, {
    StorageDirectory: join(dir, 'orthanc', 'storage'),
    IndexDirectory: join(dir, 'orthanc', 'index'),
    HttpPort: ORTHANC_HTTP,
    DicomPort: ORTHANC_DICOM,
    DicomAet: 'ORTHANC',
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    SaveJobs: false,
  });
}

/**
 * hook 'lua' (default): radseal.lua verifies after storage; 'python': radseal_filter.py verifies
 * before storage (Orthanc's Python plugin), as docs/INGEST.md describes. dicomWeb: also load the
 * DICOMweb plugin (STOW-RS at http://127.0.0.1:8042/dicom-web/studies).
 */
export async function startOrthancEnv(dir: string, o: { trustPem: string; onFailure: 'flag' | 'reject'; hook?: 'lua' | 'python'; radseal?: Record<string, unknown>; dicomWeb?: boolean }): Promise<OrthancEnv> {
  const net = await openNetns('radseal');
  const { ns, inNs, start, stop, logs } = net;
  try {
    const auditPath = join(dir, 'audit.jsonl');
    const quarantine = join(dir, 'quarantine');
    const verifier = start('verify-service', process.execPath, ['--import', 'tsx', join(ROOT, 'host', 'cli', 'main.ts'), 'verify-service', '--listen', `127.0.0.1:${VERIFY_PORT}`,
      '--trust', o.trustPem, '--quarantine', quarantine, '--audit', auditPath, '--on-failure', o.onFailure]);

    // Orthanc: our configuration file plus radseal's hook, as docs/INGEST.md describes.
    const cfg = orthancTestConfig(dir);
    cfg.Radseal = { VerifyUrl: `http://127.0.0.1:${VERIFY_PORT}/verify`, ...o.radseal };
    if (o.hook === 'python') {
      const plugin = pythonPlugin();
      if (!plugin) throw new Error('Orthanc Python plugin not installed (Debian package orthanc-python)');
      Object.assign(cfg, { Plugins: [plugin], PythonScript: join(ROOT, 'host', 'ingest', 'orthanc', 'radseal_filter.py'), LuaScripts: [] });
    } else {
      Object.assign(cfg, { Plugins: [], LuaScripts: [join(ROOT, 'host', 'ingest', 'orthanc', 'radseal.lua')] });
    }
    if (o.dicomWeb) {
      const dw = dicomWebPlugin();
      if (!dw) throw new Error('Orthanc DICOMweb plugin not installed (Debian package orthanc-dicomweb)');
      Object.assign(cfg, { Plugins: [...(cfg.Plugins as string[]), dw], DicomWeb: { Enable: true, Root: '/dicom-web/' } });
    }
    mkdirSync(join(dir, 'orthanc'), { recursive: true });
    const cfgPath = join(dir, 'orthanc', 'orthanc.json');
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    const orthanc = start('orthanc', 'Orthanc', [cfgPath]);

    await net.waitFor(async () => (await inNs('curl', ['-sf', `http://127.0.0.1:${VERIFY_PORT}/health`])).code === 0, 'verify-service', verifier);
    await net.waitFor(async () => (await inNs('curl', ['-sf', `http://127.0.0.1:${ORTHANC_HTTP}/system`])).code === 0, 'Orthanc', orthanc);
    const rest = async (path: string) => {
      const r = await inNs('curl', ['-sf', `http://127.0.0.1:${ORTHANC_HTTP}${path}`]);
      if (r.code !== 0) throw new Error(`GET ${path} failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout) as unknown;
    };
    return { ns, dir, auditPath, quarantine, inNs, rest, logs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
