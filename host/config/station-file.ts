// Where the station config is looked for, and the error that names what is wrong in it: kept
// apart from the parser and its schema (station.ts: smol-toml, ajv) so a command that runs
// without a config file never loads them.
export const DEFAULT_CONFIG_PATH = '/etc/radseal/radseal.toml';

export class StationConfigError extends Error {
  override name = 'StationConfigError';
}

/** The config file a command would read: --config, else $RADSEAL_CONFIG, else the default path when present; undefined when none. */
export function stationConfigPath(explicit: string | undefined, env: NodeJS.ProcessEnv, exists: (path: string) => boolean): string | undefined {
  const file = explicit ?? env.RADSEAL_CONFIG;
  if (file) return file;
  return exists(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined;
}
