// --tls-key / --tls-cert / --tls-ca: DICOM over TLS for the commands that speak DICOM on the
// network (ingest: its listener and its forwarding; capture: its forwarding). All three or none.
import type { Command } from 'commander';
import type { DicomTls } from '../net/tls.js';
import { loadOnUse } from '../io/load-on-use.js';

/** The TLS module (and node:tls) load when TLS is asked for, not with the options. */
const tlsModule = loadOnUse<typeof import('../net/tls.js')>(import.meta.url, '../net/tls.js');

export interface TlsOptionValues {
  tlsKey?: string;
  tlsCert?: string;
  tlsCa?: string;
}

export function withTlsOptions(c: Command, what: string): Command {
  return c
    .option('--tls-key <file>', `DICOM over TLS (${what}): our private key, PEM`)
    .option('--tls-cert <file>', 'DICOM over TLS: our certificate (chain), PEM')
    .option('--tls-ca <file>', "DICOM over TLS: CA certificates the peer's certificate must chain to, PEM");
}

export function tlsFrom(o: TlsOptionValues): DicomTls | undefined {
  const given = [o.tlsKey, o.tlsCert, o.tlsCa].filter(Boolean).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new Error('DICOM over TLS needs all of --tls-key, --tls-cert and --tls-ca');
  return tlsModule().loadTls({ key: o.tlsKey!, cert: o.tlsCert!, ca: o.tlsCa! });
}
