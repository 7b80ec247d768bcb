// A real RFC 3161 time-stamping authority for tests: OpenSSL's `openssl ts -reply` behind an HTTP
// endpoint on 127.0.0.1 (POST application/timestamp-query -> application/timestamp-reply), with
// its own CA (EC P-256) and a TSA certificate whose extended key usage is timeStamping.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TestTsa {
  url: string;
  /** PEM of the CA that issued the TSA certificate (what a verifier trusts). */
  caPem: string;
  caPath: string;
  tsaCertPath: string;
  /** Requests answered so far. */
  answered: number;
  stop(): Promise<void>;
}

const ssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

export async function startTsa(dir: string, name = 'Test-TSA'): Promise<TestTsa> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tsa.cnf'), `[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_cert = ./tsa.pem
certs = ./tsa.pem
signer_key = ./tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`);
  ssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name} CA`);
  ssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tsa.key', '-out', 'tsa.csr', '-subj', `/CN=${name}`);
  writeFileSync(join(dir, 'tsa.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n');
  ssl(dir, 'x509', '-req', '-in', 'tsa.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tsa.pem', '-days', '2', '-extfile', 'tsa.ext');
  writeFileSync(join(dir, 'tsaserial'), '01\n');
  let n = 0;
  const t: TestTsa = {
    url: '', caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), caPath: join(dir, 'ca.pem'), tsaCertPath: join(dir, 'tsa.pem'), answered: 0,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const q = join(dir, `q${++n}.tsq`), r = join(dir, `r${n}.tsr`);
      try {
        writeFileSync(q, Buffer.concat(parts));
        ssl(dir, 'ts', '-reply', '-config', 'tsa.cnf', '-queryfile', q, '-out', r);
        t.answered++;
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(readFileSync(r));
      } catch (e) {
        res.writeHead(500).end(String((e as { stderr?: Buffer }).stderr ?? e));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  return t;
}
