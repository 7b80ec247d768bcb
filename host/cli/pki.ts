// radseal pki: the site CA biomedical engineering runs (argument parsing and printing only).
// The CA code is loaded when a command runs; the lifetimes and reasons the options name are light.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, REVOCATION_REASONS, type RevocationReason } from '../keys/pki/defaults.js';
import type { RevokeResult } from '../keys/pki/revoke.js';
import { loadOnUse } from '../io/load-on-use.js';

// The token module (and the Ed25519 code it checks keys with) loads when an action prints a key URI.
const tokenUris = loadOnUse<typeof import('../keys/pkcs11.js')>(import.meta.url, '../keys/pkcs11.js');

/** A secret from the named environment variable: never from argv, which every local user can read in /proc. */
function secretFromEnv(name: string | undefined, what: string): string | undefined {
  if (!name) return undefined;
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} (${what}) is not set`);
  return v;
}

const days = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new InvalidArgumentError('a whole number of days, 1-36500');
  return n;
};

const caPinOption = () => new Option('--ca-pin-env <var>', 'environment variable holding the CA key PIN (when the CA key is PIN-encrypted)');

export function register(program: Command): void {
  const pki = program.command('pki').description('site PKI: CA, device, technologist and PACS signer certificates, revocation list, trust bundle for PACS');

  pki.command('init')
    .description('make a site CA folder: CA key (0600) and certificate, an empty signed CRL, the site watermark key')
    .requiredOption('--site <name>', 'site name (certificate O, e.g. "St Elsewhere Radiology")')
    .requiredOption('--out <dir>', 'CA folder (created 0700; keep it offline, on the provisioning workstation)')
    .addOption(new Option('--ca-pin-env <var>', 'encrypt the CA key with the PIN held in this environment variable'))
    .option('--days <n>', `CA certificate lifetime in days (default ${DEFAULTS.caDays})`, days)
    .option('--crl-days <n>', `revocation list lifetime (nextUpdate) in days (default ${DEFAULTS.crlDays})`, days)
    .action(async (o: { site: string; out: string; caPinEnv?: string; days?: number; crlDays?: number }) => {
      const pin = secretFromEnv(o.caPinEnv, 'the CA key PIN');
      const p = await (await import('../keys/pki/ca.js')).initCa({ site: o.site, dir: o.out, pin, days: o.days, crlDays: o.crlDays });
      console.log(`site CA "${o.site}" in ${p.dir}: ${p.key} (0600${pin ? ', PIN-encrypted' : ''}), ${p.cert}, ${p.crl} (empty, signed), ${p.watermarkKey} (0600)`);
    });

  pki.command('issue-device')
    .description('make a device key (0600 file, or generated on a PKCS#11 token) and a CA-issued certificate with the device profile: device.key/device.crt')
    .requiredOption('--ca <dir>', 'CA folder')
    .requiredOption('--id <deviceId>', 'device id (certificate CN; the id the capture attestation names)')
    .requiredOption('--out <dir>', 'folder for device.crt (and device.key for a file key)')
    .option('--ecdsa', 'also device-ecdsa.key/.crt: an ECDSA P-256 key for the signature DCMTK can verify (file keys only)')
    .option('--pkcs11-module <path>', 'generate the key on a PKCS#11 token with this module (e.g. /usr/lib/softhsm/libsofthsm2.so)')
    .option('--token <label>', 'with --pkcs11-module: token label')
    .option('--key-label <label>', 'with --pkcs11-module: label for the new key (default device-<id>)')
    .option('--pin-env <var>', 'with --pkcs11-module: environment variable holding the token PIN')
    .option('--days <n>', `certificate lifetime in days (default ${DEFAULTS.deviceDays})`, days)
    .addOption(caPinOption())
    .action(async (o: { ca: string; id: string; out: string; ecdsa?: boolean; pkcs11Module?: string; token?: string; keyLabel?: string; pinEnv?: string; days?: number; caPinEnv?: string }) => {
      if ((o.token || o.keyLabel || o.pinEnv) && !o.pkcs11Module) throw new Error('--token, --key-label and --pin-env go with --pkcs11-module (a device key file is protected by its 0600 mode)');
      if (o.pkcs11Module && !o.token) throw new Error('--pkcs11-module needs --token LABEL');
      if (o.pkcs11Module && !o.pinEnv) throw new Error('--pkcs11-module needs --pin-env VAR (the environment variable holding the token PIN)');
      const pkcs11 = o.pkcs11Module ? { module: o.pkcs11Module, token: o.token!, keyLabel: o.keyLabel ?? `device-${o.id}` } : undefined;
      const files = await (await import('../keys/pki/ca.js')).issueDevice({
        caDir: o.ca, caPin: secretFromEnv(o.caPinEnv, 'the CA key PIN'), deviceId: o.id, outDir: o.out, ecdsa: o.ecdsa, days: o.days,
        pkcs11, pin: pkcs11 ? secretFromEnv(o.pinEnv, 'the token PIN') : undefined,
      });
      if (!pkcs11) {
        console.log(`issued device ${o.id}: ${files.join(', ')} (keys 0600)`);
        return;
      }
      console.log(`issued device ${o.id}: ${files.join(', ')} (key "${pkcs11.keyLabel}" generated on token "${pkcs11.token}"; no key file)`);
      console.log(`key URI: ${tokenUris().formatPkcs11Uri(pkcs11)}`);
      console.log(`seal with: --key '${tokenUris().formatPkcs11Uri(pkcs11)}' --pin-env ${o.pinEnv} --cert ${files[0]}`);
    });

  pki.command('issue-technologist')
    .description('make a technologist key (PIN-encrypted file, or generated on a PKCS#11 token) and a CA-issued certificate with the technologist profile')
    .requiredOption('--ca <dir>', 'CA folder')
    .requiredOption('--id <operatorId>', 'operator identifier (certificate CN; Operator Identification Sequence code value)')
    .requiredOption('--name <pn>', 'DICOM person name, e.g. "Doe^Jane"')
    .requiredOption('--out <dir>', 'folder for <id>.crt (and <id>.key for a file key)')
    .option('--pin-env <var>', 'environment variable holding the technologist PIN (encrypts the key file, or logs in to the token)')
    .option('--pkcs11-module <path>', 'generate the key on a PKCS#11 token with this module (e.g. /usr/lib/softhsm/libsofthsm2.so)')
    .option('--token <label>', 'with --pkcs11-module: token label')
    .option('--key-label <label>', 'with --pkcs11-module: label for the new key (default tech-<id>)')
    .option('--days <n>', `certificate lifetime in days (default ${DEFAULTS.technologistDays})`, days)
    .addOption(caPinOption())
    .action(async (o: { ca: string; id: string; name: string; out: string; pinEnv?: string; pkcs11Module?: string; token?: string; keyLabel?: string; days?: number; caPinEnv?: string }) => {
      if (!o.pinEnv) throw new Error('--pin-env VAR is required: a technologist key is protected by a PIN (file) or held on a token (token PIN)');
      if ((o.token || o.keyLabel) && !o.pkcs11Module) throw new Error('--token and --key-label go with --pkcs11-module');
      if (o.pkcs11Module && !o.token) throw new Error('--pkcs11-module needs --token LABEL');
      const pkcs11 = o.pkcs11Module ? { module: o.pkcs11Module, token: o.token!, keyLabel: o.keyLabel ?? `tech-${o.id}` } : undefined;
      const files = await (await import('../keys/pki/ca.js')).issueTechnologist({
        caDir: o.ca, caPin: secretFromEnv(o.caPinEnv, 'the CA key PIN'), operatorId: o.id, name: o.name, outDir: o.out, days: o.days,
        pin: secretFromEnv(o.pinEnv, pkcs11 ? 'the token PIN' : 'the technologist PIN'), pkcs11,
      });
      const where = pkcs11 ? `key "${pkcs11.keyLabel}" generated on token "${pkcs11.token}"` : 'key PIN-encrypted, 0600';
      console.log(`issued technologist ${o.id} (${o.name}): ${files.join(', ')} (${where})`);
      if (pkcs11) console.log(`seal with: --tech-pkcs11 '${tokenUris().formatPkcs11Uri(pkcs11)}' --tech-cert ${files[0]} --tech-pin-env ${o.pinEnv}`);
    });

  pki.command('issue-pacs')
    .description('make the PACS signer key (0600 file, or generated on a PKCS#11 token) and a CA-issued certificate with the PACS signer profile: pacs.key/pacs.crt; it signs only reconciliation changes (purposes 5 Verification / 13 Review)')
    .requiredOption('--ca <dir>', 'CA folder')
    .requiredOption('--id <pacsId>', 'PACS signer id (certificate CN, e.g. PACS-MAIN)')
    .requiredOption('--out <dir>', 'folder for pacs.crt (and pacs.key for a file key)')
    .option('--pkcs11-module <path>', 'generate the key on a PKCS#11 token with this module (e.g. /usr/lib/softhsm/libsofthsm2.so)')
    .option('--token <label>', 'with --pkcs11-module: token label')
    .option('--key-label <label>', 'with --pkcs11-module: label for the new key (default pacs-<id>)')
    .option('--pin-env <var>', 'with --pkcs11-module: environment variable holding the token PIN')
    .option('--days <n>', `certificate lifetime in days (default ${DEFAULTS.pacsDays})`, days)
    .addOption(caPinOption())
    .action(async (o: { ca: string; id: string; out: string; pkcs11Module?: string; token?: string; keyLabel?: string; pinEnv?: string; days?: number; caPinEnv?: string }) => {
      if ((o.token || o.keyLabel || o.pinEnv) && !o.pkcs11Module) throw new Error('--token, --key-label and --pin-env go with --pkcs11-module (a PACS key file is protected by its 0600 mode)');
      if (o.pkcs11Module && !o.token) throw new Error('--pkcs11-module needs --token LABEL');
      if (o.pkcs11Module && !o.pinEnv) throw new Error('--pkcs11-module needs --pin-env VAR (the environment variable holding the token PIN)');
      const pkcs11 = o.pkcs11Module ? { module: o.pkcs11Module, token: o.token!, keyLabel: o.keyLabel ?? `pacs-${o.id}` } : undefined;
      const files = await (await import('../keys/pki/ca.js')).issuePacs({
        caDir: o.ca, caPin: secretFromEnv(o.caPinEnv, 'the CA key PIN'), pacsId: o.id, outDir: o.out, days: o.days,
        pkcs11, pin: pkcs11 ? secretFromEnv(o.pinEnv, 'the token PIN') : undefined,
      });
      if (!pkcs11) {
        console.log(`issued PACS signer ${o.id}: ${files.join(', ')} (key 0600)`);
        return;
      }
      console.log(`issued PACS signer ${o.id}: ${files.join(', ')} (key "${pkcs11.keyLabel}" generated on token "${pkcs11.token}"; no key file)`);
      console.log(`key URI: ${tokenUris().formatPkcs11Uri(pkcs11)}`);
    });

  pki.command('revoke')
    .description('revoke a certificate (--cert) or every certificate of a device, technologist or PACS signer, from a given time, and re-sign the revocation list (then run "pki bundle" and redistribute)')
    .requiredOption('--ca <dir>', 'CA folder')
    .option('--cert <file>', 'the certificate to revoke (PEM or DER)')
    .option('--device <id>', "revoke every certificate this CA issued to the device (Ed25519 and ECDSA)")
    .option('--technologist <id>', 'revoke every certificate this CA issued to the technologist')
    .option('--pacs <id>', 'revoke every certificate this CA issued to the PACS signer')
    .addOption(new Option('--reason <reason>', 'RFC 5280 reason (unspecified counts as keyCompromise at verify)').choices(REVOCATION_REASONS.filter((r) => r !== 'removeFromCRL' && r !== 'certificateHold')).default('unspecified'))
    .option('--time <iso>', 'from when its signatures are refused (ISO 8601, default now); set it back to when a compromise became possible')
    .addOption(caPinOption())
    .action(async (o: { ca: string; cert?: string; device?: string; technologist?: string; pacs?: string; reason: RevocationReason; time?: string; caPinEnv?: string }) => {
      const targets = [o.cert, o.device, o.technologist, o.pacs].filter((x) => x !== undefined);
      if (targets.length !== 1) throw new Error('give exactly one of --cert FILE, --device ID, --technologist ID, --pacs ID');
      const time = o.time === undefined ? undefined : new Date(o.time);
      if (time && (Number.isNaN(time.getTime()) || !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(o.time!))) {
        throw new Error(`--time "${o.time}" is not an ISO 8601 date-time with a zone (e.g. 2026-03-01T08:00:00Z)`);
      }
      const common = { caDir: o.ca, caPin: secretFromEnv(o.caPinEnv, 'the CA key PIN'), reason: o.reason, time };
      let r: RevokeResult;
      if (o.cert !== undefined) {
        const { readCertificateDer } = await import('../keys/provision.js');
        let certDer: Uint8Array;
        try {
          certDer = readCertificateDer(o.cert);
        } catch {
          throw new Error(`cannot read certificate ${o.cert}`);
        }
        r = await (await import('../keys/pki/revoke.js')).revoke({ ...common, certDer });
      } else {
        const kind = o.device !== undefined ? 'device' : o.technologist !== undefined ? 'technologist' : 'pacs';
        r = await (await import('../keys/pki/revoke.js')).revokeIdentity({ ...common, kind, id: (o.device ?? o.technologist ?? o.pacs)! });
      }
      printRevocation(r);
    });

  pki.command('bundle')
    .description('re-sign a fresh revocation list and write the trust bundle PACS ingest loads (CA certificate + CRL, PEM)')
    .requiredOption('--ca <dir>', 'CA folder')
    .requiredOption('--out <file>', 'trust bundle to write (e.g. trust.pem)')
    .option('--crl-days <n>', 'revocation list lifetime in days from now (default: the CA\'s, 30 unless set at init)', days)
    .addOption(caPinOption())
    .action(async (o: { ca: string; out: string; crlDays?: number; caPinEnv?: string }) => {
      const r = await (await import('../keys/pki/ca.js')).writeBundle({ caDir: o.ca, caPin: secretFromEnv(o.caPinEnv, 'the CA key PIN'), out: o.out, crlDays: o.crlDays });
      console.log(`wrote ${o.out}: CA certificate + CRL number ${r.crlNumber} (${r.revoked} revoked), valid until ${r.nextUpdate.toISOString()}; PACS must load a fresh bundle before then`);
    });

  pki.command('list')
    .description('list the certificates this CA issued and revoked (no secrets)')
    .requiredOption('--ca <dir>', 'CA folder')
    .action(async (o: { ca: string }) => {
      const ca = (await import('../keys/pki/ca.js')).caInfo(o.ca);
      const revoked = new Map(ca.state.revoked.map((r) => [r.serial, r]));
      console.log(`site CA ${ca.cert.commonName}, valid until ${ca.cert.notAfter.toISOString()}, CRL number ${ca.state.crlNumber}`);
      for (const i of ca.state.issued) {
        const r = revoked.get(i.serial);
        console.log(`${i.profile.padEnd(12)} ${i.commonName.padEnd(16)} ${i.key.padEnd(10)} ${i.storage.padEnd(6)} serial ${i.serial} until ${i.notAfter}${r ? `  REVOKED from ${r.revokedAt} (${r.reason})` : ''}`);
      }
    });
}

function printRevocation(r: RevokeResult): void {
  for (const x of r.revoked) console.log(`revoked ${x.commonName} (serial ${x.serial}) from ${x.revokedAt} (${x.reason})`);
  console.log(`CRL number ${r.crlNumber} written. Run "radseal pki bundle" and distribute the bundle to PACS ingest.`);
  const superseded = r.revoked[0]?.reason === 'superseded';
  for (const { cert: c, refused } of r.others) {
    const what = `${c.commonName}'s ${c.key} ${c.profile} certificate serial ${c.serial}`;
    console.log(refused
      ? `note: radseal verify also refuses ${what} (same ${c.profile}); for other verifiers (OpenSSL, DCMTK) put it on the list too: ${superseded ? 'radseal pki revoke --cert FILE --reason superseded' : `radseal pki revoke --${c.profile} ${c.commonName}`}`
      : `note: ${what} stays valid (issued after the superseded certificate: its successor)`);
  }
}
