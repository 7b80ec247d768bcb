// radseal seal: one frame file → a sealed DICOM DX object. The options are defined here; the
// sealing code (core, DICOM, keys: seal-action.ts) is loaded when the command runs, not when the CLI starts.
import type { Command } from 'commander';
import { nonNegativeInt } from './args.js';
import type { SealOptions } from './seal-action.js';

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
    .action(async (o: SealOptions) => (await import('./seal-action.js')).sealAction(o));
}
