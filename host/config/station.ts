// The station config file (/etc/radseal/radseal.toml): one file per workstation, validated
// against station.schema.json with ajv, refused with every failing field named. Typed station
// sections (device identity, keys, PACS, RIS, TSA, technologist policy, outbox) feed `radseal
// doctor` and, through STATION_OPTIONS, the option defaults of every command; any other table
// is a command's own section, keyed by its long option names.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import AjvModule from 'ajv';
import { parse as parseToml, TomlError } from 'smol-toml';
import { projectRoot } from '../core/wasm.js';
import { DEFAULT_CONFIG_PATH, StationConfigError, stationConfigPath } from './station-file.js';

export { DEFAULT_CONFIG_PATH, StationConfigError };

export type OptionValue = string | number | boolean | Array<string | number>;
export interface CommandSection {
  [option: string]: OptionValue | CommandSection;
}

export interface StationConfig {
  /** The file it came from (absolute). */
  path: string;
  station?: { 'device-id': string; name?: string; board?: string; 'calling-ae'?: string; 'service-user'?: string };
  keys?: { key?: string; cert?: string; 'pin-env'?: string; 'ecdsa-key'?: string; 'ecdsa-cert'?: string; trust?: string; 'wm-key'?: string };
  /** One PACS target or several (each gets every object); [pacs] TLS secures every C-STORE target. */
  pacs?: { forward: string | string[]; 'tls-key'?: string; 'tls-cert'?: string; 'tls-ca'?: string };
  ris?: {
    worklist?: string; 'worklist-station'?: string; mpps?: string;
    'worklist-tls-key'?: string; 'worklist-tls-cert'?: string; 'worklist-tls-ca'?: string;
    'mpps-tls-key'?: string; 'mpps-tls-cert'?: string; 'mpps-tls-ca'?: string;
  };
  tsa?: { url: string };
  technologist?: { dir?: string; 'when-nobody-logged-in'?: 'device-only' | 'hold'; 'idle-minutes'?: number };
  outbox?: { dir: string; 'min-free'?: number | string; 'keep-sent-days'?: number };
  /** ATNA audit messages to the site's Audit Record Repository, and anchoring of the audit log head. */
  audit?: { syslog?: string; 'tls-key'?: string; 'tls-cert'?: string; 'tls-ca'?: string; 'source-id'?: string; tsa?: string; 'anchor-records'?: number; 'anchor-minutes'?: number };
  /** Command sections by command name. */
  commands: Record<string, CommandSection>;
}

export const STATION_SECTIONS = ['station', 'keys', 'pacs', 'ris', 'tsa', 'technologist', 'outbox', 'audit'] as const;
type StationSection = (typeof STATION_SECTIONS)[number];

/** One station setting and the command option it supplies (same name on every command that has it). */
export interface StationOption {
  section: StationSection;
  key: string;
  option: string;
  /** A file path: resolved against the config file's folder. */
  isPath?: boolean;
  /** Only these commands take it as a default (space-separated command paths). */
  onlyFor?: readonly string[];
}

/**
 * Commands that sign as the device. Other commands also have --key/--cert (reconcile signs
 * as PACS, tech login as a technologist, pki as the site CA): a station's device key must
 * never become their default, so a new command that seals as the device is added here.
 */
export const DEVICE_SIGNING_COMMANDS: readonly string[] = ['seal', 'capture', 'proxy'];

/**
 * Commands whose --tls-* options secure the connection to PACS alone. proxy and ingest use
 * them for their own listener too, where a modality may speak plain DICOM on loopback: they
 * take TLS settings from their own section.
 */
export const PACS_TLS_COMMANDS: readonly string[] = ['capture'];

export const STATION_OPTIONS: readonly StationOption[] = [
  { section: 'station', key: 'board', option: 'board' },
  { section: 'station', key: 'calling-ae', option: 'calling-ae' },
  { section: 'keys', key: 'key', option: 'key', isPath: true, onlyFor: DEVICE_SIGNING_COMMANDS },
  { section: 'keys', key: 'cert', option: 'cert', isPath: true, onlyFor: DEVICE_SIGNING_COMMANDS },
  { section: 'keys', key: 'pin-env', option: 'pin-env', onlyFor: DEVICE_SIGNING_COMMANDS },
  { section: 'keys', key: 'ecdsa-key', option: 'ecdsa-key', isPath: true, onlyFor: DEVICE_SIGNING_COMMANDS },
  { section: 'keys', key: 'ecdsa-cert', option: 'ecdsa-cert', isPath: true, onlyFor: DEVICE_SIGNING_COMMANDS },
  { section: 'keys', key: 'trust', option: 'trust', isPath: true },
  { section: 'keys', key: 'wm-key', option: 'wm-key', isPath: true },
  { section: 'pacs', key: 'forward', option: 'forward' },
  { section: 'pacs', key: 'tls-key', option: 'tls-key', isPath: true, onlyFor: PACS_TLS_COMMANDS },
  { section: 'pacs', key: 'tls-cert', option: 'tls-cert', isPath: true, onlyFor: PACS_TLS_COMMANDS },
  { section: 'pacs', key: 'tls-ca', option: 'tls-ca', isPath: true, onlyFor: PACS_TLS_COMMANDS },
  { section: 'ris', key: 'worklist', option: 'worklist' },
  { section: 'ris', key: 'worklist-station', option: 'worklist-station' },
  { section: 'ris', key: 'mpps', option: 'mpps' },
  { section: 'ris', key: 'worklist-tls-key', option: 'worklist-tls-key', isPath: true },
  { section: 'ris', key: 'worklist-tls-cert', option: 'worklist-tls-cert', isPath: true },
  { section: 'ris', key: 'worklist-tls-ca', option: 'worklist-tls-ca', isPath: true },
  { section: 'ris', key: 'mpps-tls-key', option: 'mpps-tls-key', isPath: true },
  { section: 'ris', key: 'mpps-tls-cert', option: 'mpps-tls-cert', isPath: true },
  { section: 'ris', key: 'mpps-tls-ca', option: 'mpps-tls-ca', isPath: true },
  { section: 'tsa', key: 'url', option: 'tsa' },
  { section: 'technologist', key: 'dir', option: 'technologists', isPath: true },
  { section: 'technologist', key: 'when-nobody-logged-in', option: 'without-technologist' },
  { section: 'technologist', key: 'idle-minutes', option: 'tech-idle-minutes' },
  { section: 'outbox', key: 'dir', option: 'outbox', isPath: true },
  { section: 'outbox', key: 'keep-sent-days', option: 'keep-sent-days' },
  { section: 'audit', key: 'syslog', option: 'audit-syslog' },
  { section: 'audit', key: 'tls-key', option: 'audit-tls-key', isPath: true },
  { section: 'audit', key: 'tls-cert', option: 'audit-tls-cert', isPath: true },
  { section: 'audit', key: 'tls-ca', option: 'audit-tls-ca', isPath: true },
  { section: 'audit', key: 'source-id', option: 'audit-source-id' },
  { section: 'audit', key: 'tsa', option: 'audit-tsa' },
  { section: 'audit', key: 'anchor-records', option: 'audit-anchor-records' },
  { section: 'audit', key: 'anchor-minutes', option: 'audit-anchor-minutes' },
];

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  data?: unknown;
  parentSchema?: { description?: string };
}
type Validate = ((x: unknown) => boolean) & { errors?: AjvError[] | null };
let validator: Validate | undefined;

export function stationSchemaPath(): string {
  return join(projectRoot(), 'host', 'config', 'station.schema.json');
}

function validate(): Validate {
  if (!validator) {
    const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => { compile(s: object): Validate };
    validator = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(JSON.parse(readFileSync(stationSchemaPath(), 'utf8')));
  }
  return validator;
}

/** A JSON pointer as the TOML key a person wrote: /keys/pin-env → keys.pin-env, /pacs/forward/1 → pacs.forward[1]. */
const tomlKey = (pointer: string) => pointer.split('/').filter(Boolean).map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i ? `.${p}` : p)).join('');

/** One line per failing field, in the words of the schema's descriptions where it has them. */
function describeErrors(errors: AjvError[]): string[] {
  // A value that fits none of a oneOf's shapes is one mistake: say what is expected, once; when
  // it has the right shape (a list) and an item is wrong, name that item instead.
  const oneOfAt = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  // A list of the right items that breaks a list rule (empty, an item twice) says so itself.
  const LIST_RULES = ['minItems', 'uniqueItems'];
  const listRuleAt = new Set(errors.filter((e) => LIST_RULES.includes(e.keyword)).map((e) => e.instancePath));
  const deeper = (path: string) => listRuleAt.has(path) || errors.some((e) => e.instancePath.startsWith(`${path}/`));
  const msgs = errors
    .filter((e) => (e.keyword === 'oneOf' ? !deeper(e.instancePath) : LIST_RULES.includes(e.keyword) || !oneOfAt.has(e.instancePath)))
    .map((e) => {
      const where = tomlKey(e.instancePath);
      const at = (k: string) => (where ? `${where}.${k}` : k);
      if (e.params.additionalProperty) return `${at(String(e.params.additionalProperty))}: unknown field`;
      if (e.params.missingProperty) {
        const needs = e.params.property ? ` (${at(String(e.params.property))} needs it)` : '';
        return `${at(String(e.params.missingProperty))}: required field missing${needs}`;
      }
      const got = `, got ${JSON.stringify(e.data)}`;
      if ((e.keyword === 'pattern' || e.keyword === 'oneOf') && e.parentSchema?.description) return `${where}: must be ${e.parentSchema.description}${got}`;
      const allowed = e.params.allowedValues ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : '';
      return `${where || '(top level)'}: ${e.message}${allowed}${got}`;
    });
  return [...new Set(msgs)];
}

/** Validates parsed TOML; throws StationConfigError naming each failing field. */
export function checkStationConfig(data: unknown, path: string): StationConfig {
  const v = validate();
  if (!v(data)) throw new StationConfigError(`${path}: invalid station config:\n  ${describeErrors(v.errors ?? []).join('\n  ')}`);
  const doc = data as Record<string, unknown>;
  const commands: Record<string, CommandSection> = {};
  const config: StationConfig = { path, commands };
  for (const [name, value] of Object.entries(doc)) {
    if ((STATION_SECTIONS as readonly string[]).includes(name)) (config as unknown as Record<string, unknown>)[name] = value;
    else commands[name] = value as CommandSection;
  }
  resolvePaths(config);
  return config;
}

/** Station paths are relative to the config file's folder, as an administrator reads them. */
function resolvePaths(config: StationConfig): void {
  const base = dirname(config.path);
  for (const o of STATION_OPTIONS) {
    const section = config[o.section] as Record<string, unknown> | undefined;
    const value = section?.[o.key];
    // A PKCS#11 URI names a key on a token, not a file.
    if (!o.isPath || typeof value !== 'string' || isAbsolute(value) || /^pkcs11:/i.test(value)) continue;
    section![o.key] = resolve(base, value);
  }
  // A board given by path (not by id) is a file too.
  const board = config.station?.board;
  if (board && (board.includes('/') || board.endsWith('.json')) && !isAbsolute(board)) config.station!.board = resolve(base, board);
}

/** Reads and validates a station config file (TOML). */
export function loadStationConfig(file: string): StationConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StationConfigError(`cannot read station config ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'I/O error'}`);
  }
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) throw new StationConfigError(`${path}: not valid TOML at line ${err.line}, column ${err.column}: ${err.message.split('\n')[0]}`);
    throw new StationConfigError(`${path}: not valid TOML: ${(err as Error).message}`);
  }
  return checkStationConfig(data, path);
}

/**
 * The config a command runs with: --config FILE, else $RADSEAL_CONFIG, else
 * /etc/radseal/radseal.toml when it exists (none on a developer's machine).
 */
export function findStationConfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): StationConfig | undefined {
  const file = stationConfigPath(explicit, env, existsSync);
  return file ? loadStationConfig(file) : undefined;
}

/** One option default taken from the config, and where it was written (for error messages). */
export interface ConfigDefault {
  value: OptionValue;
  from: string;
}

const isSection = (v: unknown): v is CommandSection => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Option defaults (by long option name, without --) for the command at `commandPath`
 * (['capture'], or ['tech', 'login'] for a subcommand): station settings first, then the
 * command's section over them; a parent's section supplies its subcommands' scalar keys.
 */
export function commandDefaults(config: StationConfig, commandPath: readonly string[]): Map<string, ConfigDefault> {
  const out = new Map<string, ConfigDefault>();
  const command = commandPath.join(' ');
  for (const o of STATION_OPTIONS) {
    if (o.onlyFor && !o.onlyFor.includes(command)) continue;
    const value = (config[o.section] as Record<string, OptionValue> | undefined)?.[o.key];
    if (value !== undefined) out.set(o.option, { value, from: `[${o.section}] ${o.key}` });
  }
  let section: CommandSection | undefined = { ...config.commands };
  const names: string[] = [];
  for (const name of commandPath) {
    const next: OptionValue | CommandSection | undefined = section?.[name];
    section = isSection(next) ? next : undefined;
    if (!section) break;
    names.push(name);
    for (const [key, value] of Object.entries(section)) {
      if (!isSection(value)) out.set(key, { value, from: `[${names.join('.')}] ${key}` });
    }
  }
  return out;
}
