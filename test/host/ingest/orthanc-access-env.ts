// Real Orthanc (Debian 1.10.1, Python + DICOMweb plugins) set up for access auditing as
// docs/AUDIT.md describes, with radseal verify-service and a storescp C-MOVE destination,
// all in a private network namespace (Orthanc binds 0.0.0.0). test/services/orthanc.ts
// starts the verification-only set-up; this one adds the Lua C-FIND script, the C-MOVE
// destination and Orthanc's log file (the C-GET trace).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dicomWebPlugin, pythonPlugin, ORTHANC_DICOM, ORTHANC_HTTP, VERIFY_PORT, type Run } from '../../services/orthanc.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const ORTHANC_DIR = join(ROOT, 'host', 'ingest', 'orthanc');
export const DEST_PORT = 11113;

const exec = (cmd: string, args: string[]): Promise<Run> => new Promise((res) => {
  execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
});

export interface AccessEnv {
  auditPath: string;
  destDir: string;
  inNs(cmd: string, args: string[]): Promise<Run>;
  logs(): string;
  stop(): Promise<void>;
}

export const accessPluginsMissing = (): string | false => (pythonPlugin() && dicomWebPlugin() ? false : 'orthanc-python or orthanc-dicomweb not installed');

export async function startAccessEnv(dir: string, trustPem: string): Promise<AccessEnv> {
  const ns = `radseal-acc-${process.pid}-${randomBytes(3).toString('hex')}`;
  const add = await exec('ip', ['netns', 'add', ns]);
  if (add.code !== 0) throw new Error(`ip netns add failed (tests that run Orthanc need root): ${add.stderr}`);
  const procs: ChildProcess[] = [];
  let log = '';
  const inNs = (cmd: string, args: string[]) => exec('ip', ['netns', 'exec', ns, cmd, ...args]);
  const stop = async () => {
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    }
    await exec('ip', ['netns', 'del', ns]);
  };
  const start = (name: string, cmd: string, args: string[]) => {
    const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (log += String(d).replace(/^(?=.)/gm, `[${name}] `));
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    procs.push(p);
    return p;
  };
  const waitFor = async (check: () => Promise<boolean>, what: string, proc: ChildProcess) => {
    for (const end = Date.now() + 30_000; Date.now() < end;) {
      if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode})\n${log}`);
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${what} did not come up\n${log}`);
  };
  try {
    await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const auditPath = join(dir, 'audit.jsonl');
    const destDir = join(dir, 'dest');
    mkdirSync(destDir, { recursive: true });
    mkdirSync(join(dir, 'orthanc'), { recursive: true });
    const verifier = start('verify-service', process.execPath, ['--import', 'tsx', join(ROOT, 'host', 'cli', 'main.ts'), 'verify-service', '--listen', `127.0.0.1:${VERIFY_PORT}`,
      '--trust', trustPem, '--quarantine', join(dir, 'quarantine'), '--audit', auditPath, '--on-failure', 'flag']);
    start('storescp', 'storescp', ['-aet', 'DEST', '-od', destDir, String(DEST_PORT)]);
    const template = readFileSync(join(ORTHANC_DIR, 'orthanc.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    const cfg = JSON.parse(template) as Record<string, unknown>;
    const orthancLog = join(dir, 'orthanc', 'orthanc.log');
    Object.assign(cfg, {
      StorageDirectory: join(dir, 'orthanc', 'storage'), IndexDirectory: join(dir, 'orthanc', 'index'),
      HttpPort: ORTHANC_HTTP, DicomPort: ORTHANC_DICOM, DicomAet: 'ORTHANC', RemoteAccessAllowed: false, AuthenticationEnabled: false, SaveJobs: false,
      Plugins: [pythonPlugin()!, dicomWebPlugin()!], PythonScript: join(ORTHANC_DIR, 'radseal_filter.py'), LuaScripts: [join(ORTHANC_DIR, 'radseal_access.lua')],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
      DicomModalities: { dest: ['DEST', '127.0.0.1', DEST_PORT], getter: ['GETSCU', '127.0.0.1', 11114], finder: ['FINDER', '127.0.0.1', 11115], mover: ['MOVER', '127.0.0.1', 11116] },
      Radseal: { ...(cfg.Radseal as object), VerifyUrl: `http://127.0.0.1:${VERIFY_PORT}/verify`, OrthancLogFile: orthancLog },
    });
    const cfgPath = join(dir, 'orthanc', 'orthanc.json');
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    const orthanc = start('orthanc', 'Orthanc', [`--logfile=${orthancLog}`, cfgPath]);
    await waitFor(async () => (await inNs('curl', ['-sf', `http://127.0.0.1:${VERIFY_PORT}/health`])).code === 0, 'verify-service', verifier);
    await waitFor(async () => (await inNs('curl', ['-sf', `http://127.0.0.1:${ORTHANC_HTTP}/system`])).code === 0, 'Orthanc', orthanc);
    return { auditPath, destDir, inNs, logs: () => `${log}\n[orthanc.log]\n${(() => { try { return readFileSync(orthancLog, 'utf8').slice(-6000); } catch { return ''; } })()}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
