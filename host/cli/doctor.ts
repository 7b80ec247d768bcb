// `radseal doctor`: checks a station end to end from its config file and prints a pass/fail
// list (or JSON). Exit 0 only when no check fails. The checks are in host/config/checks.ts.
import type { Command } from 'commander';
import { readsStationConfigItself } from '../config/command-defaults.js';
import { DEFAULT_CONFIG_PATH } from '../config/station-file.js';
import type { CheckResult } from '../config/checks.js';

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', fail: 'FAIL', skip: 'skip' };

export function formatDoctor(configPath: string, results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = [`radseal doctor: ${configPath}`];
  const indent = ' '.repeat(width + 10);
  for (const r of results) lines.push(`  ${MARK[r.status]}  ${r.name.padEnd(width)}  ${r.description}\n${indent}${r.detail.split('\n').map((l) => l.trim()).join(`\n${indent}`)}`);
  const failed = results.filter((r) => r.status === 'fail').length;
  const passed = results.filter((r) => r.status === 'pass').length;
  lines.push(failed ? `${failed} check(s) failed, ${passed} passed` : `all ${passed} configured checks passed`);
  return lines.join('\n');
}

export function register(program: Command): void {
  readsStationConfigItself(program.command('doctor')
    .description('check this station end to end: key file modes, certificate and trust chain, CRL, PACS/worklist C-ECHO, TSA, outbox space')
    .option('--config <file>', `station config (default $RADSEAL_CONFIG, else ${DEFAULT_CONFIG_PATH})`)
    .option('--json', 'print the results as JSON')
    .option('--timeout <s>', 'seconds to wait for each network peer', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new Error(`--timeout must be a positive number of seconds, got "${v}"`);
      return n;
    }, 5))
    .action(async (o: { config?: string; json?: boolean; timeout: number }) => {
      const path = o.config ?? process.env.RADSEAL_CONFIG ?? DEFAULT_CONFIG_PATH;
      const [{ loadStationConfig }, { runChecks }, { cEcho }] = await Promise.all([import('../config/station.js'), import('../config/checks.js'), import('../net/echo.js')]);
      let results: CheckResult[];
      try {
        const config = loadStationConfig(path);
        results = [{ name: 'config', description: 'The station config file parses and every field is valid.', status: 'pass', detail: config.path }];
        results.push(...await runChecks({ config, echo: cEcho, now: new Date(), uid: process.getuid?.() ?? 0, timeoutMs: o.timeout * 1000 }));
      } catch (err) {
        results = [{ name: 'config', description: 'The station config file parses and every field is valid.', status: 'fail', detail: (err as Error).message }];
      }
      const ok = results.every((r) => r.status !== 'fail');
      if (o.json) console.log(JSON.stringify({ config: path, ok, checks: results }, null, 2));
      else console.log(formatDoctor(path, results));
      process.exitCode = ok ? 0 : 1;
    });
}
