// DCMTK wlmscpfs for tests: worklist files made by dump2dcm from a DCMTK dump, and the SCP
// serving them. wlmscpfs listens on every interface: use it only inside a private network
// namespace (unshare -n, as test/run.sh does). Callers kill the process when done.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';

/** Whether this process sees loopback only (a private network namespace): then a listener on every interface is harmless. */
export const loopbackOnly = (): boolean => Object.keys(networkInterfaces()).every((name) => name === 'lo');
/** The skip reason for tests whose peers bind every interface, outside a private namespace. */
export const NEEDS_PRIVATE_NETWORK = 'needs a private network namespace (its DICOM peer binds every interface): run under unshare -n, as test/run.sh does as root';

export interface WorklistItem {
  accession: string;
  patientName: string;
  patientId: string;
  station: string;
  date: string;
  studyUid: string;
  charset?: string;
}

/** A worklist file (.wl) made by dump2dcm from a DCMTK dump. */
export function writeWorklistFile(dir: string, name: string, w: WorklistItem): void {
  const dump = [
    `(0008,0005) CS [${w.charset ?? 'ISO_IR 192'}]`,
    `(0008,0050) SH [${w.accession}]`,
    '(0008,0090) PN [House^Gregory]',
    `(0010,0010) PN [${w.patientName}]`,
    `(0010,0020) LO [${w.patientId}]`,
    '(0010,0030) DA [19700214]',
    '(0010,0040) CS [F]',
    `(0020,000d) UI [${w.studyUid}]`,
    '(0032,1060) LO [XR CHEST 2 VIEWS]',
    '(0040,0100) SQ (Sequence with undefined length #=1)',
    '  (fffe,e000) na (Item with undefined length #=7)',
    '    (0008,0060) CS [DX]',
    `    (0040,0001) AE [${w.station}]`,
    `    (0040,0002) DA [${w.date}]`,
    '    (0040,0003) TM [093000]',
    '    (0040,0006) PN [Tech^Tina]',
    '    (0040,0007) LO [Chest PA and lateral]',
    `    (0040,0009) SH [SPS-${w.accession}]`,
    '  (fffe,e00d) na (ItemDelimitationItem)',
    '(fffe,e0dd) na (SequenceDelimitationItem)',
    `(0040,1001) SH [RP-${w.accession}]`,
    '(0040,1003) SH [ROUTINE]',
  ].join('\n');
  const dumpFile = join(dir, `${name}.dump`);
  writeFileSync(dumpFile, dump, 'utf8');
  const r = spawnSync('dump2dcm', [dumpFile, join(dir, `${name}.wl`)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `dump2dcm: ${r.stderr}`);
  rmSync(dumpFile);
}

/** wlmscpfs serving worklist files from dir/<AE>/ (single process, so killing it stops everything). */
export async function startWlmscpfs(dataDir: string, port: number, extra: string[] = []): Promise<ChildProcess> {
  const proc = spawn('wlmscpfs', ['-s', '-dfr', '-csk', '-dfp', dataDir, ...extra, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`wlmscpfs exited: ${err}`);
    const up = await new Promise<boolean>((res) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (up) return proc;
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`wlmscpfs did not listen on ${port}: ${err}`);
}

