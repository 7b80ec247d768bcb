// What an archive audit reads: a folder tree of DICOM files, an Orthanc server
// (REST: every instance, and its stored file byte for byte), or any DICOMweb
// server (QIDO-RS to enumerate, WADO-RS for the instance in the transfer
// syntax it is stored in). A copy the server transcodes is not the object that
// was signed: verify then says "re-encoded … retrieve the original file"
// (docs/CONFORMANCE.md), and the audit records it as it is, never as authentic.
import { resolve, relative, dirname } from 'node:path';
import { statSync } from 'node:fs';
import { looksLikeDicom, walkTree } from '../ingest/pool/dicom-files.js';
import { redactUrl } from './store.js';

/**
 * One object to verify: its key in the source (stable across audits), where to read it, and its
 * series (for batching). Never holds credentials: items travel through the job queue; whoever
 * reads adds its own (withAuth).
 */
export interface ArchiveItem {
  key: string;
  path: string;
  url?: string;
  headers?: Record<string, string>;
  group: string;
}

/** HTTP Basic authentication for the PACS, from "user:password". */
export function authHeaders(auth: string | undefined): Record<string, string> {
  return auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {};
}

/** What the verify pool reads for an item, with the reader's own PACS credentials. */
export function withAuth(item: ArchiveItem, auth: string | undefined): { path: string; url?: string; headers?: Record<string, string> } {
  return item.url ? { path: item.path, url: item.url, headers: { ...item.headers, ...authHeaders(auth) } } : { path: item.path };
}

export interface ArchiveSource {
  /** How audits name the source: the folder's absolute path, or the URL without credentials. */
  readonly name: string;
  /** How many objects the source holds, when it can say (for the ETA); null otherwise. */
  estimate(): Promise<number | null>;
  /** Every object, in a repeatable order. `note` hears about what is skipped (not DICOM). */
  items(note?: (message: string) => void): AsyncIterable<ArchiveItem>;
}

export class SourceError extends Error {
  override name = 'SourceError';
}

/**
 * A folder, orthanc+http(s)://… (or plain http(s)://…: Orthanc's REST API), or dicomweb+http(s)://…
 * (the DICOMweb root, e.g. …/dicom-web). `auth` ("user:password", from the environment) is sent as
 * HTTP Basic authentication.
 */
export function openSource(spec: string, auth?: string): ArchiveSource {
  const m = /^(orthanc\+|dicomweb\+)?(https?:\/\/.+)$/i.exec(spec);
  if (!m) return folderSource(spec);
  const url = new URL(m[2]!);
  if (url.username || url.password) throw new SourceError('give PACS credentials in an environment variable (--pacs-auth-env), not in the URL, which other users can read');
  const base = url.toString().replace(/\/+$/, '');
  const headers = authHeaders(auth);
  return m[1]?.toLowerCase() === 'dicomweb+' ? dicomWebSource(base, headers) : orthancSource(base, headers);
}

function folderSource(folder: string): ArchiveSource {
  const root = resolve(folder);
  try {
    if (!statSync(root).isDirectory()) throw new SourceError(`${folder} is not a folder`);
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`cannot read folder ${folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return {
    name: root,
    async estimate() {
      // Counting files costs one stat each: done in slices so the audit keeps going meanwhile.
      let n = 0;
      let i = 0;
      for (const e of walkTree(root)) {
        if (e.kind === 'file') n++;
        if (++i % 500 === 0) await new Promise((r) => setImmediate(r));
      }
      return n;
    },
    async *items(note) {
      for (const e of walkTree(root)) {
        const item = { key: e.name, path: e.path, group: dirname(relative(root, e.path)) };
        if (e.kind === 'special') {
          note?.(`skipped ${e.name}: not a regular file`);
          continue;
        }
        if (e.kind === 'file') {
          let dicom: boolean;
          try {
            dicom = looksLikeDicom(e.path);
          } catch {
            dicom = true; // unreadable: the pool reads it and reports why, it is never skipped silently
          }
          if (!dicom) {
            note?.(`skipped ${e.name}: not DICOM (no "DICM" at byte 128)`);
            continue;
          }
        }
        yield item; // an entry that could not be listed is reported by the pool as unreadable
      }
    },
  };
}

async function getJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json, application/dicom+json', ...headers } });
  } catch (err) {
    throw new SourceError(`GET ${redactUrl(url)}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`);
  }
  if (res.status === 204) return [] as T;
  if (!res.ok) throw new SourceError(`GET ${redactUrl(url)}: HTTP ${res.status} ${res.statusText}`);
  return (await res.json()) as T;
}

interface OrthancInstance {
  ID: string;
  ParentSeries: string;
}

function orthancSource(base: string, headers: Record<string, string>): ArchiveSource {
  return {
    name: base,
    async estimate() {
      const s = await getJson<{ CountInstances?: number }>(`${base}/statistics`, headers);
      return typeof s.CountInstances === 'number' ? s.CountInstances : null;
    },
    async *items() {
      // Paged by Orthanc's own order (since/limit): repeatable while the archive is not pruned.
      const limit = 1000;
      for (let since = 0; ; since += limit) {
        const page = await getJson<OrthancInstance[]>(`${base}/instances?expand&since=${since}&limit=${limit}`, headers);
        for (const i of page) yield { key: i.ID, path: `${base}/instances/${i.ID}`, url: `${base}/instances/${i.ID}/file`, group: i.ParentSeries };
        if (page.length < limit) return;
      }
    },
  };
}

type DicomJson = Array<Record<string, { Value?: unknown[] }>>;
const uidOf = (o: DicomJson[number], tag: string): string => String(o[tag]?.Value?.[0] ?? '');

/** WADO-RS: the instance as stored (transfer-syntax=*), never a copy converted for us. */
export const ORIGINAL_INSTANCE_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*';

function dicomWebSource(base: string, headers: Record<string, string>): ArchiveSource {
  const paged = async function* (url: string): AsyncGenerator<DicomJson[number]> {
    const limit = 500;
    for (let offset = 0; ; offset += limit) {
      const page = await getJson<DicomJson>(`${url}${url.includes('?') ? '&' : '?'}limit=${limit}&offset=${offset}`, headers);
      yield* page;
      if (page.length < limit) return;
    }
  };
  return {
    name: base,
    estimate: async () => null,
    async *items() {
      for await (const study of paged(`${base}/studies`)) {
        const st = uidOf(study, '0020000D');
        for await (const series of paged(`${base}/studies/${st}/series`)) {
          const se = uidOf(series, '0020000E');
          for await (const inst of paged(`${base}/studies/${st}/series/${se}/instances`)) {
            const sop = uidOf(inst, '00080018');
            const path = `${base}/studies/${st}/series/${se}/instances/${sop}`;
            yield { key: sop, path, url: path, headers: { accept: ORIGINAL_INSTANCE_ACCEPT }, group: se };
          }
        }
      }
    },
  };
}
