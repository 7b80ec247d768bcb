// Where sealed objects go: a DICOM C-STORE SCP (AE@HOST:PORT) or a DICOMweb STOW-RS endpoint
// (http[s]://.../studies). Both move the file's original bytes and fail with DicomNetError,
// retryable or not, so the persistent forwarder treats them alike.
import { cStore, parseTarget, type CStoreTarget } from './cstore.js';
import { stowRs, type StowTarget } from './stow.js';
import type { DicomTls } from './tls.js';

export type PacsTarget = CStoreTarget | StowTarget;

export const isStow = (t: PacsTarget): t is StowTarget => 'url' in t;

/** How a target is named in logs. */
export function describeTarget(t: PacsTarget): string {
  return isStow(t) ? `STOW-RS ${t.url}` : `${t.calledAe}@${t.host}:${t.port}${t.tls ? ' (TLS)' : ''}`;
}

export function sendTo(t: PacsTarget, file: Uint8Array): Promise<unknown> {
  return isStow(t) ? stowRs(t, file) : cStore(t, file);
}

/** --forward's value: AE@HOST:PORT for C-STORE (TLS with `tls`), or an http(s) URL for STOW-RS. */
export function parsePacsTarget(s: string, tls?: DicomTls): PacsTarget {
  if (/^https?:\/\//i.test(s)) {
    if (tls) throw new Error('--tls-key/--tls-cert/--tls-ca apply to C-STORE; for STOW-RS give an https:// URL');
    return { url: s };
  }
  return { ...parseTarget(s), tls };
}
