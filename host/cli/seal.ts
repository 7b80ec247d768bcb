// radseal seal: one frame file → a sealed DICOM DX object. The options are defined here; the
// sealing code (core, DICOM, keys) is loaded when the command runs, not when the CLI starts.
import type { Command } from 'commander';
import type { LoadedDevice } from '../seal/device.js';
import { UsageOrIoError, nonNegativeInt, pinFromEnv } from './args.js';

export function register(program: Command): void {
  program.command('seal')
    .description('hash a frame in the core, build a signed DICOM DX object, write it atomically')
    .requiredOption('--key <file|uri>', "device private key: PKCS#8 PEM file, or a key on a PKCS#11 token: 'pkcs11:token=LABEL;object=KEYLABEL?module-path=LIB' (PIN from --pin-env)")
    .requiredOption('--cert <file>', 'device certificate (PEM or DER)')
    .option('--pin-env <var>', 'with a pkcs11: --key, the environment variable holding the token PIN')
    .requiredOption('--in <frame>', 'frame: .raw (uint16 LE) or grayscale .png (8/16-bit)')
    .requiredOption('--out <file>', 'output .dcm')
    .option('--rows <n>', 'rows (for .raw)', nonNegativeInt('--rows'))
    .option('--cols <n>', 'columns (for .raw)', nonNegativeInt('--cols'))
    .option('--bits-stored <n>', 'bits stored (for .raw; optional for .png)', nonNegativeInt('--bits-stored'))
    .option('--serial <n>', "frame serial (uint32; default: a random one). Serials, and so watermark payloads, must be unique per device", nonNegativeInt('--serial'))
    .option('--meta <file>', 'JSON with patient/study/equipment/exposure attributes (and boardId)')
    .option('--board <board>', "capture board the frame came through (boards/<id>.json or a board file): recorded in the attestation; its detector gives the equipment attributes (default: the meta file's boardId)")
    .option('--patient-orientation <row\\col>', "Patient Orientation as displayed, e.g. 'L\\F' for a PA chest, 'A\\F' for a left lateral (or patientOrientation in --meta): required, radseal never signs a guess")
    .option('--pixel-spacing <mm>', "Imager Pixel Spacing in mm, '0.139' or 'ROW\\COL' (or the board's detector.pixelSpacingMm, or imagerPixelSpacing in --meta): required, radseal never signs a guess")
    .option('--ecdsa-key <file>', 'device ECDSA P-256 key: adds a second signature DCMTK dcmsign can verify')
    .option('--ecdsa-cert <file>', 'certificate of the ECDSA key (same CN as the device)')
    .option('--tech-key <file>', 'technologist Ed25519 key (PKCS#8, plain 0600 or PIN-encrypted): adds the co-signature')
    .option('--tech-cert <file>', 'technologist certificate (CN = operator id)')
    .option('--tech-pkcs11 <uri>', "technologist key on a PKCS#11 token instead of --tech-key: 'pkcs11:token=LABEL;object=KEYLABEL?module-path=/usr/lib/softhsm/libsofthsm2.so' (PIN from --tech-pin-env)")
    .option('--tech-pin-env <var>', 'environment variable holding the technologist key PIN (or token PIN)')
    .option('--operator <name>', "Operators' Name (PN, e.g. Doe^Jane) of the co-signing technologist")
    .option('--tile-size <n>', 'tile edge of the per-tile hash table (0: none)', nonNegativeInt('--tile-size'), 64)
    .option('--wm-key <file>', 'site watermark key (radseal watermark keygen): embed the capture watermark before hashing and signing')
    .option('--tsa <url>', 'RFC 3161 time-stamping authority: the device signature gets a Certified Timestamp (fails if the TSA does not answer)')
    .action(async (o: { key: string; cert: string; pinEnv?: string; in: string; out: string; rows?: number; cols?: number; bitsStored?: number; serial?: number; meta?: string; ecdsaKey?: string; ecdsaCert?: string; techKey?: string; techCert?: string; techPkcs11?: string; techPinEnv?: string; operator?: string; tileSize: number; wmKey?: string; tsa?: string; board?: string; patientOrientation?: string; pixelSpacing?: string }) => {
      // What every seal needs; the board schema (ajv), the time-stamp client (pkijs) and the watermark key
      // are loaded below only when their option is given.
      const [{ existsSync }, { randomInt }, device_, { isPkcs11Uri }, { loadFrameFile }, { sealFrame }, meta_, { writeFileAtomic }] = await Promise.all([
        import('node:fs'), import('node:crypto'), import('../seal/device.js'), import('../keys/pkcs11.js'),
        import('../seal/frame-file.js'), import('../seal/seal.js'), import('../seal/meta.js'), import('../io/atomic.js'),
      ]);
      const { loadDeviceIdentity, loadTechnologist, loadTokenDeviceIdentity, loadTokenTechnologist, withEcdsa } = device_;
      const { missingAcquisitionAttributes, parseOrientation, parsePixelSpacing, readMetaFile } = meta_;
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
        const { frame, rawFrameSha256 } = await loadFrameFile(o.in, { rows: o.rows, cols: o.cols, bitsStored: o.bitsStored });
        const watermark = o.wmKey ? { key: (await import('../keys/watermark-key.js')).loadWatermarkKey(o.wmKey) } : undefined;
        if (o.serial !== undefined && o.serial > 0xffffffff) throw new UsageOrIoError('--serial must fit in 32 bits');
        const frameSerial = o.serial ?? randomInt(1, 2 ** 31);
        const tsa = o.tsa ? await import('../net/tsa-client.js') : undefined;
        const timestamp = tsa ? (sig: Uint8Array) => tsa.requestTimestamp(o.tsa!, sig) : undefined;
        // markInPlace: the frame read from the file is needed only for its raw hash, taken already.
        // gathered: the object is written as head, the frame where it lies in core memory, tail.
        const sealed = await sealFrame({ frame, rawFrameSha256, frameSerial, meta, technologist, tileSize: o.tileSize, watermark, markInPlace: true, timestamp, gathered: true }, device)
          .finally(() => technologist?.close?.());
        writeFileAtomic(o.out, sealed.parts, { noClobber: true });
        console.log(`sealed ${o.in} → ${o.out} (${frame.rows}x${frame.cols}, ${frame.bitsStored} bits, device ${device.deviceId}${tokenKey ? ' (key on token)' : ''}, frame serial ${frameSerial}, raw SHA-256 ${Buffer.from(rawFrameSha256).toString('hex')}${sealed.timestamped ? ', certified timestamp' : ''})`);
      } finally {
        closeDevice?.();
      }
    });
}
