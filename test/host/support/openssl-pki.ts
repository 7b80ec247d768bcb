// A small TLS PKI for tests, made by OpenSSL (an independent implementation from radseal's own
// site PKI): a CA and leaf certificates, EC P-256, usable as TLS server and client.
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

/** In `dir`: CA.key/CA.pem, and per leaf NAME.key (0600) and NAME.pem signed by the CA (san e.g. 'IP:127.0.0.1'). */
export function makePki(dir: string, ca: string, leaves: Array<{ name: string; san?: string }>): void {
  ssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca}`);
  for (const l of leaves) {
    ssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${l.name}.key`, '-out', `${l.name}.csr`, '-subj', `/CN=${l.name}`);
    writeFileSync(join(dir, `${l.name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n${l.san ? `subjectAltName=${l.san}\n` : ''}`);
    chmodSync(join(dir, `${l.name}.key`), 0o600);
    ssl(dir, 'x509', '-req', '-in', `${l.name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${l.name}.pem`, '-days', '2', '-extfile', `${l.name}.ext`);
  }
}
