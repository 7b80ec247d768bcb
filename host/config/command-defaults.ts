// The station config reaches every command the same way: its values become the defaults of the
// command's options, matched by long option name, and go through the option's own parser
// (choices, byte sizes, lists), so the command line and the file are read by one code path. The
// command line still wins. A command added later gets its section for free.
//
// Commander checks required options before any preAction hook runs, so those checks are moved
// after the config is applied: an option the file supplies is no longer missing.
//
// The parser (station.ts, with smol-toml and ajv) is loaded only when there is a config file to read.
import { existsSync } from 'node:fs';
import type { Command, Option } from 'commander';
import type { CommandSection, ConfigDefault, StationConfig } from './station.js';
import { StationConfigError, stationConfigPath } from './station-file.js';

const deferredRequired = new WeakMap<Command, Option[]>();
const selfConfigured = new WeakSet<Command>();

const CONFIG_FLAGS = '--config <file>';
const CONFIG_HELP = 'station config (TOML): its values are this command\'s option defaults (default $RADSEAL_CONFIG, else /etc/radseal/radseal.toml when present)';

/** For a command that reads the station config itself (radseal doctor): no defaults are applied to it. */
export function readsStationConfigItself(cmd: Command): Command {
  selfConfigured.add(cmd);
  return cmd;
}

/**
 * Wires the station config into every command of `program` (call once, anywhere in buildProgram).
 * `whole`: the program with every command, when `program` was built with only some: the config's
 * sections are checked against all of them.
 */
export function useStationConfig(program: Command, whole: () => Command = () => program): void {
  program.hook('preSubcommand', (_root, sub) => prepare(sub));
  program.hook('preAction', (_root, action) => applyStationConfig(whole, action));
}

/** Before a command parses its arguments: every runnable command takes --config, required options wait for the config. */
function prepare(cmd: Command): void {
  for (const sub of cmd.commands) prepare(sub);
  if (deferredRequired.has(cmd)) return;
  // Only runnable commands take it: a parent taking it would swallow the --config meant for its subcommand.
  if (cmd.commands.length === 0 && !cmd.options.some((o) => o.long === '--config')) cmd.option(CONFIG_FLAGS, CONFIG_HELP);
  const required = cmd.options.filter((o) => o.mandatory);
  for (const o of required) o.mandatory = false;
  deferredRequired.set(cmd, required);
}

function commandPath(cmd: Command): string[] {
  const path: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) path.unshift(c.name());
  return path;
}

export async function applyStationConfig(whole: () => Command, action: Command): Promise<void> {
  const file = selfConfigured.has(action) ? undefined : stationConfigPath(action.getOptionValue('config') as string | undefined, process.env, existsSync);
  if (file) {
    const { commandDefaults, loadStationConfig } = await import('./station.js');
    const config = loadStationConfig(file);
    checkCommandSections(whole(), config);
    for (const [name, d] of commandDefaults(config, commandPath(action))) applyDefault(action, name, d, config.path);
  }
  for (const o of deferredRequired.get(action) ?? []) {
    if (action.getOptionValue(o.attributeName()) === undefined) {
      action.error(`error: required option '${o.flags}' not specified (give it, or set ${o.long!.slice(2)} in the [${commandPath(action).join('.')}] section of the station config)`, { code: 'commander.missingMandatoryOptionValue' });
    }
  }
}

/** Every command section must name a command, and every key in it an option of that command (or of its subcommands). */
export function checkCommandSections(root: Command, config: StationConfig): void {
  const problems: string[] = [];
  const walk = (cmd: Command, section: CommandSection, path: string[]) => {
    for (const [key, value] of Object.entries(section)) {
      const sub = cmd.commands.find((c) => c.name() === key || c.aliases().includes(key));
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        if (sub) walk(sub, value, [...path, key]);
        else problems.push(`[${[...path, key].join('.')}]: radseal ${path.join(' ')} has no subcommand "${key}"`);
      } else if (!hasOptionBelow(cmd, key)) {
        problems.push(`[${path.join('.')}] ${key}: radseal ${path.join(' ')} has no option --${key}`);
      }
    }
  };
  for (const [name, section] of Object.entries(config.commands)) {
    const cmd = root.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!cmd) problems.push(`[${name}]: no command "${name}" (station sections: station, keys, pacs, ris, tsa, technologist, outbox)`);
    else walk(cmd, section, [name]);
  }
  if (problems.length) throw new StationConfigError(`${config.path}: invalid station config:\n  ${problems.join('\n  ')}`);
}

function hasOptionBelow(cmd: Command, key: string): boolean {
  return cmd.options.some((o) => o.long === `--${key}` || o.long === `--no-${key}`) || cmd.commands.some((c) => hasOptionBelow(c, key));
}

function applyDefault(cmd: Command, key: string, d: ConfigDefault, file: string): void {
  const opt = cmd.options.find((o) => o.long === `--${key}`) ?? cmd.options.find((o) => o.long === `--no-${key}`);
  if (!opt || key === 'config') return; // a station setting this command has no use for
  const attr = opt.attributeName();
  const source = cmd.getOptionValueSource(attr);
  if (source !== undefined && source !== 'default') return; // the command line wins
  try {
    cmd.setOptionValueWithSource(attr, convert(opt, d.value), 'config');
  } catch (err) {
    throw new StationConfigError(`${file} ${d.from}: ${(err as Error).message}`);
  }
}

/** A config value as the option would have it from the command line. */
function convert(opt: Option, value: ConfigDefault['value']): unknown {
  if (opt.negate) {
    if (typeof value !== 'boolean') throw new Error(`must be true or false`);
    return value;
  }
  if (opt.isBoolean()) {
    if (typeof value !== 'boolean') throw new Error(`${opt.long} is a switch: write true or false`);
    return value;
  }
  if (typeof value === 'boolean') throw new Error(`${opt.long} takes a value, not true/false`);
  const parse = (opt as Option & { parseArg?: (v: string, prev: unknown) => unknown }).parseArg;
  if (Array.isArray(value)) {
    if (!parse && !opt.variadic) throw new Error(`${opt.long} takes a single value, not a list`);
    return value.reduce<unknown>((prev, item) => (parse ? parse(String(item), prev) : [...((prev as string[] | undefined) ?? []), String(item)]), undefined);
  }
  const text = String(value);
  if (parse) return parse(text, undefined);
  return opt.variadic ? [text] : text;
}
