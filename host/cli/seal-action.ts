// What `radseal seal` does once its options are parsed (host/cli/seal.ts defines them): every
// module a seal needs is imported here at the top, so the build bundles them into one file
// (dist/host/cli/seal-action.bundle.js, scripts/bundle-cli.mjs) that loads when the command
// runs. The board schema (ajv), the time-stamp client (pkijs) and the watermark key are loaded
// below only when their option is given.
import { existsSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { loadDeviceIdentity, loadTechnologist, loadTokenDeviceIdentity, loadTokenTechnologist, withEcdsa, type LoadedDevice } from '../seal/device.js';
import { isPkcs11Uri } from '../keys/pkcs11.js';
import { loadFrameFile, sealCoreReserveBytes } from '../seal/frame-file.js';
import { sealToFile } from '../seal/seal-file.js';
import { missingAcquisitionAttributes, parseOrientation, parsePixelSpacing, readMetaFile } from '../seal/meta.js';
import { UsageOrIoError, pinFromEnv } from './args.js';

export interface SealOptions {
  key: string; cert: string; pinEnv?: string; in: string; out: string;
  rows?: number; cols?: number; bitsStored?: number; serial?: number; meta?: string;
  ecdsaKey?: string; ecdsaCert?: string; techKey?: string; techCert?: string; techPkcs11?: string; techPinEnv?: string;
  operator?: string; tileSize: number; wmKey?: string; tsa?: string; board?: string; patientOrientation?: string; pixelSpacing?: string;
}

export async function sealAction(o: SealOptions): Promise<void> {
  if (existsSync(o.out)) throw new UsageOrIoError(`${o.out} already exists; radseal never overwrites a sealed object`);
  if (!o.ecdsaKey !== !o.ecdsaCert) throw new UsageOrIoError('--ecdsa-key and --ecdsa-cert go together');
  if (o.techKey && o.techPkcs11) throw new UsageOrIoError('--tech-key and --tech-pkcs11 are alternatives: give one');
  if (!(o.techKey || o.techPkcs11) !== !o.techCert) throw new UsageOrIoError('--tech-cert goes with --tech-key or --tech-pkcs11');
  if (o.techPkcs11 && !o.techPinEnv) throw new UsageOrIoError('--tech-pkcs11 needs --tech-pin-env VAR (the token PIN)');
  const tokenKey = isPkcs11Uri(o.key);
  if (tokenKey && !o.pinEnv) throw new UsageOrIoError('a pkcs11: --key needs --pin-env VAR (the environment variable holding the token PIN)');
  if (!tokenKey && o.pinEnv) throw new UsageOrIoError('--pin-env goes with a pkcs11: --key (a device key file is protected by its 0600 mode, not a PIN)');
  let device: LoadedDevice = tokenKey ? loadTokenDeviceIdentity(o.key, o.cert, pinFromEnv(o.pinEnv)!) : loadDeviceIdentity(o.key, o.cert);
  const closeDevice = device.close;
  try {
    if (o.ecdsaKey && o.ecdsaCert) device = withEcdsa(device, o.ecdsaKey, o.ecdsaCert);
    const technologist = o.techPkcs11 && o.techCert ? loadTokenTechnologist(o.techPkcs11, o.techCert, pinFromEnv(o.techPinEnv)!, o.operator)
      : o.techKey && o.techCert ? loadTechnologist(o.techKey, o.techCert, pinFromEnv(o.techPinEnv), o.operator) : undefined;
    if (o.operator && !technologist) throw new UsageOrIoError('--operator needs --tech-key/--tech-cert (or set operatorsName in --meta)');
    const { boardId: metaBoardId, ...fileMeta } = o.meta ? readMetaFile(o.meta) : {};
    const boardName = o.board ?? metaBoardId;
    const boards = boardName ? await import('../boards/board.js') : undefined;
    const board = boardName ? boards!.loadBoard(boardName) : undefined;
    if (board && metaBoardId && board.id !== metaBoardId) throw new UsageOrIoError(`--board ${board.id} contradicts boardId "${metaBoardId}" in ${o.meta}`);
    if (board) device = { ...device, boardId: board.id };
    const meta = { ...(board ? boards!.boardEquipment(board) : {}), ...fileMeta };
    if (o.patientOrientation) meta.patientOrientation = parseOrientation(o.patientOrientation, '--patient-orientation');
    if (o.pixelSpacing) meta.imagerPixelSpacing = parsePixelSpacing(o.pixelSpacing, '--pixel-spacing');
    const missing = missingAcquisitionAttributes(meta, {
      spacing: "give --pixel-spacing, the board's detector.pixelSpacingMm (--board) or imagerPixelSpacing in --meta",
      orientation: "give --patient-orientation (e.g. 'L\\F') or patientOrientation in --meta",
    });
    if (missing.length) throw new UsageOrIoError(`${missing.join('; ')}. radseal signs no default for these: a guess would be signed for good`);
    // Without a watermark the frame's core needs room only for the tile table beside the frame.
    const coreReserveBytes = o.wmKey || !o.rows || !o.cols ? undefined : sealCoreReserveBytes(o.rows, o.cols, o.tileSize);
    // Without a watermark the tile table is taken as the file is read (with one, of the marked pixels).
    const loaded = await loadFrameFile(o.in, { rows: o.rows, cols: o.cols, bitsStored: o.bitsStored, coreReserveBytes, tileSize: o.wmKey ? 0 : o.tileSize });
    const { frame, rawFrameSha256 } = loaded;
    const watermark = o.wmKey ? { key: (await import('../keys/watermark-key.js')).loadWatermarkKey(o.wmKey) } : undefined;
    if (o.serial !== undefined && o.serial > 0xffffffff) throw new UsageOrIoError('--serial must fit in 32 bits');
    const frameSerial = o.serial ?? randomInt(1, 2 ** 31);
    const tsa = o.tsa ? await import('../net/tsa-client.js') : undefined;
    const timestamp = tsa ? (sig: Uint8Array) => tsa.requestTimestamp(o.tsa!, sig) : undefined;
    // markInPlace: the frame read from the file is needed only for its raw hash, taken already.
    // The head and the frame, where it lies in core memory, are written while the seal hashes them.
    const sealed = await sealToFile(o.out, { frame, rawFrameSha256, frameSerial, meta, technologist, tileSize: o.tileSize, watermark, markInPlace: true, timestamp,
      tilesAsReceived: loaded.tiles, rangeAsReceived: loaded.range }, device)
      .finally(() => technologist?.close?.());
    console.log(`sealed ${o.in} → ${o.out} (${frame.rows}x${frame.cols}, ${frame.bitsStored} bits, device ${device.deviceId}${tokenKey ? ' (key on token)' : ''}, frame serial ${frameSerial}, raw SHA-256 ${Buffer.from(rawFrameSha256).toString('hex')}${sealed.timestamped ? ', certified timestamp' : ''})`);
    if (sealed.watermarkProblem) console.log(`watermark: no room for the robust mark in this frame (${sealed.watermarkProblem}); verify with the site key confirms the frame through the fragile layer, but the mark will not survive an export`);
  } finally {
    closeDevice?.();
  }
}
