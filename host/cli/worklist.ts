// `radseal worklist …` (talks to a running capture service) and capture's
// --worklist/--worklist-station/--mpps options: argument parsing and wiring only.
import { Command } from 'commander';
import { userInfo } from 'node:os';
import type { HeldExposure, ProcedureDesk } from '../capture/procedure.js';
import type { ControlRequest, ControlServer, ProcedureSummary } from '../capture/control.js';
import type { WorklistEntry } from '../net/worklist.js';
import type { DeviceIdentity } from '../seal/seal.js';
import type { DicomTls } from '../net/tls.js';
import { loadOnUse } from '../io/load-on-use.js';

// The worklist, MPPS and control-socket code (an association client with TLS among it) loads when
// a service wires it up or a command talks to one, not with the option definitions.
const procedure = loadOnUse<typeof import('../capture/procedure.js')>(import.meta.url, '../capture/procedure.js');
const controlSocket = loadOnUse<typeof import('../capture/control.js')>(import.meta.url, '../capture/control.js');
const association = loadOnUse<typeof import('../net/association.js')>(import.meta.url, '../net/association.js');
const mpps = loadOnUse<typeof import('../net/mpps.js')>(import.meta.url, '../net/mpps.js');
const tls = loadOnUse<typeof import('../net/tls.js')>(import.meta.url, '../net/tls.js');

export interface WorklistOptionValues {
  worklist?: string;
  worklistStation?: string;
  mpps?: string;
  worklistTlsKey?: string;
  worklistTlsCert?: string;
  worklistTlsCa?: string;
  mppsTlsKey?: string;
  mppsTlsCert?: string;
  mppsTlsCa?: string;
  /** Calling AE of the station (station options), when given. */
  callingAe?: string;
}

/** Adds capture's worklist options. */
export function withWorklistOptions(cmd: Command): Command {
  return cmd
    .option('--worklist <AE@HOST:PORT>', 'RIS Modality Worklist SCP: technologists pick the procedure with radseal worklist; exposures with none picked are held unassigned, never forwarded')
    .option('--worklist-station <AE>', 'Scheduled Station AE Title to query the worklist for (default: the calling AE title, else RADSEAL)')
    .option('--mpps <AE@HOST:PORT>', 'Modality Performed Procedure Step SCP: IN PROGRESS at the first exposure of a procedure, COMPLETED or DISCONTINUED when it ends')
    .option('--worklist-tls-key <file>', 'worklist over DICOM TLS: our private key, PEM (with --worklist-tls-cert and --worklist-tls-ca)')
    .option('--worklist-tls-cert <file>', 'worklist over DICOM TLS: our certificate (chain), PEM')
    .option('--worklist-tls-ca <file>', "worklist over DICOM TLS: CA certificates the RIS's certificate must chain to, PEM")
    .option('--mpps-tls-key <file>', 'MPPS over DICOM TLS: our private key, PEM (with --mpps-tls-cert and --mpps-tls-ca)')
    .option('--mpps-tls-cert <file>', 'MPPS over DICOM TLS: our certificate (chain), PEM')
    .option('--mpps-tls-ca <file>', "MPPS over DICOM TLS: CA certificates the MPPS SCP's certificate must chain to, PEM");
}

/** One TLS identity for one peer: all three files or none (the SCP's certificate must also name its host). */
function peerTls(what: string, key?: string, cert?: string, ca?: string): DicomTls | undefined {
  const given = [key, cert, ca].filter(Boolean).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new Error(`${what} over TLS needs all of --${what}-tls-key, --${what}-tls-cert and --${what}-tls-ca`);
  return tls().loadTls({ key: key!, cert: cert!, ca: ca! });
}

/** The procedure desk and its control socket, when --worklist is given. */
export interface WorklistWiring {
  desk: ProcedureDesk;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function worklistFor(o: WorklistOptionValues & { outbox: string }, device: DeviceIdentity, log: (m: string) => void): WorklistWiring | undefined {
  const worklistTls = peerTls('worklist', o.worklistTlsKey, o.worklistTlsCert, o.worklistTlsCa);
  const mppsTls = peerTls('mpps', o.mppsTlsKey, o.mppsTlsCert, o.mppsTlsCa);
  if (!o.worklist) {
    if (o.mpps || o.worklistStation || worklistTls || mppsTls) throw new Error('--mpps, --worklist-station and the --worklist-tls-*/--mpps-tls-* options go with --worklist (MPPS reports the procedures picked from the worklist)');
    return undefined;
  }
  if (mppsTls && !o.mpps) throw new Error('--mpps-tls-* secure the MPPS connection: give --mpps too');
  const stationAe = o.worklistStation ?? o.callingAe ?? 'RADSEAL';
  const { parseTarget, aeTitleProblem } = association();
  const stationProblem = aeTitleProblem(stationAe);
  if (stationProblem) throw new Error(`--worklist-station: ${stationProblem}`);
  const worklist = { ...parseTarget(o.worklist, '--worklist'), callingAe: stationAe, tls: worklistTls };
  // MPPS reports wait for nobody, but a service stopping waits for them: keep each try short.
  const reporter = o.mpps ? new (mpps().MppsReporter)({ ...parseTarget(o.mpps, '--mpps'), callingAe: stationAe, timeoutMs: 10000, tls: mppsTls }, { stationAe, log }) : undefined;
  const desk = new (procedure().ProcedureDesk)(o.outbox, { worklist, stationAe, device, reporter, log });
  let control: ControlServer | undefined;
  return {
    desk,
    start: async () => {
      control = await controlSocket().startControlServer(o.outbox, desk, log);
      const held = desk.heldCount();
      log(`worklist: ${o.worklist}${worklistTls ? ' over TLS' : ''} for station ${stationAe}${o.mpps ? `; MPPS to ${o.mpps}${mppsTls ? ' over TLS' : ''}` : ''}; radseal worklist talks to ${control.path}${held ? `; ${held} exposure(s) held unassigned` : ''}`);
    },
    stop: async () => {
      await control?.close();
      await desk.close();
    },
  };
}

const socketOf = (o: { outbox?: string; socket?: string }): string => {
  if (o.socket) return o.socket;
  if (o.outbox) return controlSocket().controlSocketPath(o.outbox);
  throw new Error('give --outbox DIR (the capture service\'s outbox) or --socket PATH');
};

const withEndpoint = (c: Command): Command => c
  .option('--outbox <dir>', "the running capture service's outbox folder")
  .option('--socket <path>', 'its control socket (default OUTBOX/worklist/control.sock)')
  .option('--json', 'print the answer as JSON');

type EndpointValues = { outbox?: string; socket?: string; json?: boolean };
type PositioningValues = { orientation?: string; view?: string };

/** --orientation/--view: said at the console, never guessed (they are signed into every image). */
const withPositioning = (c: Command, required: boolean): Command => (required
  ? c.requiredOption('--orientation <row\\col>', "Patient Orientation of the following exposures as displayed, e.g. 'L\\F' (PA chest), 'A\\F' (left lateral)")
  : c.option('--orientation <row\\col>', "Patient Orientation of these exposures as displayed, e.g. 'L\\F'; needed when they were taken without one"))
  .option('--view <code>', 'View Position, e.g. PA, AP, LL');

async function ask(o: EndpointValues, rq: ControlRequest, print: (a: Record<string, unknown>) => void): Promise<void> {
  const a = await controlSocket().controlRequest(socketOf(o), rq);
  if (o.json) console.log(JSON.stringify(a, null, 2));
  else print(a);
}

const describe = (p: ProcedureSummary | null): string => p
  ? `${p.accession} step ${p.stepId || '-'}: ${p.patientName} (${p.patientId}), ${p.description}; ${p.images} image(s) so far; next exposures ${p.orientation ? `${p.orientation}${p.view ? ` ${p.view}` : ''}` : 'without an orientation (radseal worklist position)'}`
  : 'none (exposures are held unassigned)';

export function register(program: Command): void {
  const wl = program.command('worklist').description("pick the procedure for a running capture service's next exposures (capture --worklist)");
  withEndpoint(wl.command('list').description("today's scheduled procedure steps for this station, fresh from the RIS"))
    .action((o: EndpointValues) => ask(o, { op: 'list' }, (a) => {
      const entries = a.entries as WorklistEntry[];
      if (!entries.length) console.log('no scheduled procedure steps for this station today');
      for (const e of entries) {
        const mark = e.accessionNumber === a.selected ? '*' : ' ';
        console.log(`${mark} ${e.accessionNumber.padEnd(16)} ${(e.scheduledStartTime.slice(0, 4) || '----').padEnd(5)} ${e.patientName} (${e.patientId}, ${e.patientBirthDate || '?'} ${e.patientSex || '?'})  ${e.scheduledStepDescription || e.requestedProcedureDescription}  [step ${e.scheduledStepId || '-'}]`);
      }
    }));
  withPositioning(withEndpoint(wl.command('select').description('file the following exposures under this accession (ends the procedure selected before: COMPLETED)').argument('<accession>'))
    .option('--step <id>', 'the Scheduled Procedure Step ID, when the accession has several'), true)
    .action((accession: string, o: EndpointValues & PositioningValues & { step?: string }) => ask(o, { op: 'select', accession, step: o.step, orientation: o.orientation, view: o.view }, (a) => console.log(`selected: ${describe(a.selected as ProcedureSummary)}`)));
  withPositioning(withEndpoint(wl.command('position').description('the patient orientation (and view) of the following exposures, same procedure: e.g. after the PA, the lateral')), true)
    .action((o: EndpointValues & PositioningValues) => ask(o, { op: 'position', orientation: o.orientation!, view: o.view }, (a) => console.log(`selected: ${describe(a.selected as ProcedureSummary | null)}`)));
  withEndpoint(wl.command('clear').description('no procedure from now on: the following exposures are held unassigned'))
    .option('--discontinued', 'the procedure was stopped before it was done (MPPS DISCONTINUED instead of COMPLETED)')
    .action((o: EndpointValues & { discontinued?: boolean }) => ask(o, { op: 'clear', discontinued: o.discontinued }, (a) => console.log(a.cleared ? `cleared: ${describe(a.cleared as ProcedureSummary)}` : 'no procedure was selected')));
  withEndpoint(wl.command('status').description('the selected procedure and how many exposures are held unassigned'))
    .action((o: EndpointValues) => ask(o, { op: 'status' }, (a) => console.log(`selected: ${describe(a.selected as ProcedureSummary | null)}\nheld unassigned: ${a.held}`)));
  withEndpoint(wl.command('unassigned').description('exposures held because no procedure was selected'))
    .action((o: EndpointValues) => ask(o, { op: 'unassigned' }, (a) => {
      const held = a.held as HeldExposure[];
      if (!held.length) console.log('no exposure is held unassigned');
      for (const h of held) console.log(`${h.name}  device ${h.deviceId} frame ${h.serial}  ${h.sopInstanceUid}`);
    }));
  withPositioning(withEndpoint(wl.command('assign').description('file held exposures under an accession: each gets a second sealed object with the patient, sent to PACS; the held one is kept unchanged').argument('<accession>'))
    .requiredOption('--unassigned <names...>', "held exposures (names from radseal worklist unassigned), or 'all'")
    .option('--step <id>', 'the Scheduled Procedure Step ID, when the accession has several'), false)
    .action((accession: string, o: EndpointValues & PositioningValues & { unassigned: string[]; step?: string }) => {
      const names = o.unassigned.length === 1 && o.unassigned[0] === 'all' ? 'all' : o.unassigned;
      return ask(o, { op: 'assign', accession, step: o.step, names, user: userInfo().username, orientation: o.orientation, view: o.view }, (a) => {
        for (const x of a.assigned as Array<{ held: string; filed: string }>) console.log(`${x.held} -> ${x.filed} (filed under ${accession}, queued for PACS)`);
      });
    });
}
