// radseal desk: the quarantine desk (host/web/desk). Argument parsing and wiring only; the work is
// loaded when the command runs.
import type { Command } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { hostPort } from './args.js';
import { withTlsOptions, tlsFrom, type TlsOptionValues } from './tls-options.js';

/** Admin tokens from a file of `name:token` lines (# comments), owner-only like a key file. */
export function readTokenFile(path: string): Array<{ name: string; token: string }> {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new Error(`cannot read token file ${path}`);
  }
  if (mode & 0o077) throw new Error(`token file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  const tokens: Array<{ name: string; token: string }> = [];
  readFileSync(path, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9._@-]{1,64}):(\S{16,})$/.exec(line);
    if (!m) throw new Error(`token file ${path} line ${i + 1}: expected NAME:TOKEN with a token of at least 16 characters`);
    tokens.push({ name: m[1]!, token: m[2]! });
  });
  if (!tokens.length) throw new Error(`token file ${path} holds no token`);
  return tokens;
}

export function register(program: Command): void {
  withTlsOptions(program.command('desk')
    .description('quarantine desk (web): list quarantined objects with verdict, reasons, source and tamper map; release to PACS or delete, each with a reason, audited')
    .requiredOption('--quarantine <dir>', 'the quarantine folder of radseal ingest or verify-service')
    .requiredOption('--audit <log>', 'audit log the decisions are written to (hash-chained JSON Lines; one writer at a time)')
    .requiredOption('--listen <host:port>', 'address of the desk, e.g. 127.0.0.1:8450')
    .option('--token-file <file>', 'admin tokens, NAME:TOKEN per line, mode 0600 (sign-in form; over the network only with --https-*)')
    .option('--https-key <file>', 'HTTPS: the desk\'s private key, PEM')
    .option('--https-cert <file>', 'HTTPS: the desk\'s certificate (chain), PEM')
    .option('--client-ca <file>', 'HTTPS: site CA issuing administrators\' client certificates; a certificate from it signs in (CN = operator)')
    .option('--forward <target>', 'PACS for released objects: AE@HOST:PORT (C-STORE) or http(s)://.../studies (STOW-RS)'), 'forwarding released objects')
    .action(async (o: TlsOptionValues & { quarantine: string; audit: string; listen: string; tokenFile?: string; httpsKey?: string; httpsCert?: string; clientCa?: string; forward?: string }) => {
      const [{ startDesk, deskStartProblem }, { AuditLog }, { parsePacsTarget }] = await Promise.all([
        import('../web/desk/server.js'), import('../ingest/audit.js'), import('../net/destination.js'),
      ]);
      const { host, port } = hostPort(o.listen);
      if (!o.httpsKey !== !o.httpsCert) throw new Error('--https-key and --https-cert go together');
      if (o.clientCa && !o.httpsKey) throw new Error('--client-ca needs --https-key and --https-cert');
      const read = (f: string, what: string) => {
        try {
          return readFileSync(f);
        } catch {
          throw new Error(`cannot read ${what} ${f}`);
        }
      };
      const tls = o.httpsKey ? { key: read(o.httpsKey, 'HTTPS key'), cert: read(o.httpsCert!, 'HTTPS certificate'), clientCa: o.clientCa ? read(o.clientCa, 'client CA') : undefined } : undefined;
      const tokens = o.tokenFile ? readTokenFile(o.tokenFile) : undefined;
      const problem = deskStartProblem({ host, tokens, tls });
      if (problem) throw new Error(problem);
      const forward = o.forward ? parsePacsTarget(o.forward, /^https?:\/\//i.test(o.forward) ? undefined : tlsFrom(o)) : undefined;
      const audit = new AuditLog(o.audit);
      const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
      let desk;
      try {
        desk = await startDesk({ host, port, quarantineDir: o.quarantine, audit, forward, tokens, tls, log });
      } catch (err) {
        audit.close();
        throw err;
      }
      console.log(`radseal desk: ${desk.url} (sign-in: ${[tokens ? `${tokens.length} admin token(s)` : '', tls?.clientCa ? 'client certificates' : ''].filter(Boolean).join(', ')}; audit ${o.audit}${o.forward ? `; releases go to ${o.forward}` : '; no --forward: release disabled'})`);
      await new Promise<void>((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
      await desk.close();
      audit.close();
    });
}
