// `radseal proxy`: argument parsing and wiring only. The service (and the tag dictionary, the
// forwarder and the device keys it needs) is loaded when the command runs, so other commands do
// not pay for it.
import type { Command } from 'commander';
import { tlsFrom, withTlsOptions, type TlsOptionValues } from './tls-options.js';
import { hostPort, UsageOrIoError } from './args.js';
import { sessionEndpointFor, type StationOptionValues } from './station-options.js';
import { withAuditSyslogOptions, type AuditSyslogOptionValues } from '../audit/cli-options.js';
import { join } from 'node:path';

const logLine = (m: string) => console.log(`${new Date().toISOString()} ${m}`);

interface ProxyOptionValues extends TlsOptionValues, AuditSyslogOptionValues, Pick<StationOptionValues, 'technologists' | 'techIdleMinutes'> {
  listen: string;
  ae: string;
  key: string;
  cert: string;
  ecdsaKey?: string;
  ecdsaCert?: string;
  outbox: string;
  forward?: string[];
  wmKey?: string;
  allowAe?: string[];
  tsa?: string;
  tileSize: number;
  statusEvery: number;
}

export function register(program: Command): void {
  withAuditSyslogOptions(withTlsOptions(program
    .command('proxy')
    .description("sealing proxy beside an existing modality: a C-STORE SCP that seals every image it receives, stores it durably, answers the modality, and forwards to PACS"), "the modality's associations and the forwarding"))
    .requiredOption('--listen <host:port>', "C-STORE SCP address the modality sends to (loopback or the modality's own segment), e.g. 127.0.0.1:11112")
    .requiredOption('--ae <title>', 'our AE title (the modality calls it instead of PACS)')
    .requiredOption('--key <file>', 'device private key (PKCS#8 PEM, 0600)')
    .requiredOption('--cert <file>', 'device certificate')
    .option('--ecdsa-key <file>', 'device ECDSA P-256 key: adds a second signature DCMTK dcmsign can verify (config: keys.ecdsa-key)')
    .option('--ecdsa-cert <file>', 'certificate of the ECDSA key (same CN as the device; config: keys.ecdsa-cert)')
    .requiredOption('--outbox <dir>', "durable outbox folder, the proxy's own (ready/ is the send queue)")
    .option('--forward <AE@HOST:PORT|URL>', 'PACS: C-STORE to AE@HOST:PORT, or STOW-RS to an http(s)://…/studies URL; repeat for several targets (each gets every object; one that is down holds back no other)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--wm-key <file>', 'site watermark key: mark native 16-bit monochrome pixels')
    .option('--allow-ae <AE[@address]>', 'only these calling AE titles may send, optionally from one address each (repeat, or comma-separate); default: any', (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)])
    .option('--tsa <url>', 'RFC 3161 time-stamping authority for the device signature (an outage seals without one, and logs it)')
    .option('--tile-size <px>', 'tile edge of the per-frame tile hash table; 0 leaves it out', (v) => Number(v), 64)
    .option('--status-every <s>', 'status summary interval in seconds', (v) => Number(v), 60)
    .option('--technologists <dir>', "technologist sessions (radseal tech login --outbox <this proxy's outbox>): enrolled technologists, <id>.crt with <id>.key (PIN-encrypted) or <id>.p11; the one logged in co-signs what arrives")
    .option('--tech-idle-minutes <n>', 'log a technologist out after this many minutes without activity (default 30)', (v) => Number(v))
    .action(async (o: ProxyOptionValues) => {
      const [{ ProxyService }, { parseForwardTargets }, { loadDeviceIdentity, withEcdsa }, { loadWatermarkKey }] = await Promise.all([
        import('../proxy/service.js'), import('../net/forwarder.js'), import('../seal/device.js'), import('../keys/watermark-key.js'),
      ]);
      if (!o.ecdsaKey !== !o.ecdsaCert) throw new UsageOrIoError('--ecdsa-key and --ecdsa-cert go together');
      const { host, port } = hostPort(o.listen);
      const tls = tlsFrom(o);
      const edDevice = loadDeviceIdentity(o.key, o.cert, 'dicom-proxy');
      const device = o.ecdsaKey && o.ecdsaCert ? withEcdsa(edDevice, o.ecdsaKey, o.ecdsaCert) : edDevice;
      // The modality keeps working with nobody logged in: objects are then sealed by the device alone.
      const sessions = sessionEndpointFor({ ...o, keepSentDays: 0, withoutTechnologist: 'device-only' }, undefined, o.outbox, { log: logLine, deviceKey: o.key });
      const svc = new ProxyService({
        host, port, aeTitle: o.ae, allowedCallers: o.allowAe, tls,
        device,
        outboxDir: o.outbox,
        forward: o.forward?.length ? parseForwardTargets(o.forward, tls) : undefined,
        watermarkKey: o.wmKey ? loadWatermarkKey(o.wmKey) : undefined,
        timestampUrl: o.tsa, tileSize: o.tileSize, log: logLine,
        technologist: sessions?.technologist,
      });
      const atna = await (await import('../audit/service-audit.js')).startServiceAudit(o, { name: 'radseal proxy', aeTitle: o.ae, sourceType: '2', defaultSpool: join(o.outbox, 'atna-spool'), logLine });
      if (atna.sink !== (await import('../audit/emit.js')).noAuditSink) {
        const [{ auditForwarding, targetParticipant, dicomNode }, { objectRefs, fileRefs }] = await Promise.all([import('../audit/emit.js'), import('../audit/dicom-refs.js')]);
        for (const t of svc.forwarder?.targets ?? []) auditForwarding(svc.forwarder!.eventsFor(t), { sink: atna.sink, self: atna.self, target: targetParticipant(t), refsOf: fileRefs });
        svc.onAssociationRefused = (r) => atna.sink.emit({
          kind: 'security-alert', alert: 'refused-association', time: new Date(), outcome: 4, reporter: atna.self,
          performer: dicomNode(r.callingAe, r.address), subject: `dicom:${r.callingAe ?? '(TLS handshake)'}@${r.address ?? '?'}`, description: r.reason,
        });
        // The modality's side: every object it sent, stored (sealed) or refused.
        svc.onAnswered = (obj, answer) => {
          const refs = objectRefs(obj.part10(), obj.sopInstanceUid, obj.sopClassUid);
          atna.sink.emit({
            kind: 'instances-transferred', time: new Date(), action: 'C', outcome: answer.status === 0 ? 0 : 4, ...(answer.status === 0 ? {} : { outcomeDescription: `refused: ${answer.comment ?? answer.status.toString(16)}` }),
            source: dicomNode(obj.callingAe, obj.remoteAddress), destination: atna.self, requestor: 'source', patient: refs.patient, studies: refs.study ? [refs.study] : [],
          });
        };
      }
      (await import('../audit/emit.js')).auditLoginRefusals(sessions, atna.sink, atna.self);
      const bound = await svc.start();
      await sessions?.start();
      logLine(`proxy: listening on ${host}:${bound}${tls ? ' (TLS)' : ''} as ${o.ae}; device ${device.deviceId}; outbox ${o.outbox}${o.forward?.length ? `; forwarding to ${o.forward.join(', ')}` : '; no --forward: sealed objects stay in the outbox\'s ready/ until a PACS is given'}; callers: ${o.allowAe?.length ? o.allowAe.join(', ') : 'any'}`);
      const summary = () => {
        const s = svc.stats;
        logLine(`status: received ${s.received}, sealed ${s.sealed}, already signed ${s.alreadySigned}, duplicates ${s.duplicates}, refused ${s.refused}; forwarded ${svc.forwarder?.stats.forwarded ?? 0}; ${svc.outbox.pending().length} queued for PACS`);
      };
      const timer = setInterval(summary, o.statusEvery * 1000);
      await new Promise<void>((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
      clearInterval(timer);
      logLine('proxy: stopping');
      await svc.stop();
      await sessions?.stop();
      await atna.stop();
      summary();
    });
}
