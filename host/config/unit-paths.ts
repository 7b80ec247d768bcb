// What an installed radseal systemd unit lets its service write. The units run with
// ProtectSystem=strict, so a folder the station config names outside the unit's ReadWritePaths
// would be read-only to the service even though doctor, unsandboxed, can write it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

/** Where units live, the administrator's first (a unit there replaces the packaged one). */
export const SYSTEMD_UNIT_DIRS: readonly string[] = ['/etc/systemd/system', '/lib/systemd/system'];

/**
 * ReadWritePaths of an installed unit with its drop-ins (an empty assignment clears the list,
 * as in systemd); undefined when the unit is not installed.
 */
export function unitWritablePaths(unit: string, dirs: readonly string[] = SYSTEMD_UNIT_DIRS): string[] | undefined {
  const main = dirs.map((d) => join(d, unit)).find((f) => existsSync(f));
  if (!main) return undefined;
  const dropIns = dirs.flatMap((d) => {
    const folder = join(d, `${unit}.d`);
    return existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.conf')).map((f) => ({ f, path: join(folder, f) })) : [];
  }).sort((a, b) => a.f.localeCompare(b.f)).map((x) => x.path);
  let paths: string[] = [];
  for (const file of [main, ...dropIns]) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*ReadWritePaths\s*=(.*)$/.exec(line);
      if (!m) continue;
      const value = m[1]!.trim();
      if (!value) paths = [];
      else paths.push(...value.split(/\s+/).map((p) => p.replace(/^[-+]+/, '')));
    }
  }
  return paths;
}

/** Whether `dir` is one of `allowed` or below one. */
export function isWritableUnder(dir: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => {
    const r = relative(a, dir);
    return r === '' || (!r.startsWith('..') && !isAbsolute(r));
  });
}
