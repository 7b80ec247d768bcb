// DICOM over TLS (PS3.15 Annex B, "Secure Transport Connection Profiles"; BCP 195): the
// association runs unchanged inside a TLS connection (node:tls, i.e. OpenSSL). Both sides
// authenticate: the SCP asks for and checks a client certificate, the SCU checks the SCP's
// certificate and its host name or address. TLS 1.2 at least, as BCP 195 requires.
import { readFileSync } from 'node:fs';
import { readSecretFile } from '../keys/filestore.js';
import { isIP } from 'node:net';
import tls from 'node:tls';

export interface DicomTls {
  /** Our private key (PEM). */
  key: string;
  /** Our certificate chain (PEM). */
  cert: string;
  /** Certificates (PEM) the peer's certificate must chain to. */
  ca: string;
}

/** Reads key, certificate and CA bundle files; errors name the file, never its contents. */
export function loadTls(files: { key: string; cert: string; ca: string }): DicomTls {
  const read = (what: string, path: string, marker: RegExp) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!marker.test(text)) throw new Error(`TLS ${what} ${path}: no PEM certificate in it`);
    return text;
  };
  // The private key like every radseal key: refused when others can read it (keys/filestore.ts).
  const key = readSecretFile(files.key).toString('utf8');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new Error(`TLS key ${files.key}: no PEM private key in it`);
  return {
    key,
    cert: read('certificate', files.cert, /-----BEGIN CERTIFICATE-----/),
    ca: read('CA bundle', files.ca, /-----BEGIN CERTIFICATE-----/),
  };
}

/** Options for tls.createServer: clients must present a certificate that chains to `ca`. */
export function serverTlsOptions(t: DicomTls): tls.TlsOptions {
  return { key: t.key, cert: t.cert, ca: t.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
}

/** Options for tls.connect to host: the server's certificate must chain to `ca` and name the host. */
export function clientTlsOptions(t: DicomTls, host: string): tls.ConnectionOptions {
  return { key: t.key, cert: t.cert, ca: t.ca, rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(isIP(host) ? {} : { servername: host }) };
}
