// Real Orthanc (Debian 1.10.1, Python + DICOMweb plugins) set up for access auditing as
// docs/AUDIT.md describes, with radseal verify-service and a storescp C-MOVE destination,
// all in a private network namespace (Orthanc binds 0.0.0.0). test/services/orthanc.ts
// starts the verification-only set-up; this one adds the Lua C-FIND script, the C-MOVE
// destination and Orthanc's log file (the C-GET trace).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dicomWebPlugin, orthancTestConfig, pythonPlugin, ORTHANC_HTTP, VERIFY_PORT } from '../../services/orthanc.js';
import { openNetns, type Run } from '../../services/netns.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const ORTHANC_DIR = join(ROOT, 'host', 'ingest', 'orthanc');
export const DEST_PORT = 11113;

export interface AccessEnv {
  auditPath: string;
  destDir: string;
  inNs(cmd: string, args: string[]): Promise<Run>;
  logs(): string;
  stop(): Promise<void>;
}

export const accessPluginsMissing = (): string | false => (pythonPlugin() && dicomWebPlugin() ? false : 'orthanc-python or orthanc-dicomweb not installed');

export async function startAccessEnv(dir: string, trustPem: string): Promise<AccessEnv> {
  const net = await openNetns('radseal-acc');
  const { inNs, start, stop } = net;
  try {
    const auditPath = join(dir, 'audit.jsonl');
    const destDir = join(dir, 'dest');
    mkdirSync(destDir, { recursive: true });
    mkdirSync(join(dir, 'orthanc'), { recursive: true });
    const verifier = start('verify-service', process.execPath, ['--import', 'tsx', join(ROOT, 'host', 'cli', 'main.ts'), 'verify-service', '--listen', `127.0.0.1:${VERIFY_PORT}`,
      '--trust', trustPem, '--quarantine', join(dir, 'quarantine'), '--audit', auditPath, '--on-failure', 'flag']);
    start('storescp', 'storescp', ['-aet', 'DEST', '-od', destDir, String(DEST_PORT)]);
    const cfg = orthancTestConfig(dir);
    const orthancLog = join(dir, 'orthanc', 'orthanc.log');
    Object.assign(cfg, {
      Plugins: [pythonPlugin()!, dicomWebPlugin()!], PythonScript: join(ORTHANC_DIR, 'radseal_filter.py'), LuaScripts: [join(ORTHANC_DIR, 'radseal_access.lua')],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
      DicomModalities: { dest: ['DEST', '127.0.0.1', DEST_PORT], getter: ['GETSCU', '127.0.0.1', 11114], finder: ['FINDER', '127.0.0.1', 11115], mover: ['MOVER', '127.0.0.1', 11116] },
      Radseal: { ...(cfg.Radseal as object), VerifyUrl: `http://127.0.0.1:${VERIFY_PORT}/verify`, OrthancLogFile: orthancLog },
    });
    const cfgPath = join(dir, 'orthanc', 'orthanc.json');
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    const orthanc = start('orthanc', 'Orthanc', [`--logfile=${orthancLog}`, cfgPath]);
    await net.waitFor(async () => (await inNs('curl', ['-sf', `http://127.0.0.1:${VERIFY_PORT}/health`])).code === 0, 'verify-service', verifier);
    await net.waitFor(async () => (await inNs('curl', ['-sf', `http://127.0.0.1:${ORTHANC_HTTP}/system`])).code === 0, 'Orthanc', orthanc);
    return { auditPath, destDir, inNs, logs: () => `${net.logs()}\n[orthanc.log]\n${(() => { try { return readFileSync(orthancLog, 'utf8').slice(-6000); } catch { return ''; } })()}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
