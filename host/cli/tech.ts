// `radseal tech login|logout|status|confirm`: a technologist's session with the
// running capture service (docs/SESSIONS.md). Argument parsing, the PIN prompt
// and printing only; the service unlocks the key and keeps the session.
import { Command } from 'commander';
import type { SessionReply, SessionRequest } from '../capture/session-endpoint.js';
import { loadOnUse } from '../io/load-on-use.js';

// The session endpoint's module (the service side too) loads when a command talks to a service.
const sessions = loadOnUse<typeof import('../capture/session-endpoint.js')>(import.meta.url, '../capture/session-endpoint.js');

interface Where {
  outbox?: string;
  socket?: string;
}

function socketOf(o: Where): string {
  if (o.socket) return o.socket;
  if (o.outbox) return sessions().sessionSocketPath(o.outbox);
  throw new Error('give --outbox DIR (the capture service\'s outbox) or --socket PATH');
}

function withWhere(c: Command): Command {
  return c
    .option('--outbox <dir>', "the capture service's outbox folder (its session socket is session/control.sock there)")
    .option('--socket <path>', 'the session socket itself, instead of --outbox');
}

async function ask(o: Where, req: SessionRequest): Promise<SessionReply & { ok: true }> {
  const reply = await sessions().sessionRequest(socketOf(o), req);
  if (!reply.ok) throw new Error(reply.error);
  return reply;
}

/**
 * The PIN: typed at the terminal with echo off; from stdin's first line when stdin is not a
 * terminal (a test or a badge reader's helper); from --pin-env only for automated tests.
 */
async function readPin(pinEnv: string | undefined): Promise<string> {
  if (pinEnv) {
    const pin = process.env[pinEnv];
    if (pin === undefined) throw new Error(`environment variable ${pinEnv} (the PIN) is not set`);
    return pin;
  }
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) {
      text += String(chunk);
      if (text.includes('\n')) break;
    }
    const pin = text.split(/\r?\n/)[0] ?? '';
    if (!pin) throw new Error('no PIN on standard input');
    return pin;
  }
  stdin.setRawMode(true); // echo off before the prompt: nothing typed after it is ever shown
  process.stderr.write('PIN: ');
  stdin.setEncoding('utf8');
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let pin = '';
      const onData = (keys: string) => {
        for (const k of keys) {
          if (k === '\r' || k === '\n') {
            stdin.off('data', onData);
            return resolve(pin);
          }
          if (k === '\u0003' || k === '\u0004') {
            stdin.off('data', onData);
            return reject(new Error('login cancelled'));
          }
          if (k === '\u007f' || k === '\b') pin = pin.slice(0, -1);
          else pin += k;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function describe(r: SessionReply & { ok: true }): string {
  const lines: string[] = [];
  const s = r.session;
  lines.push(s ? `logged in: ${s.operatorId}${s.operatorsName ? ` (${s.operatorsName})` : ''} since ${time(s.since)}; logged out at ${time(s.idleDeadline)} unless active` : 'nobody is logged in');
  if (r.withoutTechnologist) lines.push(`with nobody logged in, exposures are ${r.withoutTechnologist === 'hold' ? 'held until a technologist confirms them' : 'sealed with the device signature only'}`);
  if (r.held) lines.push(`${r.held} exposure(s) held for confirmation (radseal tech confirm)`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const tech = program.command('tech').description("technologist sessions at this station: the running capture service co-signs every object with the logged-in technologist's key");

  withWhere(tech.command('login')
    .description('log in: the PIN is typed at the terminal (echo off); the capture service unlocks your key or token session and keeps it in memory')
    .requiredOption('--id <operatorId>', 'your operator id (the CN of your technologist certificate)'))
    .option('--pin-env <var>', 'automated tests only: take the PIN from this environment variable')
    .action(async (o: Where & { id: string; pinEnv?: string }) => {
      socketOf(o); // a usage error before the PIN is asked for
      const pin = await readPin(o.pinEnv);
      const r = await ask(o, { op: 'login', operatorId: o.id, pin });
      console.log(describe(r));
    });

  withWhere(tech.command('logout').description('log out: objects are no longer co-signed by you'))
    .action(async (o: Where) => {
      const r = await ask(o, { op: 'logout' });
      console.log(`logged out: ${r.operatorId}`);
    });

  withWhere(tech.command('status').description('who is logged in, until when, and how many exposures are held'))
    .option('--json', 'print JSON')
    .action(async (o: Where & { json?: boolean }) => {
      const r = await ask(o, { op: 'status' });
      console.log(o.json ? JSON.stringify({ session: r.session, withoutTechnologist: r.withoutTechnologist, held: r.held }, null, 2) : describe(r));
    });

  withWhere(tech.command('confirm').description('as the logged-in technologist, seal the exposures held while nobody was logged in with your co-signature and send them'))
    .action(async (o: Where) => {
      const r = await ask(o, { op: 'confirm' });
      console.log(`confirmed ${r.confirmed ?? 0} held exposure(s): sealed with your co-signature and queued for PACS`);
      if (r.held) console.log(`${r.held} held exposure(s) could not be sealed: see the capture log`);
    });
}
