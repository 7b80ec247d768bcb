// Finding DICOM files on disk, for everything that reads folders of them (the
// ingest folder watcher, batch verify, the archive audit). DICOM is recognised
// by content ("DICM" after the 128-byte preamble), not by name: DCMTK's
// storescp writes e.g. "DX.1.2.3…" with no extension, and PACS stores use
// their own naming.
import { closeSync, openSync, readSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';

/** Whether a file starts like a DICOM Part 10 file: "DICM" at offset 128. */
export function looksLikeDicom(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(132);
    return readSync(fd, head, 0, 132, 0) === 132 && head.toString('latin1', 128, 132) === 'DICM';
  } finally {
    closeSync(fd);
  }
}

/** One entry of a folder tree: a regular file, something else (socket, device…), or one that could not be read. */
export type TreeEntry =
  | { kind: 'file'; path: string; name: string; stat: Stats }
  | { kind: 'special'; path: string; name: string }
  | { kind: 'error'; path: string; name: string; error: NodeJS.ErrnoException };

/**
 * Every entry below `root`, depth first, names sorted (so a walk is repeatable: an interrupted
 * audit resumes in the same order). Hidden names (".*") are skipped: writers' temporary files and
 * radseal's own .failed/. `name` is the path relative to root. A sub-folder or file that cannot be
 * read is yielded as an error, never skipped silently; an unreadable root throws.
 */
export function* walkTree(root: string): Generator<TreeEntry> {
  yield* walkFolder(root, root, readdirSync(root));
}

function* walkFolder(root: string, folder: string, names: string[]): Generator<TreeEntry> {
  for (const f of names.sort()) {
    if (f.startsWith('.')) continue;
    const path = join(folder, f);
    const name = relative(root, path);
    let stat: Stats;
    let children: string[] | null = null;
    try {
      stat = statSync(path);
      if (stat.isDirectory()) children = readdirSync(path);
    } catch (err) {
      yield { kind: 'error', path, name, error: err as NodeJS.ErrnoException };
      continue;
    }
    if (children) yield* walkFolder(root, path, children);
    else if (stat.isFile()) yield { kind: 'file', path, name, stat };
    else yield { kind: 'special', path, name };
  }
}
