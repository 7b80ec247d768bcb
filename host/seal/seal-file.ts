// A frame sealed into a file, as `radseal seal` writes it: the object's head and pixels go to a
// draft beside the file (host/io/atomic.ts DraftFile, on the thread pool) as soon as the seal has
// them final, before the MAC is computed, and reach the disk while it runs (durable writes);
// after signing only the tail, an fsync and the link are left. The file appears complete or not
// at all, never over an existing one (as writeFileAtomic's noClobber); a seal that fails leaves
// no draft behind.
import { dirname, resolve } from 'node:path';
import { DraftFile } from '../io/atomic.js';
import { sealFrame, type DeviceIdentity, type SealedObject, type SealRequest } from './seal.js';

export async function sealToFile(path: string, req: Omit<SealRequest, 'gathered' | 'writeAhead'>, device: DeviceIdentity): Promise<SealedObject> {
  const draft = DraftFile.open(dirname(resolve(path)), { durableWrites: true });
  try {
    const sealed = await sealFrame({ ...req, gathered: true, writeAhead: (head, pixels) => { draft.write(head, 0); draft.write(pixels, head.length); } }, device);
    const [head, pixels, tail] = sealed.parts as [Uint8Array, Uint8Array, Uint8Array];
    const tailAt = head.length + pixels.length;
    await draft.finish([{ bytes: tail, position: tailAt }], tailAt + tail.length);
    draft.publish(path, { noClobber: true });
    return sealed;
  } catch (err) {
    await draft.abort();
    throw err;
  }
}
