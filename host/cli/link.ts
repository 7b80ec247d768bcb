// `radseal sim` and `radseal capture`: argument parsing and wiring only. The link, the core and
// the keys are loaded when a command runs, not at start-up.
import type { Command } from 'commander';
import type { Board } from '../boards/board.js';
import type { CaptureService } from '../capture/service.js';
import { withTlsOptions, type TlsOptionValues } from './tls-options.js';
import { withWorklistOptions, type WorklistOptionValues, type WorklistWiring } from './worklist.js';
import type { SessionEndpoint } from '../capture/session-endpoint.js';
import { withStationOptions, type StationOptionValues } from './station-options.js';
import type { LoadedDevice } from '../seal/device.js';
import type { PacsTarget } from '../net/destination.js';
import { dirname, join } from 'node:path';
import { withAuditSyslogOptions, type AuditSyslogOptionValues } from '../audit/cli-options.js';

const stamp = () => new Date().toISOString();
const logLine = (m: string) => console.log(`${stamp()} ${m}`);

export function register(program: Command): void {
  program
    .command('sim')
    .description('detector simulator: the device side of the link, sending realistic frames, with optional fault injection')
    .requiredOption('--board <board>', 'board id (boards/<id>.json) or path to a board file')
    .option('--frames <n>', 'number of frames to send', (v) => positiveInt(v, '--frames'), 10)
    .option('--faults <spec>', 'e.g. corrupt=1e-5,drop=0.01,truncate=0.005,garbage=0.001,stall=0.1:300,disconnect=0.05,seed=42')
    .option('--port <port>', 'device-side serial path, or HOST:PORT for a TCP board (default: from the board)')
    .option('--start-serial <n>', 'first frame serial (default: time-based, never reused)', (v) => positiveInt(v, '--start-serial'))
    .option('--quiet', 'only the summary')
    .action(async (o: { board: string; frames: number; faults?: string; port?: string; startSerial?: number; quiet?: boolean }) => {
      const [{ loadBoard }, { runSimulator }] = await Promise.all([import('../boards/board.js'), import('../sim/sim.js')]);
      const board = loadBoard(o.board);
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const rep = await runSimulator(board, {
        frames: o.frames, faults: o.faults, port: o.port, startSerial: o.startSerial, signal: ac.signal, log: o.quiet ? undefined : logLine,
      });
      const mb = rep.payloadBytes / 1e6;
      console.log(
        `sim: ${rep.framesAcked}/${rep.sent.length} frames ACKed (${rep.duplicatesAcked} as duplicates), ${rep.failed.length} failed; ` +
          `${mb.toFixed(1)} MB in ${(rep.elapsedMs / 1000).toFixed(1)} s = ${(mb / (rep.elapsedMs / 1000)).toFixed(1)} MB/s; frames from ${rep.frameSource}`,
      );
      const { creditWaitMs, drainWaitMs, ...counts } = rep.device;
      console.log(`sim: device ${JSON.stringify(counts)}`);
      // Where the sending time went: waiting for the host (credit) or for the line (drain).
      console.log(`sim: waited ${creditWaitMs.toFixed(0)} ms for the host's credit and ${drainWaitMs.toFixed(0)} ms for the line to drain; ${rep.cpuMs.toFixed(0)} ms of CPU while sending`);
      if (o.faults) console.log(`sim: faults injected ${JSON.stringify(rep.faults)}`);
      if (rep.failed.length) process.exitCode = 1;
    });

  withAuditSyslogOptions(withWorklistOptions(withStationOptions(withTlsOptions(program
    .command('capture')
    .description('capture service: receive frames, seal them, store durably, ACK the device, forward to PACS; runs until stopped'), 'the forwarding to PACS'))))
    .requiredOption('--board <board>', 'board id (boards/<id>.json) or path to a board file')
    .requiredOption('--key <file|uri>', "device private key: PKCS#8 PEM file (0600), or a key on a PKCS#11 token: 'pkcs11:object=KEYLABEL' (token and module from the board's keys.slotLabel / keys.pkcs11Module unless the URI gives token=… / module-path=…)")
    .requiredOption('--cert <file>', 'device certificate')
    .option('--pin-env <var>', 'with a pkcs11: --key, the environment variable holding the token PIN')
    .requiredOption('--outbox <dir>', 'durable outbox folder (ready/ is the send queue)')
    .option('--forward <AE@HOST:PORT|URL>', 'send every sealed object to PACS, in order, retrying until it is taken: C-STORE to AE@HOST:PORT, or DICOMweb STOW-RS to an http(s)://…/studies URL; repeat for several targets (each gets every object; one that is down holds back no other)', collect)
    .option('--port <port>', 'host-side serial path, or HOST:PORT for a TCP board (default: from the board)')
    .option('--wm-key <file>', 'site watermark key: embed the capture watermark')
    .option('--ecdsa-key <file>', 'device ECDSA P-256 key for a second signature DCMTK can verify (default with a board whose keys.ecdsaSignature is true: device-ecdsa.key beside --key)')
    .option('--ecdsa-cert <file>', 'certificate of the ECDSA key (default: device-ecdsa.crt beside --cert)')
    .option('--tech-key <file>', 'technologist key for the co-signature')
    .option('--tech-cert <file>', 'technologist certificate')
    .option('--tech-pin-env <var>', 'environment variable holding the technologist key PIN')
    .option('--tsa <url>', 'RFC 3161 time-stamping authority: each device signature gets a Certified Timestamp (a TSA outage seals without one, and logs it)')
    .option('--status-every <s>', 'status summary interval in seconds', (v) => positiveInt(v, '--status-every'), 30)
    .option('--patient-orientation <row\\col>', "without --worklist (a fixed stand): Patient Orientation of every exposure as displayed, e.g. 'L\\F' for a PA chest stand; required then, since it is signed into every image and radseal never guesses it")
    .option('--view-position <code>', 'with --patient-orientation: View Position of every exposure, e.g. PA')
    .action(async (o: TlsOptionValues & StationOptionValues & AuditSyslogOptionValues & { patientOrientation?: string; viewPosition?: string; board: string; key: string; cert: string; pinEnv?: string; outbox: string; forward?: string[]; port?: string; wmKey?: string; ecdsaKey?: string; ecdsaCert?: string; techKey?: string; techCert?: string; techPinEnv?: string; tsa?: string; statusEvery: number }) => {
      if ((o.tlsKey || o.tlsCert || o.tlsCa) && !o.forward?.length) throw new Error('--tls-key/--tls-cert/--tls-ca secure the connection to PACS: give --forward too');
      const [{ loadBoard }, { CaptureService }, { parseForwardTargets }, { tlsFrom }, { worklistFor }, { sessionEndpointFor, withCallingAe, withoutTechnologistOf }, deviceModule, { isPkcs11Uri }, { loadWatermarkKey }] = await Promise.all([
        import('../boards/board.js'), import('../capture/service.js'), import('../net/forwarder.js'), import('./tls-options.js'), import('./worklist.js'),
        import('./station-options.js'), import('../seal/device.js'), import('../keys/pkcs11.js'), import('../keys/watermark-key.js'),
      ]);
      const { loadTechnologist, withEcdsa } = deviceModule;
      const board = loadBoard(o.board);
      let device = loadCaptureDevice(deviceModule, isPkcs11Uri, board, o.key, o.cert, o.pinEnv);
      const closeDevice = device.close;
      let svc: CaptureService;
      let sessions: SessionEndpoint | undefined;
      let worklist: WorklistWiring | undefined;
      let targets: PacsTarget[] = [];
      try {
        targets = withCallingAeAll(parseForwardTargets(o.forward, tlsFrom(o)), o.callingAe, withCallingAe);
        // A board (or explicit flags) turns on the second, DCMTK-verifiable device signature.
        if (o.ecdsaKey || o.ecdsaCert || board.keys.ecdsaSignature) {
          if (isPkcs11Uri(o.key) && !o.ecdsaKey) throw new Error(`board ${board.id} sets keys.ecdsaSignature, and the device key is on a token: give the ECDSA key file with --ecdsa-key (and --ecdsa-cert)`);
          device = withEcdsa(device, o.ecdsaKey ?? join(dirname(o.key), 'device-ecdsa.key'), o.ecdsaCert ?? join(dirname(o.cert), 'device-ecdsa.crt'));
        }
        const technologist = o.techKey && o.techCert ? loadTechnologist(o.techKey, o.techCert, o.techPinEnv ? process.env[o.techPinEnv] : undefined) : undefined;
        sessions = sessionEndpointFor(o, board, o.outbox, { confirm: (t) => svc.confirmHeld(t), heldCount: () => svc.held?.names().length ?? 0, log: logLine, deviceKey: o.key });
        worklist = worklistFor(o as typeof o & WorklistOptionValues, device, logLine);
        const positioning = stationPositioning(o, worklist !== undefined, await import('../seal/meta.js'));
        svc = new CaptureService({
          board, device, outboxDir: o.outbox, port: o.port, log: logLine, technologist,
          technologistProvider: sessions?.technologist, withoutTechnologist: withoutTechnologistOf(o, board), keepSentDays: o.keepSentDays,
          forward: targets.length ? targets : undefined,
          watermarkKey: o.wmKey ? loadWatermarkKey(o.wmKey) : undefined,
          timestampUrl: o.tsa,
          procedures: worklist?.desk,
          positioning,
        });
      } catch (err) {
        closeDevice?.();
        throw err;
      }
      const summary = () => {
        const s = svc.status();
        logLine(`status: link ${s.linkUp ? 'up' : 'down'}; frames received ${s.received}, sealed ${s.sealed}, forwarded ${s.forwarded}, retried ${s.retried}, rejected ${s.rejected}, duplicates ${s.duplicates}${o.tsa ? `, timestamped ${s.timestamped}` : ''}; ${s.queued} queued for PACS${s.deadLettered ? `, ${s.deadLettered} refused by PACS (outbox dead-letter/)` : ''}`);
        // Several targets: what waits for each, so a target that is down shows by name.
        if (targets.length > 1) for (const t of svc.forwarder!.perTarget()) logLine(`status: ${t.target}: forwarded ${t.forwarded}, retried ${t.retried}, refused ${t.deadLettered}; ${t.queued} waiting${t.lastError ? `; last error: ${t.lastError}` : ''}`);
      };
      let atna;
      try {
        atna = await (await import('../audit/service-audit.js')).startServiceAudit(o, { name: 'radseal capture', aeTitle: o.callingAe, sourceType: '2', defaultSpool: join(o.outbox, 'atna-spool'), logLine });
        if (svc.forwarder) {
          const [{ auditForwarding, targetParticipant }, { fileRefs }] = await Promise.all([import('../audit/emit.js'), import('../audit/dicom-refs.js')]);
          for (const t of targets) auditForwarding(svc.forwarder.eventsFor(t), { sink: atna.sink, self: atna.self, target: targetParticipant(t), refsOf: fileRefs });
        }
        (await import('../audit/emit.js')).auditLoginRefusals(sessions, atna.sink, atna.self);
        await svc.start();
        await sessions?.start();
        await worklist?.start();
      } catch (err) {
        await svc.stop().catch(() => {});
        await atna?.stop();
        closeDevice?.();
        throw err;
      }
      logLine(`capture: board ${board.id} (${board.name}); device ${device.deviceId}${closeDevice ? ' (key on token)' : ''}; outbox ${o.outbox}${o.patientOrientation ? `; every exposure ${o.patientOrientation}${o.viewPosition ? ` ${o.viewPosition}` : ''} (station positioning)` : ''}${o.forward?.length ? `; forwarding to ${o.forward.join(', ')}${o.tlsKey ? ' (C-STORE over TLS)' : ''}` : ''}`);
      const timer = setInterval(summary, o.statusEvery * 1000);
      await new Promise<void>((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
      clearInterval(timer);
      logLine('capture: stopping');
      await sessions?.stop();
      await svc.stop();
      await worklist?.stop();
      await atna.stop();
      closeDevice?.();
      summary();
    });
}

/**
 * The capture device identity: a key file, or a key on a PKCS#11 token. A board
 * whose keys.store is "pkcs11" refuses a key file and lends the URI its
 * keys.pkcs11Module and keys.slotLabel; the PIN comes only from the environment.
 */
function loadCaptureDevice(
  { loadDeviceIdentity, loadTokenDeviceIdentity }: typeof import('../seal/device.js'), isPkcs11Uri: (key: string) => boolean,
  board: Board, key: string, cert: string, pinEnv: string | undefined,
): LoadedDevice {
  if (!isPkcs11Uri(key)) {
    if (board.keys.store === 'pkcs11') {
      throw new Error(`board ${board.id} sets keys.store "pkcs11": the device key must stay on the token, so --key must be a PKCS#11 URI such as 'pkcs11:object=KEYLABEL' (token ${board.keys.slotLabel ? `"${board.keys.slotLabel}" from keys.slotLabel` : 'from token=…'}), not the key file ${key}`);
    }
    if (pinEnv) throw new Error('--pin-env goes with a pkcs11: --key (a device key file is protected by its 0600 mode, not a PIN)');
    return loadDeviceIdentity(key, cert, board.id);
  }
  if (!pinEnv) throw new Error('a pkcs11: --key needs --pin-env VAR (the environment variable holding the token PIN)');
  const pin = process.env[pinEnv];
  if (pin === undefined) throw new Error(`environment variable ${pinEnv} (the token PIN) is not set`);
  const defaults = board.keys.store === 'pkcs11' ? { module: board.keys.pkcs11Module, token: board.keys.slotLabel } : undefined;
  return loadTokenDeviceIdentity(key, cert, pin, board.id, defaults);
}

/**
 * Patient Orientation and View Position for a station without a worklist: said by its
 * configuration, or the service does not start. An image without an orientation is not a valid
 * DX image, and a guessed one would be signed for good. With a worklist the technologist says
 * them at the console (radseal worklist select), so a station value would only hide a missing one.
 */
function stationPositioning(o: { patientOrientation?: string; viewPosition?: string }, hasWorklist: boolean, meta: typeof import('../seal/meta.js')) {
  if (hasWorklist) {
    if (o.patientOrientation || o.viewPosition) throw new Error('--patient-orientation/--view-position are for a station without --worklist: with a worklist the technologist says them for each procedure (radseal worklist select --orientation ROW\\COL [--view V])');
    return undefined;
  }
  if (!o.patientOrientation) {
    throw new Error("capture without --worklist needs --patient-orientation ROW\\COL (e.g. 'L\\F' for a PA chest stand; [capture] patient-orientation in the station config): it is signed into every image, and radseal never signs a guessed or empty one");
  }
  return {
    patientOrientation: meta.parseOrientation(o.patientOrientation, '--patient-orientation'),
    ...(o.viewPosition ? { viewPosition: meta.parseViewPosition(o.viewPosition, '--view-position') } : {}),
  };
}

/** A repeatable option's values, in the order given. */
function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** The station's calling AE on every C-STORE target (a STOW-RS target has none; naming one for STOW targets alone is an error). */
function withCallingAeAll(targets: PacsTarget[], callingAe: string | undefined, withCallingAe: (t: PacsTarget, ae: string | undefined) => PacsTarget): PacsTarget[] {
  if (!callingAe || targets.every((t) => 'url' in t)) return targets.map((t) => withCallingAe(t, callingAe));
  return targets.map((t) => ('url' in t ? t : withCallingAe(t, callingAe)));
}

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}
