// radseal reconcile | reconcile-service: PACS corrections of patient and study identification
// (IHE PIR). Argument parsing and printing only; the work is in host/ingest/reconcile*.ts.
// The signing and DICOM code is loaded when a command runs, not at start-up.
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { CorrectionReason } from '../ingest/reconcilable.js';
import { hostPort, lazyChoices, pinFromEnv } from './args.js';
import { loadOnUse } from '../io/load-on-use.js';

// The correction rules (and the DICOM signature code under them) load when a command runs.
const reconcilable = loadOnUse<typeof import('../ingest/reconcilable.js')>(import.meta.url, '../ingest/reconcilable.js');

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface SignerOptionValues { key: string; cert: string; pinEnv?: string; system: string; trust?: string }

/** Who may have signed earlier corrections this PACS extends: by default only its own key. */
async function historyTrust(o: SignerOptionValues) {
  if (!o.trust) return undefined;
  const [{ historySignersTrustedBy }, { parseCertificates }] = await Promise.all([import('../ingest/pacs-signer.js'), import('../keys/certs.js')]);
  let bytes: Buffer;
  try {
    bytes = readFileSync(o.trust);
  } catch (err) {
    throw new Error(`cannot read ${o.trust}: ${(err as NodeJS.ErrnoException).code ?? 'I/O error'}`);
  }
  return historySignersTrustedBy(parseCertificates(new Uint8Array(bytes)));
}

const withSignerOptions = (c: Command) => c
  .requiredOption('--key <file|uri>', "PACS signer private key: PKCS#8 PEM file (mode 0600; plain or PIN-encrypted), or a key on a PKCS#11 token: 'pkcs11:token=LABEL;object=KEYLABEL?module-path=LIB'")
  .requiredOption('--cert <file>', 'PACS signer certificate (PEM or DER)')
  .option('--pin-env <var>', 'environment variable holding the key PIN (a PIN-encrypted key file) or the token PIN')
  .requiredOption('--system <id>', 'Modifying System (0400,0563): this PACS, e.g. PACS-1')
  .option('--trust <bundle>', "PEM bundle (e.g. the site's trust bundle): earlier corrections signed by PACS signers it trusts may be extended (default: only this key's)");

export function register(program: Command): void {
  withSignerOptions(program.command('reconcile')
    .description('correct patient/study identification (IHE PIR): record the previous values in Original Attributes Sequence, sign as the PACS, write a new file')
    .argument('<file>', 'DICOM object as stored (Explicit VR Little Endian)')
    .requiredOption('--set <TAG=VALUE>', 'new value, e.g. "0010,0020=NEW-ID" or "PatientName=Doe^John" (repeat)', collect))
    .addOption(lazyChoices(new Option('--reason <reason>', 'Reason for the Attribute Modification').default('CORRECT'), () => reconcilable().REASONS))
    .addOption(new Option('--purpose <purpose>', 'purpose of the PACS signature (CID 7007)').choices(['verification', 'review']).default('verification'))
    .option('--source <text>', 'Source of Previous Values (0400,0564); default: the attested device id')
    .requiredOption('--out <file>', 'output .dcm (never an existing file)')
    .action(async (file: string, o: SignerOptionValues & { set: string[]; reason: CorrectionReason; purpose: 'verification' | 'review'; source?: string; out: string }) => {
      const [{ formatTag }, { writeFileAtomic }, { loadPacsSigner }, { parseChange }, { reconcilePart10 }] = await Promise.all([
        import('../dicom/model.js'), import('../io/atomic.js'), import('../ingest/pacs-signer.js'), import('../ingest/reconcilable.js'), import('../ingest/reconcile-part10.js'),
      ]);
      const changes = o.set.map(parseChange);
      const trustHistorySigner = await historyTrust(o);
      let input: Buffer;
      try {
        input = readFileSync(file);
      } catch (err) {
        throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'I/O error'}`);
      }
      const pacs = loadPacsSigner(o.key, o.cert, pinFromEnv(o.pinEnv));
      const { bytes, result } = await reconcilePart10(new Uint8Array(input), changes, {
        signer: pacs.signer, certificateDer: pacs.certificateDer, modifyingSystem: o.system, reason: o.reason, purpose: o.purpose, sourceOfPreviousValues: o.source,
        trustHistorySigner,
      }).finally(() => pacs.close?.());
      try {
        writeFileAtomic(o.out, bytes, { noClobber: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new Error(code === 'EEXIST' ? `${o.out} already exists; refusing to overwrite it` : `cannot write ${o.out}: ${code ?? 'I/O error'}`);
      }
      for (const c of result.changes) console.log(`${formatTag(c.tag)}: "${c.before}" -> "${c.after}"`);
      console.log(`wrote ${o.out}: ${o.reason} by ${o.system}, signed by ${pacs.commonName} (MAC ID ${result.macId}${result.removedSignatures ? `, replacing ${result.removedSignatures} earlier reconciliation signature(s)` : ''})`);
    });

  withSignerOptions(program.command('reconcile-service')
    .description('HTTP service on loopback for a PACS: POST /reconcile?set=TAG=VALUE&reason=… with DICOM bytes → the corrected, PACS-signed object'))
    .requiredOption('--listen <host:port>', 'loopback address, e.g. 127.0.0.1:8044')
    .action(async (o: SignerOptionValues & { listen: string }) => {
      const [{ loadPacsSigner }, { startReconcileService }] = await Promise.all([import('../ingest/pacs-signer.js'), import('../ingest/reconcile-service.js')]);
      const pacs = loadPacsSigner(o.key, o.cert, pinFromEnv(o.pinEnv));
      const { host, port } = hostPort(o.listen, '127.0.0.1:8044');
      const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
      const service = await startReconcileService({ host, port, pacs, modifyingSystem: o.system, trustHistorySigner: await historyTrust(o), log });
      console.log(`radseal reconcile-service: http://${host}:${service.port}/reconcile (${o.system}, signer ${pacs.commonName})`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void service.close().then(() => {
            pacs.close?.();
            resolve();
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
