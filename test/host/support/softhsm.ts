// A private SoftHSM token store for one test file. SoftHSM reads its
// configuration when the PKCS#11 module is initialised, so call this at the
// top of the file, before anything loads the library; children inherit it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export function useSoftHsm(dir: string): void {
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
}
