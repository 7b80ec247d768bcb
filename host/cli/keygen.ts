// radseal keygen: device and technologist keys with their certificates.
// The key code is loaded when the command runs, not when the CLI starts.
import type { Command } from 'commander';
import { pinFromEnv } from './args.js';

export function register(program: Command): void {
  program.command('keygen')
    .description('make a device key (PKCS#8 PEM, mode 0600) and a self-signed Ed25519 certificate')
    .requiredOption('--id <deviceId>', 'device id, becomes the certificate subject CN')
    .requiredOption('--out <dir>', 'folder for device.key and device.crt')
    .option('--ecdsa', 'also make device-ecdsa.key/.crt: an ECDSA P-256 key for a second signature DCMTK can verify')
    .option('--technologist', 'make a technologist key instead: --id is the operator id, files <id>.key/<id>.crt')
    .option('--pin-env <var>', 'with --technologist: encrypt the key with the PIN held in this environment variable')
    .action(async (o: { id: string; out: string; ecdsa?: boolean; technologist?: boolean; pinEnv?: string }) => {
      const { generateDeviceKey, generateEcdsaDeviceKey, generateTechnologistKey } = await import('../keys/provision.js');
      if (o.technologist) {
        const paths = await generateTechnologistKey(o.id, o.out, pinFromEnv(o.pinEnv));
        console.log(`wrote ${paths.key} (0600${o.pinEnv ? ', PIN-encrypted' : ''}) and ${paths.cert}`);
        return;
      }
      const paths = await generateDeviceKey(o.id, o.out);
      console.log(`wrote ${paths.key} (0600) and ${paths.cert}`);
      if (o.ecdsa) {
        const ec = await generateEcdsaDeviceKey(o.id, o.out);
        console.log(`wrote ${ec.key} (0600) and ${ec.cert}`);
      }
    });
}
