// capture's station options: technologist sessions (--technologists, idle timeout, what happens
// with nobody logged in), the calling AE title towards PACS and the sent/ retention. Defaults
// come from the board's `sessions` block; the command line overrides them.
import type { Command } from 'commander';
import type { Board } from '../boards/board.js';
import type { PacsTarget } from '../net/destination.js';
import { DEFAULT_KEEP_SENT_DAYS } from '../net/outbox.js';
import type { SessionEndpoint } from '../capture/session-endpoint.js';
import { DEFAULT_IDLE_TIMEOUT_MINUTES, WITHOUT_TECHNOLOGIST, type Technologist, type WithoutTechnologist } from '../seal/session.js';
import { loadOnUse } from '../io/load-on-use.js';

// What the options' values need, loaded when a service starts rather than with the option definitions.
const destination = loadOnUse<typeof import('../net/destination.js')>(import.meta.url, '../net/destination.js');
const pdu = loadOnUse<typeof import('../net/pdu.js')>(import.meta.url, '../net/pdu.js');
const sessions = loadOnUse<typeof import('../capture/session-endpoint.js')>(import.meta.url, '../capture/session-endpoint.js');
const pkcs11 = loadOnUse<typeof import('../keys/pkcs11.js')>(import.meta.url, '../keys/pkcs11.js');

export interface StationOptionValues {
  technologists?: string;
  techIdleMinutes?: number;
  withoutTechnologist?: string;
  callingAe?: string;
  keepSentDays: number;
}

const count = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
};

export function withStationOptions(c: Command): Command {
  return c
    .option('--technologists <dir>', 'technologist sessions (radseal tech login): enrolled technologists, <id>.crt with <id>.key (PIN-encrypted) or <id>.p11 (their token\'s PKCS#11 URI)')
    .option('--tech-idle-minutes <n>', `log a technologist out after this many minutes without activity (default: the board's sessions.idleTimeoutMinutes, else ${DEFAULT_IDLE_TIMEOUT_MINUTES})`, count('--tech-idle-minutes'))
    .option('--without-technologist <policy>', `an exposure while nobody is logged in: ${WITHOUT_TECHNOLOGIST.join(' or ')} (default: the board's sessions.withoutTechnologist, else device-only)`)
    .option('--calling-ae <title>', 'our AE title when forwarding by C-STORE (default RADSEAL)')
    .option('--keep-sent-days <n>', 'days a delivered object stays in the outbox\'s sent/ before it is pruned', count('--keep-sent-days'), DEFAULT_KEEP_SENT_DAYS);
}

/** A sealing service's session defaults and key store: from its board (the proxy has none). */
type SessionDefaults = Partial<Pick<Board, 'sessions' | 'keys'>> | undefined;

export function withoutTechnologistOf(o: StationOptionValues, board: SessionDefaults): WithoutTechnologist {
  const policy = o.withoutTechnologist ?? board?.sessions?.withoutTechnologist ?? 'device-only';
  if (!(WITHOUT_TECHNOLOGIST as readonly string[]).includes(policy)) throw new Error(`--without-technologist is ${WITHOUT_TECHNOLOGIST.join(' or ')}, got ${policy}`);
  if (policy === 'hold' && !o.technologists) throw new Error('holding exposures until a technologist confirms needs technologist sessions: give --technologists DIR');
  return policy as WithoutTechnologist;
}

/** The PACS target with our calling AE title (C-STORE only: STOW-RS has no AE titles). */
export function withCallingAe(target: PacsTarget, callingAe: string | undefined): PacsTarget {
  if (!callingAe) return target;
  if (destination().isStow(target)) throw new Error('--calling-ae applies to C-STORE forwarding (AE@HOST:PORT), not to a STOW-RS URL');
  const problem = pdu().aeTitleProblem(callingAe);
  if (problem) throw new Error(`--calling-ae: ${problem}`);
  return { ...target, callingAe };
}

/** The session endpoint for a capture service, when --technologists is given. */
export function sessionEndpointFor(o: StationOptionValues, board: SessionDefaults, outboxDir: string, service: {
  confirm?: (t: Technologist) => Promise<number>;
  heldCount?: () => number;
  log: (m: string) => void;
  /** The device key (file or PKCS#11 URI): a technologist key may not share its token. */
  deviceKey?: string;
}): SessionEndpoint | undefined {
  if (!o.technologists) return undefined;
  const minutes = o.techIdleMinutes ?? board?.sessions?.idleTimeoutMinutes ?? DEFAULT_IDLE_TIMEOUT_MINUTES;
  if (minutes < 1) throw new Error('--tech-idle-minutes must be at least 1');
  return new (sessions().SessionEndpoint)({
    outboxDir, technologistsDir: o.technologists, idleTimeoutMs: minutes * 60_000, withoutTechnologist: withoutTechnologistOf(o, board),
    confirm: service.confirm, heldCount: service.heldCount, log: service.log, deviceToken: deviceTokenOf(service.deviceKey, board),
  });
}

/** The token the device key is on (with a board's keys.slotLabel / pkcs11Module as defaults), if any. */
function deviceTokenOf(key: string | undefined, board: SessionDefaults): { module: string; token: string } | undefined {
  const { isPkcs11Uri, parsePkcs11Uri } = pkcs11();
  if (!key || !isPkcs11Uri(key)) return undefined;
  const keys = board?.keys;
  const ref = parsePkcs11Uri(key, keys?.store === 'pkcs11' ? { module: keys.pkcs11Module, token: keys.slotLabel } : undefined);
  return { module: ref.module, token: ref.token };
}
