// Argument helpers shared by the command modules. Light on purpose: `radseal --help` loads
// every command module, so nothing here may pull in a heavy dependency.
import type { Option } from 'commander';

/** An error meant for the person at the terminal: printed as one line, exit 2. */
export class UsageOrIoError extends Error {}

/** commander parser for a non-negative integer option. */
export const nonNegativeInt = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageOrIoError(`${name} must be a non-negative integer, got "${v}"`);
  return n;
};

/** A PIN from the named environment variable (never from argv, which other users can read). */
export function pinFromEnv(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const pin = process.env[name];
  if (pin === undefined) throw new UsageOrIoError(`environment variable ${name} (the key PIN) is not set`);
  return pin;
}

/**
 * `option.choices(values())`, with the list read only when commander first needs it (parsing the
 * option, or printing that command's help): a list kept beside heavy code is not loaded when the
 * CLI starts. Commander reads `argChoices` for both, so that property is what is deferred.
 */
export function lazyChoices<O extends Option>(option: O, values: () => readonly string[]): O {
  option.choices([]);
  let list: string[] | undefined;
  Object.defineProperty(option, 'argChoices', { get: () => (list ??= [...values()]), configurable: true });
  return option;
}

/** A --listen value, HOST:PORT or [IPv6]:PORT; port 0 asks the system for a free one. */
export function hostPort(s: string, example = '127.0.0.1:11112'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`--listen must be HOST:PORT (e.g. ${example}), got "${s}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--listen "${s}": port ${port} is outside 0-65535`);
  return { host: (m[1] ?? m[2])!, port };
}
