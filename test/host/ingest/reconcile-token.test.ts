// The PACS signer's key on a PKCS#11 token (SoftHSM, as `pki issue-pacs --pkcs11-module` makes
// it): radseal reconcile --key pkcs11:… signs the correction on the token; the PIN comes from an
// environment variable and never shows in output or errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { SOFTHSM_MODULE, useSoftHsm } from '../support/softhsm.js';
import { TokenSession } from '../../../host/keys/pkcs11.js';
import { newSeed, seedSigner } from '../../../host/keys/ed25519.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { toPem } from '../../../host/keys/pem.js';
import { RADSEAL_ARC } from '../../../host/keys/pki/profiles.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { encodeDataSet } from '../../../host/dicom/writer.js';
import { checkSignatures } from '../../../host/dicom/signatures.js';
import { asCaptured } from '../../../host/ingest/as-captured.js';
import { register as registerReconcile } from '../../../host/cli/reconcile.js';
import { makeIdentities, sealTo, testFrame } from '../dicom/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'radseal-reconcile-token-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
useSoftHsm(dir); // before anything loads the PKCS#11 module
const TOKEN = 'PACS token';
const PIN = '48213-pin';
process.env.RADSEAL_TEST_PACS_PIN = PIN;

test('radseal reconcile --key pkcs11:…: the PACS signature is made on the token', async () => {
  const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '11111111'], { encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  const session = TokenSession.open(SOFTHSM_MODULE, TOKEN, PIN);
  const publicKey = session.generateEd25519('pacs-PACS-1');
  session.close();
  const issuer = seedSigner(newSeed());
  const cert = join(dir, 'pacs.crt');
  writeFileSync(cert, toPem('CERTIFICATE', await issueCertificate({ subject: { commonName: 'PACS-1' }, issuer: { commonName: 'Test CA' }, subjectPublicKey: publicKey, issuerSigner: issuer, extendedKeyUsage: [`${RADSEAL_ARC}.2.3`] })));
  const ids = await makeIdentities(dir);
  const sealed = await sealTo(join(dir, 'sealed.dcm'), testFrame(64, 48, 12, 9), ids.device);

  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    const program = new Command('radseal').exitOverride();
    registerReconcile(program);
    const uri = `pkcs11:token=${encodeURIComponent(TOKEN)};object=pacs-PACS-1?module-path=${SOFTHSM_MODULE}`;
    await program.parseAsync(['node', 'radseal', 'reconcile', join(dir, 'sealed.dcm'), '--set', 'PatientID=PID-55', '--key', uri, '--cert', cert, '--pin-env', 'RADSEAL_TEST_PACS_PIN', '--system', 'PACS-1', '--out', join(dir, 'out.dcm')]);
  } finally {
    console.log = log;
  }
  assert.ok(!lines.join('\n').includes(PIN), 'the PIN never shows');
  const current = readPart10(new Uint8Array(readFileSync(join(dir, 'out.dcm')))).dataSet;
  const pacs = checkSignatures(current).find((c) => c.purposeCode === '5');
  assert.equal(pacs?.valid, true);
  assert.deepEqual(Buffer.from(pacs!.certificate!.ed25519PublicKey!), Buffer.from(publicKey));
  const back = asCaptured(current);
  assert.deepEqual(back.problems, []);
  assert.equal(Buffer.from(encodeDataSet(back.dataSet)).toString('hex'), Buffer.from(encodeDataSet(readPart10(sealed).dataSet)).toString('hex'));
});
