// Anomaly rules as data: a JSON file checked against rules.schema.json (ajv), merged over
// the defaults below. The defaults are documented in docs/AUDIT.md; change both together.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { projectRoot } from '../core/wasm.js';
import type { AlertSeverity } from '../ingest/audit.js';

interface Common {
  enabled: boolean;
  severity: AlertSeverity;
}

export interface VolumeLimit {
  ae?: string;
  host?: string;
  user?: string;
  maxStudiesPerHour?: number;
  maxPatientsPerHour?: number;
}

export interface AnomalyRules {
  timeZone: string;
  rules: {
    downgrade: Common & { minSealedBefore: number };
    'replaced-authentic': Common;
    replay: Common;
    volume: Common & {
      maxStudiesPerHour: number | null;
      maxPatientsPerHour: number | null;
      untrainedMaxPerHour: number;
      learnedFactor: number;
      learnedFloor: number;
      minActiveHours: number;
      sources: VolumeLimit[];
    };
    'new-destination': Common & { minInstances: number; windowMinutes: number; learnDays: number; knownDestinations: string[] };
    'off-hours': Common & {
      minDaysToLearn: number;
      minEventsToLearn: number;
      minShare: number;
      neighbourHours: number;
      minEvents: number;
      windowMinutes: number;
      cooldownMinutes: number;
    };
    'transfer-incomplete': Common & { timeoutMinutes: number };
    chain: Common;
    'writer-stopped': Common & { maxSilenceMinutes: number; minExpectedRecords: number; minDaysToLearn: number };
  };
}

export type RuleId = keyof AnomalyRules['rules'];

export const DEFAULT_RULES: AnomalyRules = {
  timeZone: 'UTC',
  rules: {
    downgrade: { enabled: true, severity: 'high', minSealedBefore: 3 },
    'replaced-authentic': { enabled: true, severity: 'high' },
    replay: { enabled: true, severity: 'high' },
    volume: {
      enabled: true, severity: 'medium', maxStudiesPerHour: null, maxPatientsPerHour: null, untrainedMaxPerHour: 100,
      learnedFactor: 3, learnedFloor: 20, minActiveHours: 8, sources: [],
    },
    'new-destination': { enabled: true, severity: 'high', minInstances: 50, windowMinutes: 60, learnDays: 1, knownDestinations: [] },
    'off-hours': { enabled: true, severity: 'medium', minDaysToLearn: 3, minEventsToLearn: 50, minShare: 0.01, neighbourHours: 1, minEvents: 3, windowMinutes: 60, cooldownMinutes: 60 },
    'transfer-incomplete': { enabled: true, severity: 'medium', timeoutMinutes: 30 },
    chain: { enabled: true, severity: 'high' },
    'writer-stopped': { enabled: true, severity: 'high', maxSilenceMinutes: 60, minExpectedRecords: 20, minDaysToLearn: 2 },
  },
};

export class RulesError extends Error {
  override name = 'RulesError';
}

type Validate = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> | null };
let validator: Validate | undefined;

function validate(data: unknown): string[] {
  if (!validator) {
    const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => { compile(s: object): Validate };
    const schema = JSON.parse(readFileSync(join(projectRoot(), 'host', 'anomaly', 'rules.schema.json'), 'utf8')) as object;
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (validator(data)) return [];
  return (validator.errors ?? []).map((e) => {
    const extra = e.params && 'additionalProperty' in e.params ? ` "${String(e.params.additionalProperty)}"` : '';
    return `${e.instancePath || '(top level)'} ${e.message ?? 'is not valid'}${extra}`;
  });
}

/** Rules from parsed JSON: every failing field named; what is not given takes its default. */
export function rulesFrom(data: unknown, origin = 'rules'): AnomalyRules {
  const problems = validate(data);
  if (problems.length) throw new RulesError(`${origin}: ${problems.join('; ')}`);
  const given = data as { timeZone?: string; rules?: Record<string, object> };
  const timeZone = given.timeZone ?? DEFAULT_RULES.timeZone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new RulesError(`${origin}: /timeZone "${timeZone}" is not a time zone this system knows (IANA name, e.g. Europe/Berlin)`);
  }
  const rules = { ...DEFAULT_RULES.rules } as Record<string, object>;
  for (const [id, r] of Object.entries(given.rules ?? {})) rules[id] = { ...rules[id], ...r };
  return { timeZone, rules: rules as AnomalyRules['rules'] };
}

export function loadRules(path: string | undefined): AnomalyRules {
  if (!path) return DEFAULT_RULES;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RulesError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`}`);
  }
  return rulesFrom(data, path);
}
