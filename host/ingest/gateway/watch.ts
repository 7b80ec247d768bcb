// Folder mode: every DICOM file that appears in the drop folder or any folder
// below it is ingested (verified, kept, audited) and removed from the drop
// folder. DICOM is recognised by content ("DICM" after the 128-byte preamble),
// not by name: DCMTK's storescp writes e.g. "DX.1.2.3…" with no extension,
// and sorts into sub-folders. Anything else is logged once ("not DICOM: …")
// and left where it is. A file modified within the last settleMs is left for
// a later pass (a writer may still be at it). A file that cannot be ingested
// (disk full, audit log unwritable), or is over the size limit (audited as
// refused unverified), is moved to .failed/ with a log line, so neither this
// run nor the next one stumbles over it again.
import { readFileSync, statSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { looksLikeDicom, walkTree } from '../pool/dicom-files.js';
import { moveDurably, privateDir } from '../../io/atomic.js';
import { DEFAULT_MAX_OBJECT_BYTES, formatBytes } from '../../net/scp.js';
import type { Ingestor, IngestResult } from './ingest.js';
import { makeDirs } from '../../io/dirs.js';

export interface WatchOptions {
  /** Leave files modified less than this long ago for a later pass (default 1000 ms). */
  settleMs?: number;
  /** Look again this often, for sub-folders and settling files (default 2000 ms). */
  pollMs?: number;
  /** Larger files are not read: audited as refused unverified and moved to .failed/ (default 1 GiB, as the gateway). */
  maxObjectBytes?: number;
}

/** Where files that could not be ingested go (inside the drop folder; hidden, so never scanned). */
export const FAILED_FOLDER = '.failed';

export { looksLikeDicom };

export interface FolderWatcher {
  /** Stops watching; resolves once the file being ingested (if any) is done, so nothing is cut off mid-way. */
  close(): Promise<void>;
  /** One pass over the folder now (joined to the running one, if any); resolves when it is done. */
  scan(): Promise<void>;
}

export function watchFolder(dir: string, ingestor: Ingestor, log: (m: string) => void = () => {}, onResult?: (r: IngestResult) => void, opts: WatchOptions = {}): FolderWatcher {
  const settleMs = opts.settleMs ?? 1000;
  const pollMs = opts.pollMs ?? 2000;
  const maxObject = opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  makeDirs(dir);
  // Files already reported as skipped, by path, size and mtime: said once, said again only when they change.
  const reported = new Set<string>();
  const sayOnce = (key: string, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    log(message);
  };
  let settling = false;

  const moveToFailed = (p: string, name: string, why: string) => {
    const failed = join(dir, FAILED_FOLDER);
    privateDir(failed);
    const moved = moveDurably(p, failed, name.replace(/\//g, '_'));
    log(`${name}: ${why}; moved to ${moved}`);
  };

  const handleFile = async (p: string, name: string, size: number) => {
    if (!looksLikeDicom(p)) {
      const st = statSync(p);
      sayOnce(`${p}\u0000${st.size}\u0000${st.mtimeMs}`, `not DICOM: ${name} (no "DICM" at byte 128); left in place`);
      return;
    }
    const source = { via: 'watch', ae: null, host: null };
    try {
      if (size > maxObject) {
        const reason = `refused unverified: file of ${size} bytes is larger than ${formatBytes(maxObject)} (--max-object-bytes)`;
        const rec = ingestor.refuseUnverified(source, { claimed: { sopInstanceUid: '', sopClassUid: '' }, bytes: size, reason });
        moveToFailed(p, name, `${reason} (audit #${rec.seq})`);
        return;
      }
      const r = await ingestor.ingest(new Uint8Array(readFileSync(p)), source);
      unlinkSync(p);
      log(`${name}: ${r.report.verdict} → ${r.action} (audit #${r.record.seq})`);
      onResult?.(r);
    } catch (err) {
      moveToFailed(p, name, `could not be ingested (${(err as Error).message})`);
    }
  };

  const walk = async (): Promise<void> => {
    for (const e of walkTree(dir)) { // hidden names (writers' temporary files, our own .failed/) are left out
      if (closed) return;
      try {
        if (e.kind === 'error') throw e.error;
        if (e.kind === 'special') sayOnce(`${e.path}\u0000special`, `skipped: ${e.name} is not a regular file`);
        else if (settleMs > 0 && Date.now() - e.stat.mtimeMs < settleMs) settling = true; // still being written, perhaps: a later pass
        else await handleFile(e.path, e.name, e.stat.size);
      } catch (err) {
        // Gone between listing and reading (another consumer), or unreadable: say so and go on.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`${e.name}: skipped (${(err as Error).message})`);
      }
    }
  };

  // One pass at a time; a request during a pass makes it go round once more.
  let running: Promise<void> | null = null;
  let again = false;
  let settleTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const scan = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          settling = false;
          await walk();
        } while (again && !closed);
      } catch (err) {
        log(`watch ${dir}: ${(err as Error).message}`);
      } finally {
        running = null;
      }
      if (settling && !settleTimer && !closed) {
        settleTimer = setTimeout(() => {
          settleTimer = null;
          void scan();
        }, settleMs);
      }
    })();
    return running;
  };
  const w: FSWatcher = watch(dir, () => void scan());
  w.on('error', (err) => log(`watch ${dir}: ${err.message}; still looking every ${pollMs} ms`));
  const poll = setInterval(() => void scan(), pollMs);
  void scan();
  return {
    close: async () => {
      closed = true;
      w.close();
      clearInterval(poll);
      if (settleTimer) clearTimeout(settleTimer);
      await running;
    },
    scan,
  };
}
